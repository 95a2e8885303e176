"""Write `report.html`: one self-contained file (inline SVG charts, no external resources)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2

from etslink.report import charts
from etslink.report.story import (
    group_stories,
    headline_year,
    price_change_table,
    shared_offsets,
)
from etslink.results import Results


def _number(value: Any, digits: int = 2) -> str:
    """Return a number with thousands separators, or the value as text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.{digits}f}"
    return "" if value is None or value != value else str(value)


def environment() -> jinja2.Environment:
    """Return the jinja2 environment of the report templates (autoescaped, strict)."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: files("etslink.report").joinpath("templates", name).read_text("utf-8")
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _number
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


def _charts(results: Results) -> dict[str, str]:
    d, year = results.data, headline_year(results.data)
    prices = results.table("prices")
    at_year = prices[prices["year"] == year]
    by_case = {(r.case, r.system): r[results.columns.price] for _, r in at_year.iterrows()}
    gains, cur = results.gains.set_index("system"), d.currency
    offset_use = results.cases["linked"].offset_use
    offsets = {
        o: g.groupby("system")["quantity_MtCO2e"].sum().to_dict()
        for o, g in offset_use.groupby("offset_type")
    }
    return {
        "price_bars": charts.price_bars(
            {s: by_case["linked", s] for s in d.systems if ("linked", s) in by_case},
            {s: by_case["autarky", s] for s in d.systems if ("autarky", s) in by_case},
            d,
            year,
        ),
        "price_paths": charts.price_paths(prices, results.columns.price, d),
        "mac_curves": charts.mac_curves(d, by_case, year),
        "transfers": charts.transfer_matrix(results.cases["linked"].transfers, d)
        if len(results.cases["linked"].transfers)
        else "",
        "offsets": charts.bars_by_system(offsets, d, "MtCO2e, all years", "offsets")
        if offsets
        else "",
        "gains": charts.bars_by_system(
            {
                "gain from linking": gains[f"gain_from_linking_pv_M{cur}"].to_dict(),
            },
            d,
            f"M{cur}, present value {d.base_year}",
            "gains",
        ),
    }


def _inputs(results: Results) -> dict[str, list[dict[str, Any]]]:
    d = results.data
    systems = [
        {
            "system": s,
            "name": d.system_names[s],
            "years": f"{d.years_of(s)[0]}-{d.years_of(s)[-1]}",
            "baseline": sum(d.baseline_MtCO2e[s, y] for y in d.years_of(s)),
            "cap": sum(d.cap_MtCO2e[s, y] for y in d.years_of(s)),
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
    return {"systems": systems, "links": links, "rules": rules}


def build_context(results: Results, record: dict[str, Any]) -> dict[str, Any]:
    """Return everything the template shows."""
    d = results.data
    total_autarky = results.total_cost_pv("autarky")
    shadow = results.cases["linked"].shadow_prices
    market = results.cases["linked"].offset_prices
    offset_prices = {
        o: dict(zip(g["year"], g[results.columns.price], strict=True))
        for o, g in market.groupby("offset_type")
    }
    gain = total_autarky - results.total_cost_pv("linked")
    return {
        "d": d,
        "year": headline_year(d),
        "stories": group_stories(results),
        "shared_offsets": shared_offsets(d),
        "changes": price_change_table(results).to_dict("records"),
        "total_gain": gain,
        "gain_percent": 100 * gain / total_autarky if total_autarky else None,
        "abroad": _money_abroad(results),
        "gains": results.gains.to_dict("records"),
        "shadow": shadow[shadow["restriction"] != "offset_market"].to_dict("records"),
        "offset_prices": offset_prices,
        "offset_years": sorted({y for by_year in offset_prices.values() for y in by_year}),
        "shadow_col": results.columns.shadow,
        "charts": _charts(results),
        "inputs": _inputs(results),
        "record": record,
    }


def write_report(results: Results, record: dict[str, Any], path: Path) -> None:
    """Write the report: headline, price paths, MACs, trade, gains, inputs and run record."""
    page = environment().get_template("report.html.j2").render(build_context(results, record))
    path.write_text(page, encoding="utf-8")
