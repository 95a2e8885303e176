"""Write `report.html`: one self-contained file (inline SVG charts, no external resources).

The report reads the same at 6 systems and at 60: up to `LINES_MAX` systems every system has
its own line and bar; beyond, prices become heat maps, the MAC curves are drawn only for the
systems whose price moves most, and long tables show their top rows with the rest folded.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from etslink.core.data import ModelData
from etslink.outputs.fit import FAR, FIT_CASE, fit_table, model_figures, unit
from etslink.outputs.report import charts
from etslink.outputs.report.story import (
    abatement_table,
    headline,
    headline_year,
    linked_groups,
    name_list,
    price_change_table,
    price_movers,
    restriction_summary,
    rows_in_groups,
    shared_offsets,
)
from etslink.outputs.results import Results, emissions_moved
from etslink.outputs.switches import SWITCH_MARGIN_SHARE, SWITCH_MARGIN_MtCO2e, near_switches

LINES_MAX = 8
"""Up to this many systems, one line per system and case in the price paths, and paired bars
in the headline; beyond, heat maps and a scatter that do not grow with the systems."""
MAC_PANELS = 6
"""MAC curves drawn for at most this many systems: those whose price moves most."""
LONG_TABLE = 12
"""Tables longer than this are sorted by what matters and show `ROWS_SHOWN` rows unfolded."""
EMISSIONS_NOTED_MtCO2e = 0.05
"""Emissions over all years moved by more than this by linking, in total, are noted (and the
systems moved by more than this named)."""
LOSS_TOLERANCE = 1e-5
"""A total gain below -1e-5 of the cost without links is a loss worth saying (solver noise
is smaller)."""
ROWS_SHOWN = 10
"""Rows a long table shows before the fold."""

Row = dict[str, Any]


@dataclass(frozen=True)
class Folded:
    """A table's rows: those shown, and those folded away under `<details>`."""

    head: list[Row]
    tail: list[Row]


def fold(rows: list[Row], key: str | None = None) -> Folded:
    """Return the rows to show and to fold.

    A table of at most `LONG_TABLE` rows is shown whole, in the order given. A longer one is
    sorted by the size of `key` (largest first; none = as given) and folded after
    `ROWS_SHOWN` rows.
    """
    if len(rows) <= LONG_TABLE:
        return Folded(rows, [])
    if key is not None:  # NaN (e.g. no autarky cost to compare with) counts as 0
        rows = sorted(rows, key=lambda row: -abs(row[key]) if row[key] == row[key] else 0.0)
    return Folded(rows[:ROWS_SHOWN], rows[ROWS_SHOWN:])


def _number(value: Any, digits: int = 2) -> str:
    """Return a number with thousands separators, or the value as text (never "-0.0")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{value:,.{digits}f}"
        return text[1:] if text.startswith("-") and not text.strip("-0.,") else text
    return "" if value is None or value != value else str(value)


def _signed(value: float, digits: int = 1) -> str:
    """Return a change with its sign, e.g. "+1.5" or "-0.3"; one that rounds to 0 is "0"."""
    text = f"{value:+.{digits}f}"
    return text[1:] if not text.strip("+-0.") else text


def environment() -> jinja2.Environment:
    """Return the jinja2 environment of the report templates (autoescaped, strict)."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: (
                files("etslink.outputs.report").joinpath("templates", name).read_text("utf-8")
            )
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _number
    env.filters["names"] = name_list
    env.filters["signed"] = _signed
    return env


def _money_abroad(results: Results) -> dict[str, float]:
    """Return linked-case payments abroad, discounted [M CUR]: allowances and credits."""
    costs = results.cases["linked"].costs
    cols = results.columns
    return {
        "allowances": float(
            (costs[cols.money("allowance_imports")] * costs["discount_factor"]).sum()
        ),
        "credits": float((costs[cols.money("offset_purchases")] * costs["discount_factor"]).sum()),
    }


def _prices_at(results: Results, year: int) -> dict[tuple[str, str], float]:
    """Return the price by (case, system) in `year` [CUR per tCO2e], cases as in the model."""
    out: dict[tuple[str, str], float] = {}
    for case, case_results in results.cases.items():
        rows = case_results.prices[case_results.prices["year"] == year]
        prices = rows[results.columns.price]
        out |= {(case, s): float(p) for s, p in zip(rows["system"], prices, strict=True)}
    return out


def _price_charts(results: Results, many: bool) -> dict[str, Any]:
    """Return the headline chart (bars or scatter) and the price paths (lines or heat map)."""
    d, year = results.data, headline_year(results.data)
    by_case = _prices_at(results, year)
    linked, autarky = (
        {s: by_case[case, s] for s in d.systems if (case, s) in by_case}
        for case in ("linked", "autarky")
    )
    prices, col = results.table("prices"), results.columns.price
    if not many:
        return {
            "price_bars": charts.price_bars(linked, autarky, d, year),
            "price_paths": charts.price_paths(prices, col, d, linked_groups(d)),
            "links_from_start": _links_from_start(d),
        }
    return {
        "price_bars": charts.price_moves(linked, autarky, d, year, linked_groups(d)),
        "price_paths": charts.price_heatmap(prices, col, d, rows_in_groups(d)),
    }


def _links_from_start(d: ModelData) -> list[str]:
    """Return the links in force from their systems' first shared year: no mark on the chart."""
    late = {name for names in charts.late_links(d).values() for name in names}
    return list(dict.fromkeys(link.name for link in d.links if link.name not in late))


def _trade_charts(results: Results) -> dict[str, str]:
    """Return the transfer matrix and the credits each system uses (or "" when none)."""
    d, linked = results.data, results.cases["linked"]
    offsets = {
        o: g.groupby("system")["quantity_MtCO2e"].sum().to_dict()
        for o, g in linked.offset_use.groupby("offset_type")
    }
    users = sorted(
        (s for s in d.systems if any(by_system.get(s, 0.0) > 0 for by_system in offsets.values())),
        key=lambda s: -sum(by_system.get(s, 0.0) for by_system in offsets.values()),
    )
    return {
        "transfers": charts.transfer_matrix(linked.transfers, d) if len(linked.transfers) else "",
        "offsets": charts.bars_by_system(
            offsets,
            d,
            "MtCO2e, all years",
            "offsets",
            users if len(d.systems) > LINES_MAX else None,
        )
        if offsets
        else "",
    }


def _gains_chart(results: Results, many: bool) -> str:
    """Return each system's gain from linking; beyond `LINES_MAX` systems, largest first."""
    d = results.data
    gain = results.gains.set_index("system")[results.columns.money("gain_from_linking", pv=True)]
    order = list(gain.sort_values(ascending=False, kind="stable").index) if many else None
    return charts.bars_by_system(
        {"gain from linking": gain.to_dict()},
        d,
        f"M{d.currency}, present value {d.base_year}",
        "gains",
        order,
    )


def _charts(results: Results, mac_systems: list[str]) -> dict[str, Any]:
    d, year = results.data, headline_year(results.data)
    many = len(d.systems) > LINES_MAX
    reserve = results.table("msr")
    reserve = reserve[reserve["case"] == "linked"]
    return {
        **_price_charts(results, many),
        "reserve": {
            s: charts.reserve_path(reserve, s, d.reserve_rules)
            for s in sorted(set(reserve["system"]))
        },
        "mac_curves": charts.mac_curves(d, _prices_at(results, year), year, mac_systems),
        **_trade_charts(results),
        "gains": _gains_chart(results, many),
    }


def _fit(results: Results) -> dict[str, Any]:
    """Return the model against observations: a row per system and quantity, worst first.

    Each row holds the years observed, the mean and the largest |model / observed - 1| and
    that year's figures; systems are charted (at most `LINES_MAX`, the furthest off first).
    Empty without observations.
    """
    d = results.data
    fit = fit_table(results).dropna(subset=["difference"])
    if fit.empty:
        return {}
    rows = []
    for (system, quantity), group in fit.groupby(["system", "quantity"], sort=False):
        worst = group.loc[group["difference"].abs().idxmax()]
        years = sorted(int(y) for y in group["year"])
        rows.append(
            {
                "system": system,
                "quantity": quantity,
                "unit": unit(str(quantity), d.currency),
                "years": f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0]),
                "mean": float(group["difference"].abs().mean()),
                "year": int(worst["year"]),
                "observed": float(worst["observed"]),
                "model": float(worst["model"]),
                "difference": float(worst["difference"]),
            }
        )
    rows.sort(key=lambda row: -abs(row["difference"]))
    figures = model_figures(results.cases[FIT_CASE], results.columns.price)
    charted = list(dict.fromkeys(row["system"] for row in rows))[:LINES_MAX]
    return {
        "rows": fold(rows),
        "worst": rows[0],
        "far": FAR,
        "charts": {
            s: charts.model_against_observed(fit, [("model", "model (linked)", figures)], s, d)
            for s in charted
        },
    }


def _emissions_moved(results: Results) -> pd.Series:
    """Return each system's emissions over all years, linked minus the second case [MtCO2e]."""
    moved = emissions_moved(results.table("balances"), results.data.second_case)
    return moved.reindex(list(results.data.systems))


def emissions_change(change: pd.Series) -> dict[str, Any]:
    """Return how linking changes emissions [MtCO2e, all years]: in total and per system.

    Where supply reacts to prices (a reserve, a floor, a ceiling, a supply step, credits,
    an intensity standard), a link moves emissions, and part of a gain is a looser cap.

    Args:
        change: Each system's emissions over all years, linked minus the second case.
    """
    if abs(change.sum()) <= EMISSIONS_NOTED_MtCO2e:  # moved between systems, not in total
        return {"total": 0.0, "systems": []}
    moved = change[change.abs() > EMISSIONS_NOTED_MtCO2e].sort_values(key=abs, ascending=False)
    return {"total": float(change.sum()), "systems": [(str(s), float(v)) for s, v in moved.items()]}


def _intensity_notes(results: Results) -> list[dict[str, Any]]:
    """Return per linked group with an intensity-based system the emissions change [MtCO2e].

    Emissions over all years of the group's systems, linked minus autarky.
    """
    d = results.data
    based = {s for s, _ in d.intensity}
    moved = _emissions_moved(results)
    notes = []
    for group in linked_groups(d):
        if not based & set(group):
            continue
        change = moved[list(group)].sum()
        notes.append(
            {
                "systems": [s for s in group if s in based],
                "group": list(group),
                "change": float(change),
            }
        )
    return notes


def _borders(results: Results) -> Folded:
    """Return per border (importer, origin) what exporters pay, linked and alone [M CUR, PV].

    Largest change first; empty without border adjustments.
    """
    d = results.data
    paid = results.columns.money("paid")
    totals: dict[tuple[str, str], dict[str, float]] = {}
    for case, case_results in results.cases.items():
        table = case_results.border_adjustments
        if table.empty:
            continue
        discounted = table[paid] * table["year"].map(d.discount_factor)
        for (importer, origin), value in (
            discounted.groupby([table["importer"], table["origin"]], sort=False).sum().items()
        ):
            totals.setdefault((importer, origin), {})[case] = float(value)
    rows = [
        {
            "importer": importer,
            "origin": origin,
            "autarky": by_case.get("autarky", 0.0),
            "linked": by_case.get("linked", 0.0),
            "change": by_case.get("linked", 0.0) - by_case.get("autarky", 0.0),
        }
        for (importer, origin), by_case in totals.items()
    ]
    return fold(sorted(rows, key=lambda row: -abs(row["change"])))


def _inputs(results: Results) -> dict[str, Folded]:
    d = results.data
    systems = [
        {
            "system": s,
            "name": d.system_names[s],
            "years": f"{d.years_of(s)[0]}-{d.years_of(s)[-1]}",
            "baseline": sum(d.baseline_MtCO2e[s, y] for y in d.years_of(s)),
            "cap": (
                "benchmark x output"
                if any((s, y) in d.intensity for y in d.years_of(s))
                else sum(d.cap_MtCO2e[s, y] for y in d.years_of(s))
            ),
            "banking": "yes" if d.banking[s] else "no",
        }
        for s in d.systems
    ]
    links = [
        {
            "link": link.name,
            "direction": "two-way" if link.two_way else "one-way",
            "rate": link.exchange_rate,
            "limit": "none" if link.max_transfer_MtCO2e is None else link.max_transfer_MtCO2e,
            "years": f"{link.years[0]}-{link.years[-1]}" if link.years else "none",
        }
        for link in d.links
    ]
    rules = [
        {
            "system": r.system,
            "type": r.offset_type,
            "share": "none" if r.max_share_of_emissions is None else r.max_share_of_emissions,
            "quantity": "none" if r.max_MtCO2e is None else r.max_MtCO2e,
        }
        for r in d.offset_rules
    ]
    return {"systems": fold(systems), "links": fold(links), "rules": fold(rules)}


def _flows(results: Results) -> Folded:
    """Return the allowances moved per pair of systems, all years [MtCO2e], largest first."""
    transfers = results.cases["linked"].transfers
    moved = transfers.groupby(["from_system", "to_system"], sort=False)["quantity_MtCO2e"].sum()
    rows = [{"from": a, "to": b, "quantity": float(q)} for (a, b), q in moved.items() if q > 0]
    return fold(sorted(rows, key=lambda row: -row["quantity"]))


def _tables(results: Results, mac_systems: list[str]) -> dict[str, Any]:
    """Return the report's tables, long ones sorted by what matters and folded."""
    gain_col = results.columns.money("gain_from_linking", pv=True)
    abated = abatement_table(results)
    shadow = results.cases["linked"].shadow_prices
    summary = restriction_summary(results)
    return {
        "changes": fold(price_change_table(results).to_dict("records"), "change"),
        "mac_rest": fold(abated[~abated["system"].isin(mac_systems)].to_dict("records"), "change"),
        "restrictions": fold(summary.to_dict("records")),
        "meanings": dict(zip(summary["restriction"], summary["meaning"], strict=True)),
        "shadow": shadow[shadow["restriction"] != "offset_market"].to_dict("records"),
        "flows": _flows(results) if len(results.data.systems) > LINES_MAX else Folded([], []),
        "gains": fold(results.gains.to_dict("records"), gain_col),
        "borders": _borders(results),
        "intensity": _intensity_notes(results),
        "emissions_change": emissions_change(_emissions_moved(results)),
        "inputs": _inputs(results),
    }


def build_context(results: Results, record: dict[str, Any]) -> dict[str, Any]:
    """Return everything the template shows."""
    d = results.data
    total_autarky = results.total_cost_pv("autarky")
    market = results.cases["linked"].offset_prices
    offset_prices = {
        o: dict(zip(g["year"], g[results.columns.price], strict=True))
        for o, g in market.groupby("offset_type")
    }
    gain = total_autarky - results.total_cost_pv("linked")
    mac_systems = price_movers(results, MAC_PANELS)
    second = d.second_case
    return {
        "d": d,
        "second": second,
        "without": "without links" if second == "autarky" else "in the counterfactual",
        "year": headline_year(d),
        "headline": headline(results),
        "many": len(d.systems) > LINES_MAX,
        "shared_offsets": shared_offsets(d),
        "total_gain": gain,
        "loss_tolerance": LOSS_TOLERANCE * abs(total_autarky),
        "gain_percent": 100 * gain / total_autarky if total_autarky else None,
        "abroad": _money_abroad(results),
        "offset_prices": offset_prices,
        "offset_years": sorted({y for by_year in offset_prices.values() for y in by_year}),
        "shadow_col": results.columns.shadow,
        "mac_systems": mac_systems,
        "charts": _charts(results, mac_systems),
        "fit": _fit(results),
        "switches": [near.sentence for near in near_switches(results)],
        "switch_margin": {"share": SWITCH_MARGIN_SHARE, "floor": SWITCH_MARGIN_MtCO2e},
        **_tables(results, mac_systems),
        "record": record,
    }


def write_report(results: Results, record: dict[str, Any], path: Path) -> None:
    """Write the report: headline, price paths, MACs, trade, gains, inputs and run record."""
    page = environment().get_template("report.html.j2").render(build_context(results, record))
    path.write_text(page, encoding="utf-8")
