"""The input reader gives the validator the same values whichever library reads a cell.

Cell values come from calamine; formulas, error values and merged blocks need care, and a
file calamine cannot convert goes through openpyxl. Each test pins one of those cases.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from conftest import linear_case
from etslink.cli import main
from etslink.inputs.workbook import read_workbook

pytestmark = pytest.mark.unit

HEADER = ["system", "year", "baseline_MtCO2e", "cap_MtCO2e"]  # columns A to D


def _emissions(path: Path, *rows: list[object], formats: dict[str, str] | None = None) -> Path:
    """Write a workbook whose one sheet, emissions, is xl/worksheets/sheet1.xml."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "emissions"
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    for cell, number_format in (formats or {}).items():
        ws[cell].number_format = number_format
    book.save(path)
    return path


def _edit_sheet_xml(path: Path, edit: Callable[[str], str]) -> None:
    """Rewrite the XML of sheet1 as another program might have written it."""
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    member = "xl/worksheets/sheet1.xml"
    before = members[member].decode()
    after = edit(before)
    assert after != before
    members[member] = after.encode()
    with zipfile.ZipFile(path, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)


def _values(path: Path) -> list[dict[str, object]]:
    return [row.values for row in read_workbook(path).tables["emissions"].rows]


def test_whole_numbers_come_back_as_int(tmp_path):
    # a float year 2030.0 is stored as "2030"; calamine returns 2030.0, openpyxl 2030
    path = _emissions(tmp_path / "a.xlsx", ["A", 2030.0, 100.0, 87.5])
    values = _values(path)[0]
    assert values == {"system": "A", "year": 2030, "baseline_MtCO2e": 100, "cap_MtCO2e": 87.5}
    assert [type(v) for v in values.values()] == [str, int, int, float]


def test_a_date_is_quoted_as_a_date_time(workbook, capsys):
    path = workbook(linear_case({"A": 2.0}, {"A": 10.0}))
    book = openpyxl.load_workbook(path)
    book["emissions"]["B2"] = dt.date(2030, 1, 1)  # calamine returns a date, openpyxl a datetime
    book.save(path)
    assert main(["validate", str(path)]) == 2
    assert 'emissions!B2 (year): "2030-01-01 00:00:00" is not a number' in capsys.readouterr().err


def test_an_error_value_is_quoted_not_taken_as_blank(workbook, capsys):
    tables = linear_case({"A": 2.0}, {"A": 10.0})
    tables["emissions"][0]["cap_MtCO2e"] = "#DIV/0!"  # an error cell, which calamine reads as ""
    assert main(["validate", str(workbook(tables))]) == 2
    assert 'emissions!D2 (cap_MtCO2e): "#DIV/0!" is not a number' in capsys.readouterr().err


def test_a_formula_with_a_stored_value_gives_the_value(tmp_path):
    path = _emissions(tmp_path / "a.xlsx", ["A", 2030, 100, 90])
    _edit_sheet_xml(path, lambda xml: xml.replace('"D2" t="n"><v>', '"D2" t="n"><f>100-10</f><v>'))
    table = read_workbook(path).tables["emissions"]
    assert _values(path)[0]["cap_MtCO2e"] == 90
    assert (table.problems, table.formula_cells) == ([], set())


def test_a_formula_without_value_below_the_data_is_flagged(tmp_path):
    path = _emissions(tmp_path / "a.xlsx", ["A", 2030, 100, 90])
    book = openpyxl.load_workbook(path)
    book["emissions"]["D6"] = "=1+1"  # no stored value; calamine's data ends at row 2
    book.save(path)
    table = read_workbook(path).tables["emissions"]
    assert [(p.row, p.cell) for p in table.problems] == [(6, "D6")]
    assert table.formula_cells == {(6, "cap_MtCO2e")}


def test_a_merged_block_shows_only_its_top_left_value(tmp_path):
    # Excel clears the other cells of a merged block; a file that still holds them reads the same
    path = _emissions(tmp_path / "a.xlsx", ["A", 2030, 100, 90], ["A", 2031, 100, 80])
    merge = '</sheetData><mergeCells count="1"><mergeCell ref="C2:C3"/></mergeCells>'
    _edit_sheet_xml(path, lambda xml: xml.replace("</sheetData>", merge))
    table = read_workbook(path).tables["emissions"]
    assert [values["baseline_MtCO2e"] for values in _values(path)] == [100, None]
    assert [p.cell for p in table.problems] == ["C2:C3"]


@pytest.mark.filterwarnings("ignore:Cell D2 is marked as a date:UserWarning")
def test_a_cell_calamine_cannot_convert_reads_as_before(tmp_path):
    # 10^10 days is beyond Python's timedelta; openpyxl reads the file and gives an error value
    path = _emissions(tmp_path / "a.xlsx", ["A", 2030, 100, 1e10], formats={"D2": "[h]:mm"})
    assert _values(path)[0]["cap_MtCO2e"] == "#VALUE!"
