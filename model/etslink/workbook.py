"""Excel input: read sheets into raw tables that keep Excel row numbers; write the template."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from etslink.errors import InputError, Issue
from etslink.schema import SHEETS, Column, Sheet


@dataclass(frozen=True)
class RawRow:
    """One data row: its Excel row number and its cells by contract column name."""

    row: int
    values: dict[str, object]


@dataclass
class RawTable:
    """One input sheet as read: where each contract column is, and the data rows."""

    sheet: Sheet
    letters: dict[str, str] = field(default_factory=dict)
    rows: list[RawRow] = field(default_factory=list)
    other_headers: list[str] = field(default_factory=list)

    def cell(self, column: str, row: int) -> str:
        """Return the Excel reference of `column` in Excel row `row`, e.g. "D7"."""
        return f"{self.letters.get(column, '')}{row}"


def _normalise(text: object) -> str:
    return str(text).strip().lower() if text is not None else ""


def _clean(value: object) -> object:
    """Return the cell value, with blank text as None and text stripped."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _unreadable(path: Path, problem: str, fix: str) -> InputError:
    return InputError([Issue(path.name, None, "", "", problem, fix)])


def _open(path: Path) -> openpyxl.Workbook:
    if not path.is_file():
        problem = f'the file "{path}" does not exist'
        raise _unreadable(path, problem, "check the path and the file name")
    if path.suffix.lower() in {".xls", ".xlsb", ".ods", ".csv"}:
        problem = f'"{path.name}" is not an .xlsx workbook'
        raise _unreadable(path, problem, "open it in Excel and save it as Excel Workbook (.xlsx)")
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        problem = f'"{path.name}" cannot be read as an .xlsx workbook ({type(exc).__name__})'
        fix = "open it in Excel, remove any password and save it as Excel Workbook (.xlsx)"
        raise _unreadable(path, problem, fix) from exc


def _read_table(ws: object, sheet: Sheet) -> RawTable:
    table = RawTable(sheet)
    by_name = {c.name.lower(): c.name for c in sheet.columns}
    rows = ws.iter_rows(values_only=True)  # type: ignore[attr-defined]
    header = next(rows, ())
    for index, title in enumerate(header, start=1):
        name = by_name.get(_normalise(title))
        if name is not None and name not in table.letters:
            table.letters[name] = get_column_letter(index)
        elif title is not None:
            table.other_headers.append(str(title).strip())
    positions = {name: _column_index(letter) for name, letter in table.letters.items()}
    for excel_row, cells in enumerate(rows, start=2):
        values = {
            name: _clean(cells[pos]) if pos < len(cells) else None
            for name, pos in positions.items()
        }
        if any(v is not None for v in values.values()):
            table.rows.append(RawRow(excel_row, values))
    return table


def _column_index(letter: str) -> int:
    index = 0
    for char in letter:
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


def read_workbook(path: Path) -> dict[str, RawTable]:
    """Return every contract sheet present in the workbook, by contract sheet name.

    Sheet names and headers match case-insensitively, ignoring surrounding spaces; other
    sheets and columns are ignored. Raises InputError if the file cannot be read.
    """
    wb = _open(path)
    try:
        present = {_normalise(name): name for name in wb.sheetnames}
        return {
            sheet.name: _read_table(wb[present[sheet.name]], sheet)
            for sheet in SHEETS
            if sheet.name in present
        }
    finally:
        wb.close()


_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _header_comment(column: Column) -> str:
    unit = f" Unit: {column.unit}." if column.unit else ""
    return f"{column.doc}{unit} Default: {column.default_text()}."


def write_template(path: Path) -> None:
    """Write an empty input workbook with every contract sheet, its headers and an example row.

    Each header cell carries a comment with the column's meaning, unit and default.
    """
    wb = openpyxl.Workbook()
    readme = wb.active
    readme.title = "README"
    readme.append(["etslink input workbook. One header row per sheet, one record per row."])
    readme.append(
        [
            "Hover over a header for its meaning, unit and default. "
            "Quantities in MtCO2e, prices in CUR per tCO2e."
        ]
    )
    for sheet in SHEETS:
        ws = wb.create_sheet(sheet.name)
        ws.append([c.name for c in sheet.columns])
        for index, column in enumerate(sheet.columns, start=1):
            cell = ws.cell(row=1, column=index)
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
            cell.comment = Comment(_header_comment(column), "etslink")
            ws.column_dimensions[get_column_letter(index)].width = max(14, len(column.name) + 2)
        for example in sheet.examples:
            ws.append(list(example))
        ws.freeze_panes = "A2"
    wb.save(path)


def write_workbook(path: Path, tables: dict[str, list[dict[str, object]]]) -> None:
    """Write an input workbook from records (sheet name -> rows of column -> value).

    The columns of each sheet are those of the contract that appear in any of its rows.
    """
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in tables.items():
        ws = wb.create_sheet(name)
        columns = [
            c.name
            for c in next(s for s in SHEETS if s.name == name).columns
            if any(c.name in row for row in rows)
        ]
        ws.append(columns)
        for row in rows:
            ws.append([row.get(c) for c in columns])
    wb.save(path)
