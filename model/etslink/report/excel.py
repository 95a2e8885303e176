"""Write `results.xlsx`: a summary with live Excel charts, the contract sheets, the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from etslink.report.story import headline_year, price_change_table
from etslink.results import Results

PER_CASE_SHEETS = (
    "prices",
    "balances",
    "transfers",
    "costs",
    "shadow_prices",
    "offset_prices",
    "offset_use",
)
CHART_COLUMN = "H"
"""Where the summary's charts start, right of its tables."""


def run_sheet(record: dict[str, Any]) -> pd.DataFrame:
    """Return the run record as rows of (dotted item, value)."""
    flat = pd.json_normalize(json.loads(json.dumps(record, default=str)), sep=".")
    return pd.DataFrame({"item": flat.columns, "value": [str(v) for v in flat.iloc[0]]})


def _number_format(column: str, currency: str) -> str | None:
    if column.endswith("_per_tCO2e"):
        return "#,##0.00"
    if column.endswith("_MtCO2e"):
        return "#,##0.000"
    if column.endswith(f"_M{currency}") or column.endswith("_percent_of_autarky_cost"):
        return "#,##0.0"
    return None


def format_table(
    ws: Worksheet, frame: pd.DataFrame, currency: str, top: int = 1, left: int = 1
) -> None:
    """Set bold headers, widths and number formats of a table written at (top, left)."""
    for offset, column in enumerate(frame.columns):
        index = left + offset
        ws.cell(top, index).font = Font(bold=True)
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = min(max(12, len(str(column)) + 2), 40)
        fmt = _number_format(str(column), currency)
        if fmt:
            for row in range(top + 1, top + len(frame) + 1):
                ws.cell(row, index).number_format = fmt


def _write_frame(ws: Worksheet, frame: pd.DataFrame, top: int, left: int = 1) -> int:
    """Write a table with its header at row `top`; return the row after it."""
    for offset, column in enumerate(frame.columns):
        ws.cell(top, left + offset, str(column))
    for r, values in enumerate(frame.itertuples(index=False), start=top + 1):
        for offset, value in enumerate(values):
            ws.cell(r, left + offset, None if pd.isna(value) else value)
    return top + len(frame) + 2


def _add_chart(
    ws: Worksheet,
    chart: BarChart | LineChart,
    title: str,
    y_title: str,
    top: int,
    rows: int,
    columns: range,
    anchor: str,
) -> None:
    """Add a chart of the table at row `top` (categories in column A) to the sheet."""
    chart.title, chart.y_axis.title = title, y_title
    for column in columns:
        chart.add_data(
            Reference(ws, min_col=column, min_row=top, max_row=top + rows), titles_from_data=True
        )
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + rows))
    chart.width, chart.height = 16, 7
    ws.add_chart(chart, anchor)


def _summary_tables(results: Results) -> dict[str, pd.DataFrame]:
    cols, cur = results.columns, results.data.currency
    prices = results.table("prices")
    paths = prices.pivot_table(index="year", columns=["system", "case"], values=cols.price)
    paths.columns = [f"{s} {c}" for s, c in paths.columns]
    balances = results.cases["linked"].balances
    imports = balances.pivot_table(index="year", columns="system", values="net_imports_MtCO2e")
    gains = results.gains[
        [
            "system",
            f"autarky_compliance_cost_pv_M{cur}",
            f"linked_compliance_cost_pv_M{cur}",
            cols.money("gain_from_linking", pv=True),
            f"linked_paid_abroad_pv_M{cur}",
        ]
    ]
    return {
        "prices": price_change_table(results).rename(
            columns={c: f"{c}_{cur}_per_tCO2e" for c in ("autarky", "linked", "change")}
        ),
        "paths": paths.reset_index(),
        "imports": imports.reset_index(),
        "gains": gains,
    }


def _write_summary(ws: Worksheet, results: Results) -> None:
    d, cur = results.data, results.data.currency
    year = headline_year(d)
    gain = results.total_cost_pv("autarky") - results.total_cost_pv("linked")
    abroad = results.gains[f"linked_paid_abroad_pv_M{cur}"].sum()
    ws["A1"] = f"etslink results: {d.scenario_name}"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = (
        f"Prices in {cur} per tCO2e in each year's money; quantities in MtCO2e; "
        f"costs in M{cur}, present value in {d.base_year} at "
        f"{d.discount_rate:.1%} a year."
    )
    ws["A4"], ws["B4"] = f"gain from linking, all systems [M{cur}, PV]", gain
    ws["A5"], ws["B5"] = f"paid abroad when linked: allowances + credits [M{cur}, PV]", abroad
    for cell in ("B4", "B5"):
        ws[cell].number_format = "#,##0.0"
    tables = _summary_tables(results)
    top = 7
    ws.cell(top, 1, f"allowance price in {year} [{cur} per tCO2e]").font = Font(italic=True)
    start, top = top + 1, _write_frame(ws, tables["prices"], top + 1)
    format_table(ws, tables["prices"], cur, start)
    _add_chart(
        ws,
        BarChart(),
        f"Allowance prices {year}: autarky vs linked",
        f"{cur} per tCO2e",
        start,
        len(tables["prices"]),
        range(2, 4),
        f"{CHART_COLUMN}3",
    )
    for key, title, y_title, kind, anchor in (
        ("paths", "Price paths", f"{cur} per tCO2e", LineChart, "19"),
        ("imports", "Net imports, linked (negative: exports)", "MtCO2e", BarChart, "35"),
    ):
        ws.cell(top, 1, f"{title} [{y_title}]").font = Font(italic=True)
        frame = tables[key]
        start, top = top + 1, _write_frame(ws, frame, top + 1)
        format_table(ws, frame, cur, start)
        _add_chart(
            ws,
            kind(),
            title,
            y_title,
            start,
            len(frame),
            range(2, len(frame.columns) + 1),
            f"{CHART_COLUMN}{anchor}",
        )
    ws.cell(top, 1, f"gains per system [M{cur}, PV]").font = Font(italic=True)
    format_table(ws, tables["gains"], cur, top + 1)
    _write_frame(ws, tables["gains"], top + 1)
    ws.column_dimensions["A"].width = 48


def write_results_workbook(results: Results, record: dict[str, Any], path: Path) -> None:
    """Write the summary, every result table and the run record, one sheet each."""
    sheets = {name: results.table(name) for name in PER_CASE_SHEETS}
    sheets["gains"] = results.gains
    sheets["run"] = run_sheet(record)
    cur = results.data.currency
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _write_summary(writer.book.create_sheet("summary", 0), results)
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            ws.freeze_panes = "A2"
            if ws.max_row > 1:
                ws.auto_filter.ref = ws.dimensions
            format_table(ws, frame, cur)
        if "Sheet" in writer.book.sheetnames:
            del writer.book["Sheet"]
