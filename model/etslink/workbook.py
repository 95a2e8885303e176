"""Excel input: read sheets into raw tables that keep Excel row numbers; write the template."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from etslink.errors import InputError, Issue
from etslink.schema import SETTINGS_KEYS, SHEETS, Column, Sheet
from etslink.schema import sheet as sheet_named


@dataclass(frozen=True)
class RawRow:
    """One data row: its Excel row number and its cells by contract column name."""

    row: int
    values: dict[str, object]


@dataclass
class RawTable:
    """One input sheet as read: its columns' letters, data rows and layout problems.

    Layout problems are a hidden sheet, merged cells, blank rows and formulas with no value.
    """

    sheet: Sheet
    letters: dict[str, str] = field(default_factory=dict)
    rows: list[RawRow] = field(default_factory=list)
    other_headers: list[str] = field(default_factory=list)
    problems: list[Issue] = field(default_factory=list)
    formula_cells: set[tuple[int, str]] = field(default_factory=set)

    def cell(self, column: str, row: int) -> str:
        """Return the Excel reference of `column` in Excel row `row`, e.g. "D7".

        Returns "" when the sheet has no such column (the message then names the row).
        """
        return f"{self.letters[column]}{row}" if column in self.letters else ""

    def flag(self, row: int | None, cell: str, column: str, problem: str, fix: str) -> None:
        """Record a layout problem of this sheet."""
        self.problems.append(Issue(self.sheet.name, row, cell, column, problem, fix))


@dataclass
class RawWorkbook:
    """The contract sheets found in a workbook, and the names of its other sheets."""

    tables: dict[str, RawTable]
    other_sheets: list[str]


_OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # encrypted .xlsx and legacy .xls files


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


def _check_file(path: Path) -> None:
    if not path.is_file():
        problem = f'the file "{path}" does not exist'
        raise _unreadable(path, problem, "check the path and the file name")
    if path.suffix.lower() in {".xls", ".xlsb", ".ods", ".csv"}:
        problem = f'"{path.name}" is not an .xlsx workbook'
        raise _unreadable(path, problem, "open it in Excel and save it as Excel Workbook (.xlsx)")
    with path.open("rb") as handle:
        if handle.read(8) == _OLE_SIGNATURE:
            problem = (
                f'"{path.name}" is password-protected or is an old .xls file with an .xlsx name'
            )
            fix = (
                "open it in Excel, remove the password (File > Info > Protect Workbook) and "
                "save it as Excel Workbook (.xlsx)"
            )
            raise _unreadable(path, problem, fix)


def _open(path: Path, *, data_only: bool, read_only: bool) -> openpyxl.Workbook:
    try:
        return openpyxl.load_workbook(path, read_only=read_only, data_only=data_only)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        problem = f'"{path.name}" cannot be read as an .xlsx workbook ({type(exc).__name__})'
        fix = "open it in Excel, remove any password and save it as Excel Workbook (.xlsx)"
        raise _unreadable(path, problem, fix) from exc


def _is_formula(value: object) -> bool:
    return (isinstance(value, str) and value.startswith("=")) or type(value).__name__ in (
        "ArrayFormula",
        "DataTableFormula",
    )


def _formula_cells(path: Path, sheet_names: dict[str, str]) -> dict[str, set[tuple[int, int]]]:
    """Return, per contract sheet, the (row, column index) of every formula cell."""
    wb = _open(path, data_only=False, read_only=True)
    try:
        return {
            name: {
                (cell.row, cell.column)
                for row in wb[title].iter_rows()
                for cell in row
                if _is_formula(getattr(cell, "value", None))
            }
            for name, title in sheet_names.items()
        }
    finally:
        wb.close()


def _read_header(table: RawTable, header: tuple[object, ...]) -> None:
    by_name = {c.name.lower(): c.name for c in table.sheet.columns}
    for index, title in enumerate(header, start=1):
        name = by_name.get(_normalise(title))
        if name is not None and name not in table.letters:
            table.letters[name] = get_column_letter(index)
        elif title is not None:
            table.other_headers.append(str(title).strip())


def _read_table(ws: Any, sheet: Sheet, formulas: set[tuple[int, int]]) -> RawTable:
    table = RawTable(sheet)
    rows = ws.iter_rows(values_only=True)
    _read_header(table, next(rows, ()))
    positions = {name: column_index_from_string(letter) for name, letter in table.letters.items()}
    blank_since: int | None = None
    for excel_row, cells in enumerate(rows, start=2):
        values = {
            name: _clean(cells[pos - 1]) if pos <= len(cells) else None
            for name, pos in positions.items()
        }
        for name, pos in positions.items():
            if values[name] is None and (excel_row, pos) in formulas:
                table.formula_cells.add((excel_row, name))
                table.flag(
                    excel_row,
                    table.cell(name, excel_row),
                    name,
                    "the cell holds a formula with no stored value (the workbook was "
                    "written by a program and never opened in Excel)",
                    "open the workbook in Excel, let it calculate, and save it",
                )
        if all(v is None for v in values.values()):
            blank_since = blank_since or excel_row
            continue
        if blank_since is not None:
            table.flag(
                blank_since,
                "",
                "",
                f"row {blank_since} is blank but rows below it hold data",
                "delete the blank row(s) so that the table has no gaps",
            )
            blank_since = None
        table.rows.append(RawRow(excel_row, values))
    _flag_layout(ws, table)
    return table


def _flag_layout(ws: Any, table: RawTable) -> None:
    if ws.sheet_state != "visible":
        table.flag(
            None,
            "",
            "",
            "the sheet is hidden, so its data is easy to overlook",
            "unhide it (right-click a sheet tab > Unhide) or delete it",
        )
    columns = {column_index_from_string(letter) for letter in table.letters.values()}
    last_row = max((r.row for r in table.rows), default=1)
    for merged in ws.merged_cells.ranges:
        spans = range(merged.min_col, merged.max_col + 1)
        if merged.min_row <= last_row and columns.intersection(spans):
            table.flag(
                merged.min_row,
                merged.coord,
                "",
                f"cells {merged.coord} are merged",
                "unmerge them (Home > Merge & Center) and fill in every cell",
            )


def read_workbook(path: Path) -> RawWorkbook:
    """Return every contract sheet of the workbook, by contract sheet name.

    Sheet names and headers match case-insensitively, ignoring surrounding spaces; other
    sheets and columns are ignored. Raises InputError if the file cannot be read.
    """
    _check_file(path)
    wb = _open(path, data_only=True, read_only=False)
    try:
        present = {_normalise(name): name for name in wb.sheetnames}
        contract = {s.name: present[s.name] for s in SHEETS if s.name in present}
        formulas = _formula_cells(path, contract)
        tables = {
            name: _read_table(wb[title], sheet_named(name), formulas[name])
            for name, title in contract.items()
        }
        others = [title for title in wb.sheetnames if title not in contract.values()]
        return RawWorkbook(tables, others)
    finally:
        wb.close()


_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _header_comment(column: Column) -> str:
    unit = f" Unit: {column.unit}." if column.unit else ""
    return f"{column.doc}{unit} Default: {column.default_text()}."


TEMPLATE_ROWS = 500
"""Rows of each template sheet that carry dropdown lists."""


def _write_readme(ws: Any) -> None:
    ws.title = "README"
    ws.append(["etslink input workbook"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(
        [
            "One header row per sheet, one record per row, no merged cells. Hover over a "
            "header for its meaning, unit and default. Quantities in MtCO2e, prices in the "
            "currency of settings per tCO2e. This sheet is ignored by etslink."
        ]
    )
    ws.append([])
    ws.append(["sheet", "required", "one row per"])
    for spec in SHEETS:
        ws.append([spec.name, "yes" if spec.required else "no", spec.doc])
    ws.append([])
    ws.append(["settings key", "default", "meaning"])
    for key in SETTINGS_KEYS:
        ws.append([key.name, key.default_text(), key.doc])
    for row in ws.iter_rows():
        if row[0].value in ("sheet", "settings key"):
            for cell in row:
                cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 18
    ws.column_dimensions["C"].width = 100


def _dropdown(column: Column) -> str | None:
    """Return the list formula of a column's dropdown, or None."""
    id_lists = {"system": "systems", "offset_type": "offsets"}
    if column.ref in id_lists:
        return f"{id_lists[column.ref]}!$A$2:$A${TEMPLATE_ROWS}"
    if column.choices:
        return '"' + ",".join(column.choices) + '"'
    return None


def _write_template_sheet(ws: Any, spec: Sheet) -> None:
    ws.append([c.name for c in spec.columns])
    for index, column in enumerate(spec.columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.comment = Comment(_header_comment(column), "etslink")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(14, len(column.name) + 2)
        formula = _dropdown(column)
        if formula:
            rule = DataValidation(type="list", formula1=formula, allow_blank=True)
            rule.error = f"Choose a value from the list ({column.doc})"
            rule.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
            ws.add_data_validation(rule)
    for example in spec.examples:
        ws.append(list(example))
    ws.freeze_panes = "A2"


def write_template(path: Path) -> None:
    """Write an input workbook an analyst can fill in without the docs.

    A README sheet, then every contract sheet with its headers (each with a comment giving
    meaning, unit and default), dropdown lists for ids and choices, and example rows that
    validate together.
    """
    wb = openpyxl.Workbook()
    _write_readme(wb.active)
    for spec in SHEETS:
        _write_template_sheet(wb.create_sheet(spec.name), spec)
    wb.save(path)


def write_workbook(path: Path, tables: dict[str, list[dict[str, object]]]) -> None:
    """Write an input workbook from records (sheet name -> rows of column -> value).

    The columns of each sheet are those of the contract that appear in any of its rows.
    """
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in tables.items():
        ws = wb.create_sheet(name)
        columns = [c.name for c in sheet_named(name).columns if any(c.name in row for row in rows)]
        ws.append(columns)
        for row in rows:
            ws.append([row.get(c) for c in columns])
    wb.save(path)
