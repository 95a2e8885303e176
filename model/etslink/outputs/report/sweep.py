"""Write a sweep's summary workbook and report, from its draws and summary tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from etslink.inputs.data import ModelData
from etslink.outputs.report import charts
from etslink.outputs.report.excel import TableBook, run_sheet
from etslink.outputs.report.html import environment


def write_sweep_workbook(
    summary: dict[str, pd.DataFrame], record: dict[str, Any], currency: str, path: Path
) -> None:
    """Write summary.xlsx: gains, volatility, price statistics and the run record."""
    sheets = {**summary, "run": run_sheet(record)}
    # price_statistics' mean, sd and percentiles are prices whose names carry no unit
    unitless = {"price_statistics": "#,##0.00"}
    with TableBook(path) as book:
        for name in ("gains", "volatility", "price_statistics", "run"):
            book.add_table_sheet(name, sheets[name], currency, unitless.get(name))


def write_sweep_report(
    summary: dict[str, pd.DataFrame], d: ModelData, record: dict[str, Any], path: Path
) -> None:
    """Write the sweep's report: price fans, volatility and the odds of gaining from linking."""
    context = {
        "d": d,
        "record": record,
        "fan": charts.fan_chart(summary["price_statistics"], d),
        "gains": summary["gains"].to_dict("records"),
        "volatility": summary["volatility"].to_dict("records"),
    }
    page = environment().get_template("sweep.html.j2").render(context)
    path.write_text(page, encoding="utf-8")
