"""Write `results.xlsx`: a summary with live Excel charts, the contract sheets, the rest.

XlsxWriter writes the file: unlike openpyxl it builds no style object per cell, which made
writing about a fifth of a 50-system run. It writes numbers with 16 significant digits
(Excel keeps 15). Readers, tests among them, read the file back with openpyxl or pandas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from etslink.outputs.fit import fit_table
from etslink.outputs.report.charts import colours
from etslink.outputs.report.story import headline_year, price_change_table
from etslink.outputs.results import Results, gains_by_year

PER_CASE_SHEETS = (
    "prices",
    "balances",
    "transfers",
    "costs",
    "shadow_prices",
    "offset_prices",
    "offset_use",
    "msr",
    "border_adjustments",
    "intensity",
)
SUMMARY = "summary"
LABEL_WIDTH = 48
"""Width [characters] of the summary's first column, which holds the headline labels."""
YEAR_FORMAT = "0"
CHART_SIZE_PX = {"width": 680, "height": 320}
"""18 cm x 8.5 cm at 96 dpi."""
CHART_ROWS = 18
"""Rows from one chart's top to the next's: 320 px at 20 px a row, plus a gap of two."""
CHARTS_PER_ROW = 2
"""Charts side by side under the summary's headline: two fill a landscape page."""
CHART_GAP_PX = 20
"""Room between two charts side by side."""
FIRST_CHART_ROW = 6
"""The row (from 0) of the first charts' top, below the headline."""
ROW_PX = 20
"""A row of the summary: 15 points at 96 dpi."""
MARGINS_IN = {"left": 0.4, "right": 0.4, "top": 0.5, "bottom": 0.5}
"""The summary's print margins [inches]; no header or footer."""
PAGE_PX = (10.2 * 96, 7.2 * 96)
"""What a landscape page prints within `MARGINS_IN` (10.2 x 7.27 in of Letter, the smaller
of Letter and A4), in pixels at 96 dpi and a print scale of 100%."""
WIDTH_SLACK = 1.35
"""Columns print up to this much wider than Excel draws them: LibreOffice without Carlito
(Calibri's metric twin) measures the widths in a wider font (15% here, measured)."""
PRINT_SCALE_MIN = 40
"""The summary's tables shrink to one page down to this print scale [%]; tables wider or
longer than a page at it (many systems or years) run on to further pages at the charts'
scale instead."""
LEGEND_MAX = 24
"""More series than this, and a chart has no legend: it would crowd out the plot."""
CASE_COLOURS = {"autarky": "#bbbbbb", "linked": "#1f77b4"}
"""The HTML report's colours of the two cases."""


def run_sheet(record: dict[str, Any]) -> pd.DataFrame:
    """Return the run record as rows of (dotted item, value)."""
    flat = pd.json_normalize(json.loads(json.dumps(record, default=str)), sep=".")
    return pd.DataFrame({"item": flat.columns, "value": [str(v) for v in flat.iloc[0]]})


def number_format(column: str, currency: str) -> str | None:
    """Return the Excel number format of a column named with its unit, or None."""
    if column in ("observed", "model"):  # the fit sheet: a price or a quantity per row
        return "#,##0.00"
    if column == "difference":
        return "+0.0%;-0.0%;0.0%"
    if column.endswith("_per_tCO2e"):
        return "#,##0.00"
    if column.endswith("_MtCO2e"):
        return "#,##0.000"
    if column.endswith(f"_M{currency}") or column.endswith("_percent_of_autarky_cost"):
        return "#,##0.0"
    return None


TEXT_WIDTH_MAX = 60
"""Widest text column [characters]; the cell holds longer values whole."""


def column_width(column: str, values: pd.Series | None = None) -> int:
    """Return a column's width [characters].

    Its header's, within 12 to 40; for text, its longest value's up to TEXT_WIDTH_MAX.
    """
    width = min(max(12, len(column) + 2), 40)
    if values is None or _numeric(values):
        return width
    texts = values.dropna().astype(str)
    if texts.empty:
        return width
    return min(max(width, int(texts.str.len().max()) + 2), TEXT_WIDTH_MAX)


def _numeric(values: pd.Series) -> bool:
    """Return whether a column holds numbers, which keep the width their header gives."""
    return isinstance(values.dtype, np.dtype) and values.dtype.kind in "iufb"


class TableBook:
    """An .xlsx file being written: sheets of tables, with formats made once each."""

    def __init__(self, path: Path) -> None:
        # NaN and infinities become Excel errors rather than stopping the write
        self.book = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
        self._formats: dict[tuple[tuple[str, Any], ...], Format] = {}

    def __enter__(self) -> TableBook:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.book.close()

    def format(self, **properties: Any) -> Format | None:
        """Return the one format with these properties (None for none)."""
        if not properties:
            return None
        key = tuple(sorted(properties.items()))
        if key not in self._formats:
            self._formats[key] = self.book.add_format(properties)
        return self._formats[key]

    def add_table_sheet(
        self, name: str, frame: pd.DataFrame, currency: str, unitless_format: str | None = None
    ) -> None:
        """Add a sheet holding one table: bold frozen header, filter, widths, number formats.

        Args:
            name: the sheet's name.
            frame: the table.
            currency: the currency code in the columns' names, e.g. EUR.
            unitless_format: number format of the columns of fractional numbers whose
                names carry no unit (None: General).
        """
        ws = self.book.add_worksheet(name)
        columns = [str(c) for c in frame.columns]
        header = [self.format(bold=True)] * len(columns)
        values = [
            self.format(**_value_look(column, dtype, currency, unitless_format))
            for column, dtype in zip(columns, frame.dtypes, strict=True)
        ]
        write_table(ws, frame, 0, header, values)
        for index, column in enumerate(columns):
            ws.set_column(index, index, column_width(column, frame.iloc[:, index]))
        ws.freeze_panes(1, 0)
        if columns:
            ws.autofilter(0, 0, len(frame), len(columns) - 1)
        # printed: landscape, one page wide, the header on every page
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)


def _value_look(
    column: str, dtype: Any, currency: str, unitless_format: str | None
) -> dict[str, str]:
    """Return the format properties of a table sheet's column: its unit's number format.

    Years label rows, as case and system do, so they align left under their header.
    """
    if column == "year":
        return {"align": "left"}
    fmt = number_format(column, currency)
    if fmt is None and isinstance(dtype, np.dtype) and dtype.kind == "f":
        fmt = unitless_format
    return {"num_format": fmt} if fmt else {}


def write_table(
    ws: Worksheet,
    frame: pd.DataFrame,
    top: int,
    header: list[Format | None],
    values: list[Format | None],
) -> None:
    """Write a table with its header at row `top` (from 0), one format per column."""
    for col, column in enumerate(frame.columns):
        ws.write_string(top, col, str(column), header[col])
        _write_column(ws, frame.iloc[:, col], top + 1, col, values[col])


def _write_column(ws: Worksheet, series: pd.Series, top: int, col: int, fmt: Format | None) -> None:
    """Write one column's values from row `top` down; a missing value leaves a blank cell."""
    series = series.infer_objects()  # numbers held as objects take the fast path below
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
        for row, number in enumerate(series.tolist(), start=top):
            if number == number:  # NaN is blank, as pandas writes it
                ws.write_number(row, col, number, fmt)
        return
    for row, value in enumerate(series.tolist(), start=top):
        _write_value(ws, row, col, value, fmt)


def _write_value(ws: Worksheet, row: int, col: int, value: object, fmt: Format | None) -> None:
    """Write a cell of a column of mixed values: text, truth value, number or blank."""
    if isinstance(value, str):
        if value:  # empty text is a blank cell, as openpyxl wrote it
            ws.write_string(row, col, value, fmt)
    elif isinstance(value, bool | np.bool_):
        ws.write_boolean(row, col, bool(value), fmt)
    elif isinstance(value, int | float | np.integer | np.floating):
        if value == value:
            ws.write_number(row, col, float(value), fmt)
    elif value is not None and value is not pd.NA and value is not pd.NaT:
        ws.write_string(row, col, str(value), fmt)


@dataclass(frozen=True)
class _Series:
    """One series of a chart: a table column, its legend name and its look."""

    column: int
    name: str | None
    """None: the column's header cell, so the legend follows the table."""
    look: dict[str, Any]
    """XlsxWriter series options (line, fill), in the HTML report's colours."""
    table: int = 0
    """Which table the column is in, counted from the chart's own: 1 is the next table."""


@dataclass(frozen=True)
class _Chart:
    """A live chart of summary tables: some of their columns against the first column."""

    kind: Literal["column", "line"]
    title: str
    y_title: str
    series: tuple[_Series, ...]


@dataclass(frozen=True)
class _Block:
    """A captioned table on the summary sheet and the chart drawn from it, if any."""

    caption: str
    frame: pd.DataFrame
    value_format: str
    chart: _Chart | None = None


def _price_block(results: Results) -> _Block:
    """Return each system's price in the headline year, autarky vs linked [CUR per tCO2e]."""
    cur, year = results.data.currency, headline_year(results.data)
    second = results.data.second_case
    names = {"autarky": second, "linked": "linked", "change": "change"}
    frame = price_change_table(results).rename(
        columns={c: results.columns.per_tonne(name) for c, name in names.items()}
    )
    series = tuple(
        _Series(column, names[case], {"fill": {"color": CASE_COLOURS[case]}})
        for column, case in enumerate(("autarky", "linked"), start=1)
    )
    title = f"Allowance prices {year}: {second} vs linked"
    chart = _Chart("column", title, f"{cur} per tCO2e", series)
    return _Block(f"allowance price in {year} [{cur} per tCO2e]", frame, "#,##0.00", chart)


def _paths_blocks(results: Results) -> list[_Block]:
    """Return the price paths [CUR per tCO2e]: a table per case, and one chart of both.

    The chart draws each system in its colour, solid when linked and dashed in the second
    case. Two tables of a column per system print narrower than one of a column per system
    and case.
    """
    d, price = results.data, results.columns.price
    colour, cases = colours(d.systems), ("linked", d.second_case)
    prices = results.table("prices")
    priced = set(prices["system"])
    tables = [
        prices[prices["case"] == case]
        .pivot(index="year", columns="system", values=price)
        .reindex(columns=[s for s in d.systems if s in priced])  # workbook order
        .reset_index()
        for case in cases
    ]
    series = tuple(
        _Series(column, f"{s} {case}", {"line": {"color": colour[s], "dash_type": dash}}, table)
        for table, (case, dash) in enumerate(zip(cases, ("solid", "dash"), strict=True))
        for column, s in enumerate(tables[table].columns[1:], start=1)
    )
    chart = _Chart("line", "Price paths", f"{d.currency} per tCO2e", series)
    unit = f"[{d.currency} per tCO2e]"
    return [
        _Block(f"Price paths, linked {unit}", tables[0], "#,##0.00", chart),
        _Block(f"Price paths, {d.second_case} {unit}", tables[1], "#,##0.00"),
    ]


def _imports_block(results: Results) -> _Block:
    """Return each system's net imports when linked [MtCO2e, negative: exports]."""
    systems = results.data.systems
    colour = colours(systems)
    imports = results.cases["linked"].balances.pivot(
        index="year", columns="system", values="net_imports_MtCO2e"
    )
    imports = imports[[s for s in systems if s in imports.columns]]  # as the workbook orders them
    series = tuple(
        _Series(column, None, {"fill": {"color": colour[s]}})
        for column, s in enumerate(imports.columns, start=1)
    )
    title = "Net imports, linked (negative: exports)"
    chart = _Chart("column", title, "MtCO2e", series)
    return _Block(f"{title} [MtCO2e]", imports.reset_index(), "#,##0.000", chart)


def _gains_block(results: Results) -> _Block:
    """Return each system's compliance cost in both cases and its gain [M<CUR>, PV]."""
    cur = results.data.currency
    columns = [
        "system",
        results.columns.case_money(results.data.second_case, "compliance_cost"),
        results.columns.case_money("linked", "compliance_cost"),
        results.columns.money("gain_from_linking", pv=True),
        results.columns.case_money("linked", "paid_abroad"),
    ]
    return _Block(f"gains per system [M{cur}, PV]", results.gains[columns], "#,##0.0")


def _block_formats(
    tb: TableBook, block: _Block, currency: str
) -> tuple[list[Format | None], list[Format | None]]:
    """Return the header and value format of each column of a summary table.

    Numbers and their headers align right; years, the charts' categories, align left like
    the labels above them in the first column.
    """
    header, values = [], []
    for column, dtype in zip(block.frame.columns, block.frame.dtypes, strict=True):
        name = str(column)
        if name == "year":
            header.append(tb.format(bold=True))
            values.append(tb.format(num_format=YEAR_FORMAT, align="left"))
        elif isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            header.append(tb.format(bold=True, align="right"))
            values.append(tb.format(num_format=number_format(name, currency) or block.value_format))
        else:
            header.append(tb.format(bold=True))
            values.append(None)
    return header, values


def _summary_widths(blocks: list[_Block]) -> list[int]:
    """Return the summary's column widths [characters]: the widest header of each column."""
    widths = [LABEL_WIDTH] * max(len(b.frame.columns) for b in blocks)
    for index in range(1, len(widths)):
        widths[index] = max(
            column_width(str(b.frame.columns[index]))
            for b in blocks
            if index < len(b.frame.columns)
        )
    return widths


def _write_headline(tb: TableBook, ws: Worksheet, results: Results) -> None:
    """Write the title, the units and the two headline figures [M<CUR>, PV]."""
    d, cur = results.data, results.data.currency
    gain = results.total_cost_pv("autarky") - results.total_cost_pv("linked")
    abroad = results.gains[results.columns.case_money("linked", "paid_abroad")].sum()
    title = f"etslink results: {d.scenario_name}"
    ws.write_string(0, 0, title, tb.format(bold=True, font_size=14))
    units = (
        f"Prices in {cur} per tCO2e in each year's money; quantities in MtCO2e; "
        f"costs in M{cur}, present value in {d.base_year} at {d.discount_rate:.1%} a year."
    )
    ws.write_string(1, 0, units)
    money = tb.format(num_format="#,##0.0")
    ws.write_string(3, 0, f"gain from linking, all systems [M{cur}, PV]")
    ws.write_number(3, 1, gain, money)
    ws.write_string(4, 0, f"paid abroad when linked: allowances + credits [M{cur}, PV]")
    ws.write_number(4, 1, abroad, money)


def _chart(tb: TableBook, tables: list[tuple[_Block, int]], chart: _Chart) -> Any:
    """Return a live chart of summary tables.

    Args:
        tb: The workbook.
        tables: From the chart's own, each table and the row of its header on the summary;
            the categories are the first column of the chart's own.
        chart: What to draw.
    """
    made = tb.book.add_chart({"type": chart.kind})
    block, top = tables[0]
    for series in chart.series:
        col, (of, at) = series.column, tables[series.table]
        made.add_series(
            {
                "name": series.name or [SUMMARY, at, col],
                "categories": [SUMMARY, top + 1, 0, top + len(block.frame), 0],
                "values": [SUMMARY, at + 1, col, at + len(of.frame), col],
                **series.look,
            }
        )
    made.set_title({"name": chart.title, "name_font": {"size": 12}})
    made.set_x_axis({"label_position": "low"})  # years below the plot, not at zero
    made.set_y_axis({"name": chart.y_title, "major_gridlines": {"visible": True}})
    crowded = len(chart.series) > LEGEND_MAX
    made.set_legend({"none": True} if crowded else {"position": "bottom"})
    made.set_size(CHART_SIZE_PX)
    return made


def _write_table_link(ws: Worksheet, top: int) -> None:
    """Write a link to the tables, which lie below the charts, out of the first view."""
    cell = xl_rowcol_to_cell(top, 0)
    text = f"Tables of these charts: from cell {cell}, below the charts"
    ws.write_url(2, 0, f"internal:'{SUMMARY}'!{cell}", string=text)


def _charts_top(index: int) -> tuple[int, int]:
    """Return where the `index`-th chart goes: its top row, and its left edge in pixels."""
    across = index % CHARTS_PER_ROW * (CHART_SIZE_PX["width"] + CHART_GAP_PX)
    return FIRST_CHART_ROW + index // CHARTS_PER_ROW * CHART_ROWS, across


def _write_summary(tb: TableBook, results: Results) -> None:
    """Write the headline, the charts under it, two side by side, and their tables below."""
    ws = tb.book.add_worksheet(SUMMARY)
    _write_headline(tb, ws, results)
    blocks = [
        _price_block(results),
        *_paths_blocks(results),
        _imports_block(results),
        _gains_block(results),
    ]
    widths = _summary_widths(blocks)
    charted = sum(block.chart is not None for block in blocks)
    top = row = FIRST_CHART_ROW + -(-charted // CHARTS_PER_ROW) * CHART_ROWS
    _write_table_link(ws, top)
    tables = []
    for block in blocks:
        ws.write_string(row, 0, block.caption, tb.format(italic=True))
        write_table(ws, block.frame, row + 1, *_block_formats(tb, block, results.data.currency))
        tables.append((block, row + 1))
        row += len(block.frame) + 3
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    charts = [_chart(tb, tables[i:], b.chart) for i, (b, _) in enumerate(tables) if b.chart]
    for index, chart in enumerate(charts):
        chart_row, across = _charts_top(index)
        ws.insert_chart(chart_row, 0, chart, {"x_offset": across})
    _print_summary(ws, widths, top, row - 2, charted)


def _print_summary(ws: Worksheet, widths: list[int], top: int, end: int, charted: int) -> None:
    """Print the headline and the charts on the first page and the tables from the second.

    Landscape, at the largest scale that fits the headline and the charts on one page and, if
    that scale is no smaller than `PRINT_SCALE_MIN`, the tables on one more. A fixed scale,
    not "fit to pages", which would make Excel ignore the page break above the tables.

    Args:
        ws: The summary sheet.
        widths: Its column widths [characters].
        top: The row (from 0) of the first table's caption.
        end: The row after the last table.
        charted: How many charts there are.
    """
    width, height = PAGE_PX
    column_px = [int(w * 7 + 0.5) + 5 for w in widths]  # Excel's pixels
    # a chart ends inside a column, which prints whole: one widest column of room
    charts_px = min(charted, CHARTS_PER_ROW) * (CHART_SIZE_PX["width"] + CHART_GAP_PX)
    across = WIDTH_SLACK * (charts_px + max(column_px, default=0))
    tables = WIDTH_SLACK * sum(column_px)
    charts_fit = min(1.0, width / across, height / (top * ROW_PX))
    tables_fit = min(width / tables, height / ((end - top) * ROW_PX))
    scale = min(charts_fit, tables_fit) if tables_fit >= PRINT_SCALE_MIN / 100 else charts_fit
    ws.set_landscape()
    ws.set_margins(**MARGINS_IN)
    ws.set_print_scale(int(100 * scale))
    ws.set_h_pagebreaks([top])


def write_results_workbook(results: Results, record: dict[str, Any], path: Path) -> None:
    """Write the summary, every result table and the run record, one sheet each."""
    sheets = {name: results.table(name) for name in PER_CASE_SHEETS}
    if not any(not case.msr.empty for case in results.cases.values()):
        del sheets["msr"]  # only workbooks with a reserve have the sheet
    if not results.data.border_adjustments:
        del sheets["border_adjustments"]
    if not results.data.intensity:
        del sheets["intensity"]
    sheets["gains"] = results.gains
    sheets["gains_by_year"] = gains_by_year(results)
    if results.data.observations:
        sheets["fit"] = fit_table(results)
    sheets["run"] = run_sheet(record)
    with TableBook(path) as tb:
        _write_summary(tb, results)
        for name, frame in sheets.items():
            tb.add_table_sheet(name, frame, results.data.currency)
