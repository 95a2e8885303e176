"""Write explore.xlsx and the exploration's report from its tables (never the model)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from etslink.core.data import ModelData
from etslink.outputs.columns import EMISSIONS_CHANGE, Columns
from etslink.outputs.report.charts import candidate_prices, gains_by_candidate
from etslink.outputs.report.excel import TableBook, run_sheet
from etslink.outputs.report.html import Folded, environment, fold

if TYPE_CHECKING:
    from etslink.outputs.results import ExploreTables

GAIN_TOLERANCE_Mcur = 1e-6
"""Gains and payments smaller than this [M CUR] are solver noise: no gain, no payment."""
EMISSIONS_TOLERANCE_MtCO2e = 1e-6
"""Emission changes smaller than this [MtCO2e] are solver noise."""
PRICE_TOLERANCE = 1e-4
"""Prices within this share (at least 1 CUR per 10,000 t) of each other meet."""


def write_explore_workbook(
    tables: ExploreTables, record: dict[str, Any], currency: str, path: Path
) -> None:
    """Write explore.xlsx: candidates, combinations, gains, prices, status quo, run record."""
    with TableBook(path) as book:
        for name, frame in {**tables.sheets(), "run": run_sheet(record)}.items():
            book.add_table_sheet(name, frame, currency)


def write_explore_report(
    tables: ExploreTables, d: ModelData, record: dict[str, Any], path: Path
) -> None:
    """Write the report: ranking, who gains and pays, price gaps, pairs, synergies, record."""
    cols = Columns(d.currency)
    gain = cols.money("gain", pv=True)
    combos = tables.combinations
    ranked = tables.candidates.drop_duplicates("candidate")
    ranked = ranked.sort_values(cols.money("gain_alone", pv=True), ascending=False)
    emissions = tables.combinations.set_index("combination")[EMISSIONS_CHANGE]
    ranked = ranked.assign(emissions_change=ranked["candidate"].map(emissions))
    context = {
        "d": d,
        "record": record,
        "cur": d.currency,
        "ranked": ranked.to_dict("records"),
        "designs": _designs(ranked, cols.money("gain_alone", pv=True)),
        "gain_alone": cols.money("gain_alone", pv=True),
        "who": fold(who_gains(tables, cols, ranked["candidate"].tolist())),
        "gains_chart": gains_chart(tables, ranked["candidate"].tolist(), d, cols),
        "prices_chart": prices_chart(tables, ranked, cols, d),
        "meet": fold(prices_meet(tables, cols), "gap"),
        "matrix": pair_matrix(tables, d, cols),
        "synergies": synergies(combos, cols),
        "combinations": fold(combos.to_dict("records"), gain),
        "gain": gain,
        "beyond": cols.money("gain_beyond_parts", pv=True),
        "status_quo": tables.status_quo.to_dict("records"),
        "cost": cols.money("compliance_cost", pv=True),
        "abroad": cols.money("paid_abroad", pv=True),
    }
    page = environment().get_template("explore.html.j2").render(context)
    path.write_text(page, encoding="utf-8")


def _designs(ranked: pd.DataFrame, gain: str) -> dict[str, list[dict[str, Any]]]:
    """Return each link's designs (`design_of`), best first by the gain of all systems."""
    designs: dict[str, list[dict[str, Any]]] = {}
    for row in ranked.to_dict("records"):
        if row.get("design_of"):
            designs.setdefault(str(row["design_of"]), []).append(row)
    return {link: sorted(rows, key=lambda r: -r[gain]) for link, rows in designs.items()}


def gains_chart(tables: ExploreTables, ranked: list[str], d: ModelData, cols: Columns) -> str:
    """Return the chart of each system's gain under each candidate alone, best first."""
    gain = cols.money("gain", pv=True)
    rows = tables.combination_gains[tables.combination_gains["combination"].isin(ranked)]
    rows = rows[rows[gain].abs() > GAIN_TOLERANCE_Mcur]  # solver noise: no segment
    by_candidate: dict[str, dict[str, float]] = {c: {} for c in ranked} | {
        c: dict(zip(group["system"], group[gain], strict=True))
        for c, group in rows.groupby("combination", sort=False)
    }  # keys in ranked order: a union keeps the left's order
    return gains_by_candidate(by_candidate, d, f"gain, M{d.currency} (present value {d.base_year})")


def prices_chart(tables: ExploreTables, ranked: pd.DataFrame, cols: Columns, d: ModelData) -> str:
    """Return the price paths of each candidate's systems with and without it, best first."""
    before = tables.status_quo_prices.set_index(["system", "year"])[cols.price]
    after = tables.combination_prices.set_index(["combination", "system", "year"])[cols.price]
    solved = set(after.index.get_level_values(0))
    panels = {}
    for candidate in ranked["candidate"]:
        if candidate not in solved:
            continue
        rows = tables.candidates[tables.candidates["candidate"] == candidate]
        systems = [s for s in d.systems if s in {*rows["from_system"], *rows["to_system"]}]
        panels[candidate] = {
            s: (before.xs(s, level="system"), after.loc[candidate].xs(s, level="system"))
            for s in systems
        }
    return candidate_prices(panels, d)


def who_gains(tables: ExploreTables, cols: Columns, ranked: list[str]) -> list[dict[str, Any]]:
    """Return, per candidate alone (best first), each system whose cost, money or emissions move.

    Rows: candidate, system, gain [M CUR, PV], the change of money paid abroad [M CUR, PV]
    and of emissions over all years [MtCO2e].
    """
    abroad = cols.money("paid_abroad", pv=True)
    before = tables.status_quo.set_index("system")[abroad]
    alone = set(tables.combinations.loc[tables.combinations["size"] == 1, "combination"])
    gains = tables.combination_gains[tables.combination_gains["combination"].isin(alone)]
    rank = {candidate: i for i, candidate in enumerate(ranked)}
    gains = gains.sort_values("combination", key=lambda c: c.map(rank), kind="stable")
    rows = []
    for r in gains.to_dict("records"):
        more_abroad = r[abroad] - before[r["system"]]
        gain = r[cols.money("gain", pv=True)]
        money_moves = max(abs(gain), abs(more_abroad)) > GAIN_TOLERANCE_Mcur
        if money_moves or abs(r[EMISSIONS_CHANGE]) > EMISSIONS_TOLERANCE_MtCO2e:
            rows.append(
                {
                    "candidate": r["combination"],
                    "system": r["system"],
                    "gain": gain,
                    "abroad": r[abroad],
                    "more_abroad": more_abroad,
                    "emissions_change": r[EMISSIONS_CHANGE],
                }
            )
    return rows


def prices_meet(tables: ExploreTables, cols: Columns) -> list[dict[str, Any]]:
    """Return, per candidate row alone, the largest price gap over the link's years.

    The gap is p_from - rate * p_to [CUR per tCO2e of from_system]: zero when the link
    carries every trade that pays; a fee, a limit or a share limit keeps it open.
    """
    prices = tables.combination_prices.set_index(["combination", "system", "year"])[cols.price]
    rows = []
    for r in tables.candidates.to_dict("records"):
        if r["candidate"] not in prices.index.get_level_values(0):
            continue
        here = prices.loc[r["candidate"]]
        first = r["first_year"] if _given(r["first_year"]) else -math.inf
        last = r["last_year"] if _given(r["last_year"]) else math.inf
        gaps = [
            here[r["from_system"], y] - r["exchange_rate"] * here[r["to_system"], y]
            for (s, y) in here.index
            if s == r["from_system"] and (r["to_system"], y) in here.index and first <= y <= last
        ]
        if not gaps:
            continue
        gap = max(gaps, key=abs)
        scale = max(1.0, *(abs(p) for p in here))
        rows.append(
            {
                "candidate": r["candidate"],
                "link": f"{r['from_system']} - {r['to_system']}",
                "gap": gap,
                "meet": abs(gap) <= PRICE_TOLERANCE * scale,
            }
        )
    return rows


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def pair_matrix(tables: ExploreTables, d: ModelData, cols: Columns) -> dict[str, Any]:
    """Return the gain of each pair of systems linked alone, as a matrix [M CUR, PV].

    A cell holds the largest gain of a candidate that links exactly that pair (blank: none).
    """
    gain = cols.money("gain_alone", pv=True)
    pairs: dict[frozenset[str], set[float]] = {}
    for _, rows in tables.candidates.groupby("candidate", sort=False):
        systems = frozenset(rows["from_system"]) | frozenset(rows["to_system"])
        value = rows[gain].iloc[0]
        if len(systems) == 2 and not math.isnan(value):
            pairs.setdefault(systems, set()).add(float(value))
    cells = {
        (a, b): max(pairs[frozenset((a, b))])
        for a in d.systems
        for b in d.systems
        if a != b and frozenset((a, b)) in pairs
    }
    return {"systems": list(d.systems), "cells": cells}


def synergies(combos: pd.DataFrame, cols: Columns) -> Folded:
    """Return the combinations that gain more than the sum of their candidates alone."""
    beyond = cols.money("gain_beyond_parts", pv=True)
    rows = combos[combos[beyond] > GAIN_TOLERANCE_Mcur]
    return fold(rows.to_dict("records"), beyond)
