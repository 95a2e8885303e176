"""Write a sweep's summary workbook and report, from its draws and summary tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from etslink.core.data import ModelData
from etslink.outputs.columns import EMISSIONS_CHANGE, Columns
from etslink.outputs.report import charts
from etslink.outputs.report.excel import TableBook, run_sheet
from etslink.outputs.report.html import environment


def write_sweep_workbook(
    summary: dict[str, pd.DataFrame], record: dict[str, Any], currency: str, path: Path
) -> None:
    """Write summary.xlsx: gains, their spread, volatility, price statistics, the run record."""
    sheets = {**summary, "run": run_sheet(record)}
    # the statistics are prices, money or MtCO2e whose names carry no unit
    unitless = {"price_statistics": "#,##0.00", "distributions": "#,##0.00"}
    with TableBook(path) as book:
        for name in SUMMARY_SHEETS:
            book.add_table_sheet(name, sheets[name], currency, unitless.get(name))


SUMMARY_SHEETS = (
    "gains",
    "distributions",
    "gains_by_draw",
    "volatility",
    "price_statistics",
    "run",
)
"""The sheets of summary.xlsx, in order."""


def write_sweep_report(
    summary: dict[str, pd.DataFrame], d: ModelData, record: dict[str, Any], path: Path
) -> None:
    """Write the sweep's report: price fans, volatility, gains, money abroad and emissions."""
    context = {
        "d": d,
        "record": record,
        "fan": charts.fan_chart(summary["price_statistics"], d),
        "gains": summary["gains"].to_dict("records"),
        "volatility": summary["volatility"].to_dict("records"),
        "spreads": _spreads(summary, d),
    }
    page = environment().get_template("sweep.html.j2").render(context)
    path.write_text(page, encoding="utf-8")


def _spreads(summary: dict[str, pd.DataFrame], d: ModelData) -> dict[str, dict[str, Any]]:
    """Return per quantity of `gains_by_draw` its chart and its rows of `distributions`.

    Keyed `gain`, `abroad` and `emissions`; each row a system's mean, sd and percentiles.
    """
    cols = Columns(d.currency)
    money = f"M{d.currency}, present value in {d.base_year}"
    quantities = {
        "gain": (cols.money("gain_from_linking", pv=True), money),
        "abroad": (cols.case_money("linked", "paid_abroad"), money),
        "emissions": (EMISSIONS_CHANGE, "MtCO2e, all years"),
    }
    stats = summary["distributions"]
    return {
        key: {
            "chart": charts.draw_spread(summary["gains_by_draw"], column, d, unit, key),
            "rows": stats[stats["quantity"] == column].to_dict("records"),
        }
        for key, (column, unit) in quantities.items()
    }
