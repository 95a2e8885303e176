"""Write a comparison's `comparison.xlsx` and `report.html` from a `Comparison`.

The report draws the linked-case price paths of every scenario, one chart per linked group
of systems (a colour per system, a line style and marker per scenario), tables of prices
and gains per scenario, and each run's record.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from etslink.outputs.comparison import (
    EMISSIONS_MOVED,
    LINKED_EMISSIONS,
    SCENARIO,
    Comparison,
    FinishedRun,
    scenarios_table,
)
from etslink.outputs.report.charts import _figure, _svg, colours, underneath
from etslink.outputs.report.excel import TableBook
from etslink.outputs.report.html import Folded, emissions_change, environment, fold
from etslink.outputs.report.story import name_list

LINE_STYLES: tuple[Any, ...] = (
    "-",
    "--",
    ":",
    "-.",
    (0, (5, 1, 1, 1, 1, 1)),
    (0, (8, 2)),
    (0, (1, 3)),
    (0, (3, 1, 1, 1)),
)
"""One line style per scenario, in order; beyond eight scenarios they repeat."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""One marker per scenario, so that a one-year run and coinciding lines still show."""
DODGE_YEARS = 0.1
"""Scenarios' markers sit this far apart within a year, so that equal prices stay visible."""
LEGEND_WRAP = 32
"""Scenario names in a chart's legend wrap at this many characters."""
SCENARIOS_PER_ROW = 3
"""Scenarios side by side in the legend below a chart."""
YEAR_LABELS = 10
"""At most about this many years are labelled along a chart's axis."""
SYSTEMS_PER_COLUMN = 16
"""Systems one above the other in the legend right of a chart."""


def write_comparison_workbook(comparison: Comparison, record: dict[str, Any], path: Path) -> None:
    """Write comparison.xlsx: scenarios, stacked tables, differences, the run record."""
    sheets = {"scenarios": scenarios_table(comparison), **comparison.stacked}
    sheets |= {f"{sheet}_difference": frame for sheet, frame in comparison.differences.items()}
    sheets["run"] = record_table(record)
    with TableBook(path) as book:
        for name, frame in sheets.items():
            book.add_table_sheet(name, frame, comparison.currency)


def _flatten(value: Any, prefix: str) -> list[tuple[str, str]]:
    """Return (dotted item, text) pairs of a JSON value, lists numbered from 1."""
    items: Iterable[tuple[str, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        items = ((str(i), v) for i, v in enumerate(value, start=1))
    else:
        return [(prefix, str(value))]
    return [pair for key, v in items for pair in _flatten(v, f"{prefix}.{key}" if prefix else key)]


def record_table(record: dict[str, Any]) -> pd.DataFrame:
    """Return the comparison's run record as rows of (dotted item, value)."""
    return pd.DataFrame(_flatten(record, ""), columns=["item", "value"])


# --- the HTML report ------------------------------------------------------------------


def price_paths_by_scenario(
    prices: pd.DataFrame, price_col: str, systems: tuple[str, ...], scenarios: tuple[str, ...]
) -> str:
    """Return one chart of the linked-case price paths of `systems` in every scenario.

    Args:
        prices: The stacked `prices` table (scenario, case, system, year, price).
        price_col: Its price column [CUR per tCO2e].
        systems: The systems drawn, one colour each.
        scenarios: The scenarios, one line style and marker each; SVG ids
            `price-<scenario number from 0>-<system>`.
    """
    colour = colours(systems)
    linked = prices[(prices["case"] == "linked") & prices["system"].isin(systems)]
    currency = price_col.removeprefix("price_").removesuffix("_per_tCO2e")
    rows = -(-len(scenarios) // SCENARIOS_PER_ROW)
    with _figure(7.5, 3.4 + 0.35 * rows) as fig:
        ax = fig.add_subplot()
        for i, scenario in enumerate(scenarios):
            dodge = (i - (len(scenarios) - 1) / 2) * DODGE_YEARS
            for j, system in enumerate(systems):
                rows = linked[(linked[SCENARIO] == scenario) & (linked["system"] == system)]
                if rows.empty:
                    continue
                (line,) = ax.plot(
                    rows["year"] + dodge,
                    rows[price_col],
                    linestyle=LINE_STYLES[i % len(LINE_STYLES)],
                    marker=MARKERS[i % len(MARKERS)],
                    color=colour[system],
                    **underneath(j, len(systems)),
                )
                line.set_gid(f"price-{i}-{system}")
        ax.set_xlabel("year")
        ax.set_ylabel(f"linked price, {currency} per tCO2e")
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))  # prices from zero, unless negative
        _year_ticks(ax, sorted(int(y) for y in linked["year"].unique()))
        _legends(fig, colour, scenarios)
        return _svg(fig)


def _year_ticks(ax: Axes, years: list[int]) -> None:
    """Label the years (about ten of them) in full, half a year of room at either end.

    Without this a one-year chart reads "-0.1 ... 0.1 +2.03e3": the dodged markers make
    matplotlib label offsets from the year.
    """
    step = max(1, -(-len(years) // YEAR_LABELS))
    ax.set_xticks(years[::step], [str(y) for y in years[::step]])
    if years:
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)


def _legends(fig: Figure, colour: dict[str, str], scenarios: tuple[str, ...]) -> None:
    """Add the figure's two legends: systems by colour at the right, scenarios by line below.

    Below the plot the scenarios' names, often long, take the chart's width rather than
    squeezing the plot from the side.
    """
    systems = [Line2D([], [], color=c, linewidth=3, label=s) for s, c in colour.items()]
    styles = [
        Line2D(
            [],
            [],
            color="#333333",
            linestyle=LINE_STYLES[i % len(LINE_STYLES)],
            marker=MARKERS[i % len(MARKERS)],
            markersize=4,
            label=textwrap.fill(name, LEGEND_WRAP),
        )
        for i, name in enumerate(scenarios)
    ]
    common = {"fontsize": 8, "frameon": False, "title_fontsize": 8, "alignment": "left"}
    fig.legend(
        handles=systems,
        title="system",
        loc="outside right upper",
        ncols=1 + len(systems) // SYSTEMS_PER_COLUMN,
        **common,
    )
    fig.legend(
        handles=styles,
        title="scenario",
        loc="outside lower center",
        ncols=min(len(scenarios), SCENARIOS_PER_ROW),
        handlelength=4,
        **common,
    )


def _charts(comparison: Comparison) -> list[dict[str, Any]]:
    """Return one price chart per linked group, then one of the systems linked in none."""
    prices, col = comparison.stacked["prices"], comparison.columns.price
    panels = [(f"Linked group: {name_list(g)}", g) for g in comparison.groups]
    if comparison.unlinked:
        panels.append(("Systems that no scenario links", comparison.unlinked))
    return [
        {
            "title": title,
            "systems": systems,
            "svg": price_paths_by_scenario(prices, col, systems, comparison.scenarios),
        }
        for title, systems in panels
    ]


def _clean(value: float) -> float:
    """Return `value` with solver noise (below 1e-6) removed, so that none shows as -0.0."""
    return round(value, 6) + 0.0


def _by_system(
    frame: pd.DataFrame, value: str, scenarios: tuple[str, ...], systems: tuple[str, ...]
) -> Folded:
    """Return rows of one value per system and scenario, with each change from the first.

    A row holds `system`, `cells` (one (value, change from the first or None) per scenario;
    value None where the scenario lacks the system) and `spread`, the largest change in
    size, by which long tables are sorted. A system no scenario has a value for is left out.
    """
    table = frame.set_index(["system", SCENARIO])[value]
    rows = []
    for system in systems:
        found = (table.get((system, s)) for s in scenarios)
        values = [None if v is None or v != v else _clean(float(v)) for v in found]
        base = values[0]
        cells = [
            (v, None if i == 0 or v is None or base is None else _clean(v - base))
            for i, v in enumerate(values)
        ]
        if all(v is None for v in values):
            continue
        spread = max((abs(c) for _, c in cells if c is not None), default=0.0)
        rows.append({"system": system, "cells": cells, "spread": spread})
    return fold(rows, "spread")


def _in_groups(comparison: Comparison) -> tuple[str, ...]:
    """Return every system, group by group as the charts show them, the unlinked last."""
    return (*(s for g in comparison.groups for s in g), *comparison.unlinked)


def _price_rows(comparison: Comparison, year: int) -> Folded:
    """Return each system's linked price in `year` per scenario [CUR per tCO2e]."""
    prices = comparison.stacked["prices"]
    at = prices[(prices["case"] == "linked") & (prices["year"] == year)]
    return _by_system(at, comparison.columns.price, comparison.scenarios, _in_groups(comparison))


def _gain_rows(comparison: Comparison) -> Folded:
    """Return each system's gain from linking per scenario [M CUR, PV]."""
    gain = comparison.columns.money("gain_from_linking", pv=True)
    return _by_system(
        comparison.stacked["gains"], gain, comparison.scenarios, _in_groups(comparison)
    )


def _abroad_rows(comparison: Comparison) -> Folded:
    """Return what each system pays abroad when linked, per scenario [M CUR, PV]."""
    abroad = comparison.columns.case_money("linked", "paid_abroad")
    return _by_system(
        comparison.stacked["gains"], abroad, comparison.scenarios, _in_groups(comparison)
    )


def _emission_rows(comparison: Comparison) -> dict[str, Folded]:
    """Return each system's emissions per scenario [MtCO2e, all years]: linked, and moved.

    `linked`: the linked case's; `moved`: linked minus autarky, what linking changes.
    """
    emissions, systems = comparison.emissions(), _in_groups(comparison)
    return {
        "linked": _by_system(emissions, LINKED_EMISSIONS, comparison.scenarios, systems),
        "moved": _by_system(emissions, EMISSIONS_MOVED, comparison.scenarios, systems),
    }


def _emission_notes(comparison: Comparison) -> list[dict[str, Any]]:
    """Return per scenario in which linking changes total emissions how it does [MtCO2e].

    Each note holds `scenario` and `change` (as the run report's note: the total and the
    systems moved most); a scenario whose link only moves abatement has none.
    """
    emissions = comparison.emissions()
    notes = []
    for scenario in comparison.scenarios:
        rows = emissions[emissions[SCENARIO] == scenario]
        change = emissions_change(rows.set_index("system")[EMISSIONS_MOVED])
        if change["systems"]:
            notes.append({"scenario": scenario, "change": change})
    return notes


def _record_items(run: FinishedRun) -> tuple[dict[str, str], dict[str, str]]:
    """Return a run record's items that identify the run, and those that should agree."""
    record = run.record
    identity = {
        "folder": str(run.folder),
        "input file": record.get("input", {}).get("path", ""),
        "input SHA-256": record.get("input", {}).get("sha256", "")[:16] + "…",
        "run started (UTC)": record.get("started_utc", ""),
    }
    setup = {name: str(v) for name, v in record.get("versions", {}).items()}
    for case, info in record.get("cases", {}).items():
        setup[f"{case} case"] = str(info.get("termination", ""))
    return identity, setup


def _record_rows(comparison: Comparison) -> list[dict[str, Any]]:
    """Return the run records side by side: one row per item, one value per scenario.

    A row of versions or solver outcomes whose values differ between runs is flagged:
    such a difference, unlike that of the inputs, may explain a difference in results.
    """
    items: dict[str, list[str]] = {}
    agree: set[str] = set()
    for i, run in enumerate(comparison.runs):
        identity, setup = _record_items(run)
        agree |= set(setup)
        for item, value in {**identity, **setup}.items():
            items.setdefault(item, [""] * len(comparison.runs))[i] = value
    return [
        {"item": item, "values": values, "differ": item in agree and len(set(values)) > 1}
        for item, values in items.items()
    ]


def build_context(comparison: Comparison, record: dict[str, Any]) -> dict[str, Any]:
    """Return everything the comparison template shows."""
    year = int(comparison.stacked["prices"]["year"].max())
    notes = _emission_notes(comparison)
    return {
        "cur": comparison.currency,
        "scenarios": comparison.scenarios,
        "base": comparison.scenarios[0],
        "year": year,
        "totals": comparison.totals().to_dict("records"),
        "gain_col": comparison.columns.money("gain_from_linking", pv=True),
        "change_col": comparison.columns.money("gain_change_from_first", pv=True),
        "abroad_col": comparison.columns.case_money("linked", "paid_abroad"),
        "emitted_col": LINKED_EMISSIONS,
        "moved_col": EMISSIONS_MOVED,
        "charts": _charts(comparison),
        "prices": _price_rows(comparison, year),
        "gains": _gain_rows(comparison),
        "abroad": _abroad_rows(comparison),
        "emissions": _emission_rows(comparison),
        "emission_notes": notes,
        "more_emissions": {n["scenario"] for n in notes if n["change"]["total"] > 0},
        "records": _record_rows(comparison),
        "record": record,
    }


def write_comparison_report(comparison: Comparison, record: dict[str, Any], path: Path) -> None:
    """Write the comparison's report.html: gains, price paths per group, prices, records."""
    page = environment().get_template("compare.html.j2").render(build_context(comparison, record))
    path.write_text(page, encoding="utf-8")
