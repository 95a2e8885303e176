"""results.xlsx and summary.xlsx read back with openpyxl: layout, number formats, blanks."""

from __future__ import annotations

import math

import openpyxl
import pandas as pd
import pytest
from openpyxl.drawing.spreadsheet_drawing import OneCellAnchor, TwoCellAnchor
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from etslink.outputs.report.excel import TableBook
from etslink.outputs.report.sweep import write_sweep_workbook

EMU_PER_PX = 9525
DEFAULT_ROW_PX = 20  # 15 pt
DEFAULT_COLUMN_PX = 64  # 8.43 characters of Calibri 11


@pytest.fixture(scope="module")
def summary(example_run) -> Worksheet:
    return openpyxl.load_workbook(example_run / "results.xlsx")["summary"]


def _column_px(ws: Worksheet, col: int) -> float:
    """Width of column `col` (from 1) in pixels, as Excel draws it (7 px a character)."""
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= col <= dim.max and dim.width:
            return dim.width * 7
    return DEFAULT_COLUMN_PX


def _row_px(ws: Worksheet, row: int) -> float:
    height = ws.row_dimensions[row].height
    return height * 4 / 3 if height else DEFAULT_ROW_PX


def _last_cell(ws: Worksheet, col: int, row: int, width_px: float, height_px: float):
    """Return the cell (column, row, from 1) holding the corner `width_px` right of and
    `height_px` below the top-left corner of cell (col, row)."""
    while width_px > _column_px(ws, col):
        width_px -= _column_px(ws, col)
        col += 1
    while height_px > _row_px(ws, row):
        height_px -= _row_px(ws, row)
        row += 1
    return col, row


def _cells_under(ws: Worksheet, anchor) -> tuple[int, int, int, int]:
    """Return the cells a chart covers: first column, first row, last column, last row (from 1)."""
    first_col, first_row = anchor._from.col + 1, anchor._from.row + 1
    if isinstance(anchor, TwoCellAnchor):
        return first_col, first_row, anchor.to.col + 1, anchor.to.row + 1
    assert isinstance(anchor, OneCellAnchor), type(anchor)
    offset_x, offset_y = anchor._from.colOff / EMU_PER_PX, anchor._from.rowOff / EMU_PER_PX
    width, height = anchor.ext.width / EMU_PER_PX, anchor.ext.height / EMU_PER_PX
    last = _last_cell(ws, first_col, first_row, offset_x + width, offset_y + height)
    return first_col, first_row, *last


def _numbers(ws: Worksheet) -> list:
    return [
        cell
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
    ]


@pytest.mark.solve
def test_no_chart_covers_a_filled_cell_of_the_summary(summary):
    filled = {
        (cell.column, cell.row)
        for row in summary.iter_rows()
        for cell in row
        if cell.value is not None
    }
    assert len(summary._charts) == 3
    for chart in summary._charts:
        first_col, first_row, last_col, last_row = _cells_under(summary, chart.anchor)
        hidden = sorted(
            f"{get_column_letter(c)}{r}"
            for c, r in filled
            if first_col <= c <= last_col and first_row <= r <= last_row
        )
        assert not hidden, f"a chart covers {hidden[:5]}"


@pytest.mark.solve
def test_the_summary_prints_its_charts_on_one_page_and_its_tables_on_the_next(summary):
    """Issue 22: the example's summary printed on 13 pages, its charts split over 8. Now the
    headline and the charts fill the first landscape page and the tables the next two: at the
    print scale, with the widths LibreOffice draws without Calibri (WIDTH_SLACK), every chart
    lies above the page break and within the page's width, and the tables within one page."""
    from etslink.outputs.report.excel import PAGE_PX, WIDTH_SLACK

    assert summary.page_setup.orientation == "landscape"
    assert not summary.sheet_properties.pageSetUpPr.fitToPage  # Excel would ignore the break
    scale = summary.page_setup.scale / 100
    (page_break,) = [b.id for b in summary.row_breaks.brk]  # the tables start on row id + 1
    assert summary.cell(page_break + 1, 1).value.startswith("allowance price in")
    width, height = (px / scale / WIDTH_SLACK for px in PAGE_PX)  # the sheet's px per page
    for chart in summary._charts:
        _, _, last_col, last_row = _cells_under(summary, chart.anchor)
        assert last_row <= page_break
        assert sum(_column_px(summary, c) for c in range(1, last_col + 1)) <= width
    tables = [
        c for row in summary.iter_rows(min_row=page_break + 1) for c in row if c.value is not None
    ]
    last_col = max(c.column for c in tables)
    assert sum(_column_px(summary, c) for c in range(1, last_col + 1)) <= width
    rows = max(c.row for c in tables) - page_break
    # 23 years (the EU to 2040) make the tables 96 rows: at the smallest scale for tables
    # (PRINT_SCALE_MIN) they would still not fit one page, so they run on to a second
    pages = rows * DEFAULT_ROW_PX * scale / PAGE_PX[1]
    assert 1 < pages <= 2


@pytest.mark.solve
def test_every_number_on_the_summary_has_a_number_format(summary):
    numbers = _numbers(summary)
    assert len(numbers) > 100
    assert [c.coordinate for c in numbers if c.number_format == "General"] == []
    assert {c.number_format for c in numbers if c.column == 1} == {"0"}  # years


@pytest.mark.solve
def test_summary_headers_align_with_their_columns(summary):
    """Over a column of numbers the header aligns right; years align left like the labels."""
    headers = [c for row in summary.iter_rows(min_row=3) for c in row if c.font.b and c.value]
    checked = 0
    for header in headers:
        below = summary.cell(header.row + 1, header.column)
        if header.value == "year":
            assert below.alignment.horizontal == "left", below.coordinate
            assert header.alignment.horizontal in (None, "general", "left"), header.coordinate
        elif isinstance(below.value, float):
            assert header.alignment.horizontal == "right", header.coordinate
            checked += 1
    assert checked >= 4


@pytest.mark.unit
def test_table_sheet_writes_missing_values_as_blanks(tmp_path):
    frame = pd.DataFrame(
        {
            "name": ["a", "", None],
            "mixed": [1, math.nan, "x"],
            "flag": [True, False, None],
            "year": [2030, 2031, 2032],
            "price_EUR_per_tCO2e": [1.5, math.nan, math.inf],
        }
    )
    path = tmp_path / "t.xlsx"
    with TableBook(path) as book:
        book.add_table_sheet("t", frame, "EUR")
    ws = openpyxl.load_workbook(path)["t"]
    assert [c.value for c in ws[1]] == list(frame.columns)
    assert [c.value for c in ws["A"][1:]] == ["a", None, None]
    assert [c.value for c in ws["B"][1:]] == [1, None, "x"]
    assert [c.value for c in ws["C"][1:]] == [True, False, None]
    assert ws["E2"].value == 1.5
    assert ws["E2"].number_format == "#,##0.00"
    assert ws["E3"].value is None
    assert ws["E4"].value == "=1/0"  # infinity: an Excel error, not a crash
    assert ws["D2"].number_format == "General"
    assert ws["D2"].alignment.horizontal == "left"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:E4"
    assert all(c.font.b for c in ws[1])
    assert ws.column_dimensions["E"].width == pytest.approx(len("price_EUR_per_tCO2e") + 2, abs=1)


@pytest.mark.unit
def test_sweep_workbook_has_its_sheets_formatted(tmp_path):
    summary = {
        "gains": pd.DataFrame({"system": ["A"], "expected_gain_pv_MEUR": [1.25]}),
        "volatility": pd.DataFrame({"system": ["A"], "price_sd_EUR_per_tCO2e": [0.5]}),
        "price_statistics": pd.DataFrame(
            {"case": ["linked"], "system": ["A"], "year": [2030], "draws": [2], "mean": [3.25]}
        ),
        "distributions": pd.DataFrame(
            {"system": ["A"], "quantity": ["emissions_change_MtCO2e"], "draws": [2], "sd": [0.5]}
        ),
        "gains_by_draw": pd.DataFrame(
            {"draw": [0], "system": ["A"], "gain_from_linking_pv_MEUR": [1.5]}
        ),
    }
    path = tmp_path / "summary.xlsx"
    write_sweep_workbook(summary, {"draws": 2, "seed": 0}, "EUR", path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "gains",
        "distributions",
        "gains_by_draw",
        "volatility",
        "price_statistics",
        "run",
    ]
    for name in book.sheetnames:
        assert book[name].freeze_panes == "A2"
        assert book[name].auto_filter.ref
    assert book["gains"]["B2"].number_format == "#,##0.0"
    assert book["price_statistics"]["D2"].number_format == "General"  # a count of draws
    assert book["price_statistics"]["E2"].number_format == "#,##0.00"  # a price
    assert book["distributions"]["C2"].number_format == "General"  # a count of draws
    assert book["distributions"]["D2"].number_format == "#,##0.00"  # MtCO2e or money
    assert book["gains_by_draw"]["C2"].number_format == "#,##0.0"
    assert [c.value for c in book["run"]["A"]] == ["item", "draws", "seed"]


@pytest.mark.unit
def test_table_sheet_fits_text_and_prints_one_page_wide(tmp_path):
    """Text columns widen to their longest value (up to 60), numbers keep their header's
    width, empty text keeps the header's; printed landscape, one page wide, header repeated."""
    long = "EU-UK + WCI-WA + KR-CN + NZ-EU"
    frame = pd.DataFrame(
        {
            "combination": ["EU-UK", long],
            "note": [None, None],
            "gain_pv_MEUR": [1.0, 123456789.0],
            "story": ["x" * 80, "y"],
        }
    )
    path = tmp_path / "t.xlsx"
    with TableBook(path) as book:
        book.add_table_sheet("t", frame, "EUR")
    ws = openpyxl.load_workbook(path)["t"]
    width = {c: ws.column_dimensions[c].width for c in "ABCD"}
    assert width["A"] == pytest.approx(len(long) + 2, abs=1)
    assert width["B"] == pytest.approx(12, abs=1)
    assert width["C"] == pytest.approx(len("gain_pv_MEUR") + 2, abs=1)
    assert width["D"] == pytest.approx(60, abs=1)
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0)  # 1: default
    assert ws.print_title_rows == "$1:$1"
