"""Workbook input: read sheets into raw tables that keep Excel row numbers; write the template.

Input workbooks are .xlsx (Excel) or .ods (LibreOffice Calc, OpenDocument); both are read
with the same checks and give the same cell references. Cell values come from
python-calamine, which reads a sheet about twenty times faster than openpyxl. What calamine
does not report (formula cells, error values such as #DIV/0!, and an .ods file's merged
cells) is read from the file's XML, and only when a quick look at that XML finds any. .xlsx
files that calamine cannot read go through openpyxl as before, so that their messages do
not change. The template is written as .xlsx.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import posixpath
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

import python_calamine

from etslink.core.checking import RawRow, RawTable, RawWorkbook
from etslink.errors import InputError, Issue
from etslink.inputs.schema import SETTINGS_KEYS, SHEETS, Column, Sheet
from etslink.inputs.schema import sheet as sheet_named

if TYPE_CHECKING:
    import openpyxl


Position = tuple[int, int]
"""A cell's Excel row and column number, both counted from 1."""

Block = tuple[int, int, int, int]
"""First row, first column, last row and last column of a block of cells."""

# openpyxl is imported only where a file needs it (about 0.1 s, with Pillow): the readers of
# files that calamine cannot read and the writers. The helpers below do its cell names.

XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
"""The files calamine reads first: those openpyxl reads (its SUPPORTED_FORMATS)."""
_CELL_NAME = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


def column_letter(index: int) -> str:
    """Return the letters of a column from its number (from 1), e.g. 28 -> "AB"."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column_number(letters: str) -> int:
    """Return the number (from 1) of a column from its letters, e.g. "AB" -> 28."""
    number = 0
    for letter in letters:
        number = 26 * number + ord(letter) - ord("A") + 1
    return number


def _cell_position(name: str) -> Position:
    """Return the (row, column) of a cell from its name, e.g. "B3" -> (3, 2)."""
    match = _CELL_NAME.fullmatch(name)
    if match is None:
        msg = f"{name!r} is not a cell name"
        raise ValueError(msg)
    return int(match[2]), _column_number(match[1].upper())


@dataclass
class _Cells:
    """One sheet's cells as read, by whichever library read them.

    `rows[i]` holds the values of Excel row i + 1 from column A on; rows may differ in
    length. Values are as openpyxl gives them: None for a blank, int for a whole number.
    """

    hidden: bool
    rows: list[list[object]]
    merged: list[Block]
    formulas: set[Position]
    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)


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
    suffix = path.suffix.lower()
    if suffix in {".xls", ".xlsb", ".csv"}:
        problem = f'"{path.name}" is not an .xlsx workbook (nor an .ods one)'
        fix = "open it in Excel and save it as Excel Workbook (.xlsx), or in LibreOffice as .ods"
        raise _unreadable(path, problem, fix)
    with path.open("rb") as handle:
        if handle.read(8) == _OLE_SIGNATURE:
            problem = f'"{path.name}" is password-protected or is an old .xls file with a new name'
            fix = (
                "open it in Excel, remove the password (File > Info > Protect Workbook) and "
                "save it as Excel Workbook (.xlsx)"
            )
            raise _unreadable(path, problem, fix)


def _contract_titles(titles: list[str]) -> dict[str, str]:
    """Return the title of each contract sheet present, by contract sheet name."""
    present = {_normalise(title): title for title in titles}
    return {s.name: present[s.name] for s in SHEETS if s.name in present}


# Reading with calamine, and the few things it does not report.

_BELOW_EXPONENT_FORM = 1e16
"""Writers store whole numbers below this as plain digits, which openpyxl reads as int."""

_CALAMINE_FAILURES = (
    python_calamine.CalamineError,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    OverflowError,  # e.g. a duration beyond what Python's timedelta holds
    ElementTree.ParseError,
    OSError,
)
"""What reading with calamine may raise; openpyxl then reads the file, or says why not."""

_TAG_F = re.compile(rb"f[\s/>]")


def _local(name: str) -> str:
    """Return an XML tag or attribute name without its namespace."""
    return name.rpartition("}")[2]


def _calamine_value(value: object) -> object:
    """Return a value from calamine as openpyxl gives it.

    Calamine returns "" for a blank cell, a float for every number and a date for a
    midnight date-time; openpyxl returns None, an int for whole numbers, and a datetime.
    """
    if type(value) is float:
        whole = value.is_integer() and abs(value) < _BELOW_EXPONENT_FORM
        return int(value) if whole else value
    if value == "":
        return None
    if type(value) is dt.date:
        return dt.datetime.combine(value, dt.time())
    return value


def as_read(value: object) -> object:
    """Return a value as the reader gives a cell that holds it.

    None for a blank, an int for a whole number, a datetime for a date, text stripped
    (blank text is None): what `etslink.Workbook` makes of its tables' values.
    """
    return _clean(_calamine_value(value))


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Return the zip member that holds each sheet, by sheet title."""
    package = ElementTree.fromstring(archive.read("_rels/.rels"))
    book = next(
        (
            _part("", rel.get("Target", ""))
            for rel in package
            if rel.get("Type", "").endswith("/officeDocument")
        ),
        "xl/workbook.xml",
    )
    folder, name = posixpath.split(book)
    rels = ElementTree.fromstring(archive.read(f"{folder}/_rels/{name}.rels"))
    targets = {rel.get("Id"): _part(folder, rel.get("Target", "")) for rel in rels}
    return {
        str(sheet.get("name")): targets[_rel_id(sheet)]
        for sheet in ElementTree.fromstring(archive.read(book)).iter()
        if _local(sheet.tag) == "sheet"
    }


def _part(folder: str, target: str) -> str:
    """Return the zip member a relationship target names, relative to `folder`."""
    if target.startswith("/"):
        return target[1:]
    return posixpath.normpath(posixpath.join(folder, target))


def _rel_id(sheet: ElementTree.Element) -> str | None:
    return next((v for k, v in sheet.attrib.items() if _local(k) == "id"), None)


def _may_hold_formulas_or_errors(xml: bytes) -> bool:
    """Return False if a sheet's XML surely holds no formula and no error value.

    A quick look for an `<f` tag or a `t="e"` attribute, which few sheets have; any other
    text that happens to look alike only costs the full scan.
    """
    if b'"e"' in xml or b"'e'" in xml:
        return True
    return any(xml[m.start() - 1 : m.start()] in (b"<", b":") for m in _TAG_F.finditer(xml))


def _scan_cells(xml: bytes) -> tuple[set[Position], dict[Position, str]]:
    """Return the formula cells and the error values (e.g. "#DIV/0!") of a sheet's XML.

    Cells are placed as openpyxl places them: by their `r` attribute, else one column to
    the right of the previous cell of the row.
    """
    formulas: set[Position] = set()
    errors: dict[Position, str] = {}
    row = column = 0
    for event, element in ElementTree.iterparse(io.BytesIO(xml), events=("start", "end")):
        tag = _local(element.tag)
        if event == "start" and tag == "row":
            row, column = int(element.get("r") or row + 1), 0
        elif event == "end" and tag == "c":
            ref = element.get("r")
            position = _cell_position(ref) if ref else (row, column + 1)
            column = position[1]
            if any(_local(child.tag) == "f" for child in element):
                formulas.add(position)
            if element.get("t") == "e":
                value = next((c.text for c in element if _local(c.tag) == "v"), None)
                if value:
                    errors[position] = value
            element.clear()
        elif event == "end" and tag == "row":
            element.clear()
    return formulas, errors


def _set(rows: list[list[object]], position: Position, value: object) -> None:
    """Set one cell of `rows`, lengthening the rows as needed."""
    row, column = position
    rows.extend([] for _ in range(row - len(rows)))
    cells = rows[row - 1]
    cells.extend(None for _ in range(column - len(cells)))
    cells[column - 1] = value


def _blank_merged(rows: list[list[object]], merged: list[Block]) -> None:
    """Blank every cell of a merged range but its top-left one, as openpyxl does."""
    for first_row, first_col, last_row, last_col in merged:
        for row, cells in enumerate(rows[first_row - 1 : last_row], start=first_row):
            for col in range(first_col, min(last_col, len(cells)) + 1):
                if (row, col) != (first_row, first_col):
                    cells[col - 1] = None


@dataclass
class _Marks:
    """What a sheet's XML holds beyond calamine's values.

    Formulas, errors, merged blocks, hidden rows and hidden columns (numbered from 1).
    """

    formulas: set[Position] = field(default_factory=set)
    errors: dict[Position, str] = field(default_factory=dict)
    merged: list[Block] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)


_ROW_OR_COL = re.compile(rb"<(?:\w+:)?(row|col)\b([^>]*)>")
_ATTRIBUTE = re.compile(rb'(\w+)="([^"]*)"')


def _hidden_rows_and_columns(xml: bytes) -> tuple[set[int], set[int]]:
    """Return the numbers of the rows and columns an .xlsx sheet's XML hides."""
    rows: set[int] = set()
    columns: set[int] = set()
    for tag in _ROW_OR_COL.finditer(xml):
        attributes = dict(_ATTRIBUTE.findall(tag.group(2)))
        if attributes.get(b"hidden") not in (b"1", b"true"):
            continue
        if tag.group(1) == b"row" and b"r" in attributes:
            rows.add(int(attributes[b"r"]))
        elif tag.group(1) == b"col":
            columns.update(range(int(attributes[b"min"]), int(attributes[b"max"]) + 1))
    return rows, columns


def _cells(sheet: python_calamine.CalamineSheet, marks: _Marks, hidden: bool) -> _Cells:
    """Return a sheet's values from calamine, completed with what its XML holds."""
    rows = [[_calamine_value(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
    for position, error in marks.errors.items():
        _set(rows, position, error)
    rows.extend([] for _ in range(max((r for r, _ in marks.formulas), default=0) - len(rows)))
    _blank_merged(rows, marks.merged)
    return _Cells(
        hidden, rows, marks.merged, marks.formulas, marks.hidden_rows, marks.hidden_columns
    )


def _hidden_titles(book: python_calamine.CalamineWorkbook) -> set[str]:
    visible = python_calamine.SheetVisibleEnum.Visible
    return {s.name for s in book.sheets_metadata if s.visible != visible}


def _xlsx_marks(sheet: python_calamine.CalamineSheet, xml: bytes) -> _Marks:
    """Return the formulas and errors of an .xlsx sheet's XML, and its merged blocks."""
    marks = _Marks()
    if _may_hold_formulas_or_errors(xml):
        marks.formulas, marks.errors = _scan_cells(xml)
    marks.merged = [
        (first[0] + 1, first[1] + 1, last[0] + 1, last[1] + 1)
        for first, last in sheet.merged_cell_ranges or []
    ]
    if b"hidden" in xml:
        marks.hidden_rows, marks.hidden_columns = _hidden_rows_and_columns(xml)
    return marks


def _read_fast(path: Path) -> tuple[list[str], dict[str, _Cells]]:
    """Return the sheet titles and the cells of each contract sheet of an .xlsx file."""
    with python_calamine.CalamineWorkbook.from_path(path) as book, zipfile.ZipFile(path) as zf:
        titles = list(book.sheet_names)
        contract = _contract_titles(titles)
        parts = _sheet_parts(zf) if contract else {}
        hidden = _hidden_titles(book)
        cells = {}
        for name, title in contract.items():
            sheet = book.get_sheet_by_name(title)
            marks = _xlsx_marks(sheet, zf.read(parts[title]))
            cells[name] = _cells(sheet, marks, title in hidden)
    return titles, cells


# Reading .ods files: values and hidden sheets from calamine, the rest from content.xml.

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
_ODS_CELLS = {f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"}
_ODS_HINTS = (b"formula=", b"spanned=", b'"error"')
"""Bytes that content.xml holds if any cell has a formula, spans a block or shows an error."""


def _count(element: ElementTree.Element, attribute: str) -> int:
    """Return an ODF repeat or span count (1 when absent)."""
    return int(element.get(f"{_TABLE}{attribute}", "1"))


@dataclass
class _OdsRow:
    """The marked cells of one `table:table-row` element, which may stand for several rows."""

    row: int
    repeated: int
    column: int = 0
    found: list[tuple[int, int, ElementTree.Element]] = field(default_factory=list)

    def add_cell(self, cell: ElementTree.Element) -> None:
        """Note a cell (or run of repeated cells) that holds a formula, an error or a span."""
        repeated = _count(cell, "number-columns-repeated")
        if _formula(cell) or _error(cell) or _span(cell) != (1, 1):
            self.found.append((self.column + 1, repeated, cell))
        self.column += repeated

    def mark(self, marks: _Marks) -> None:
        """Record the noted cells in `marks`, once per row the element stands for."""
        for row in range(self.row, self.row + self.repeated):
            for first, repeated, cell in self.found:
                for column in range(first, first + repeated):
                    _mark_cell(marks, cell, (row, column))


def _formula(cell: ElementTree.Element) -> bool:
    return f"{_TABLE}formula" in cell.attrib


def _error(cell: ElementTree.Element) -> bool:
    """Return True for an error value, e.g. #DIV/0! (as LibreOffice marks it)."""
    return cell.get(f"{_CALCEXT}value-type") == "error"


def _span(cell: ElementTree.Element) -> tuple[int, int]:
    """Return the rows and columns a cell spans: (1, 1) unless it is a merged block."""
    return _count(cell, "number-rows-spanned"), _count(cell, "number-columns-spanned")


def _mark_cell(marks: _Marks, cell: ElementTree.Element, position: Position) -> None:
    if _formula(cell):
        marks.formulas.add(position)
    if _error(cell):
        marks.errors[position] = "".join(cell.itertext()).strip()
    rows, columns = _span(cell)
    if (rows, columns) != (1, 1):
        row, column = position
        marks.merged.append((row, column, row + rows - 1, column + columns - 1))


def _scan_ods(content: bytes, titles: set[str]) -> dict[str, _Marks]:
    """Return the formulas, errors and merged blocks of the named sheets of content.xml.

    Rows and cells are counted as ODF lays them out: each `table:table-row` and cell element
    stands for as many rows or columns as it repeats; covered cells take their place too.
    """
    marks: dict[str, _Marks] = {}
    sheet: _Marks | None = None
    current: _OdsRow | None = None
    depth, row = 0, 1  # depth > 1 inside a table nested in a cell, which is not counted
    for event, element in ElementTree.iterparse(io.BytesIO(content), events=("start", "end")):
        tag = element.tag
        if tag == f"{_TABLE}table":
            depth += 1 if event == "start" else -1
            if event == "start" and depth == 1:
                title = element.get(f"{_TABLE}name", "")
                sheet = marks.setdefault(title, _Marks()) if title in titles else None
                row = 1
        elif depth != 1:
            continue
        elif tag == f"{_TABLE}table-row" and event == "start":
            current = _OdsRow(row, _count(element, "number-rows-repeated"))
        elif tag in _ODS_CELLS and event == "end" and current is not None:
            current.add_cell(element)
        elif tag == f"{_TABLE}table-row" and event == "end" and current is not None:
            if sheet is not None:
                current.mark(sheet)
            row, current = row + current.repeated, None
            element.clear()
    return marks


def _read_ods(path: Path) -> tuple[list[str], dict[str, _Cells]]:
    """Return the sheet titles and the cells of each contract sheet of an .ods file."""
    try:
        with python_calamine.CalamineWorkbook.from_path(path) as book:
            titles = list(book.sheet_names)
            contract = _contract_titles(titles)
            marks: dict[str, _Marks] = {}
            if contract:
                with zipfile.ZipFile(path) as zf:
                    content = zf.read("content.xml")
                if any(hint in content for hint in _ODS_HINTS):
                    marks = _scan_ods(content, set(contract.values()))
            hidden = _hidden_titles(book)
            cells = {
                name: _cells(
                    book.get_sheet_by_name(title), marks.get(title, _Marks()), title in hidden
                )
                for name, title in contract.items()
            }
    except _CALAMINE_FAILURES as exc:
        problem = (
            f'"{path.name}" cannot be read as an .ods workbook: it is damaged, '
            "password-protected or another kind of file with an .ods name"
        )
        fix = (
            "open it in LibreOffice Calc, remove any password (File > Properties > Security) "
            "and save it as .ods"
        )
        raise _unreadable(path, problem, fix) from exc
    return titles, cells


# Reading with openpyxl, for files that calamine cannot read.


def _open(path: Path, *, data_only: bool, read_only: bool) -> openpyxl.Workbook:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return openpyxl.load_workbook(path, read_only=read_only, data_only=data_only)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        problem = f'"{path.name}" cannot be read as an .xlsx workbook (it is damaged or not one)'
        fix = "open it in Excel, remove any password and save it as Excel Workbook (.xlsx)"
        raise _unreadable(path, problem, fix) from exc


def _is_formula(value: object) -> bool:
    return (isinstance(value, str) and value.startswith("=")) or type(value).__name__ in (
        "ArrayFormula",
        "DataTableFormula",
    )


def _formula_cells(path: Path, sheet_names: dict[str, str]) -> dict[str, set[Position]]:
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


_log = logging.getLogger(__name__)


@contextlib.contextmanager
def _warnings_to_log() -> Iterator[None]:
    """Send openpyxl's warnings to the log (at INFO), never to the terminal.

    They concern cells that the checks then report with a fix, e.g. a date beyond what
    Python holds, which reads as #VALUE!.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for message in dict.fromkeys(str(warning.message) for warning in caught):
        _log.info("openpyxl: %s", message)


def _read_with_openpyxl(path: Path) -> tuple[list[str], dict[str, _Cells]]:
    """Return the sheet titles and the cells of each contract sheet, read with openpyxl."""
    with _warnings_to_log():
        wb = _open(path, data_only=True, read_only=False)
        try:
            contract = _contract_titles(wb.sheetnames)
            formulas = _formula_cells(path, contract)
            cells = {}
            for name, title in contract.items():
                ws = wb[title]
                cells[name] = _Cells(
                    ws.sheet_state != "visible",
                    [list(row) for row in ws.iter_rows(values_only=True)],
                    [(m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges],
                    formulas[name],
                    {r for r, d in ws.row_dimensions.items() if d.hidden},
                    {
                        c
                        for d in ws.column_dimensions.values()
                        if d.hidden and d.min is not None and d.max is not None
                        for c in range(d.min, d.max + 1)
                    },
                )
            return wb.sheetnames, cells
        finally:
            wb.close()


def _read_cells(path: Path) -> tuple[list[str], dict[str, _Cells]]:
    """Return the sheet titles and the cells of each contract sheet."""
    if path.suffix.lower() == ".ods":
        return _read_ods(path)
    if path.suffix.lower() not in XLSX_SUFFIXES:
        return _read_with_openpyxl(path)  # which refuses it with its usual message
    try:
        return _read_fast(path)
    except _CALAMINE_FAILURES:
        return _read_with_openpyxl(path)  # which reads it or says why it cannot


# From cells to raw tables.


@dataclass(frozen=True)
class _Program:
    """Where the analyst finds the menu items that a layout problem's fix names."""

    name: str
    unhide: str
    unmerge: str
    recalculate: str


_EXCEL = _Program(
    "Excel",
    "right-click a sheet tab > Unhide",
    "Home > Merge & Center",
    "open the workbook in Excel, let it calculate, and save it",
)
_CALC = _Program(
    "LibreOffice Calc",
    "right-click a sheet tab > Show Sheet",
    "Format > Merge and Unmerge Cells > Unmerge Cells",
    "open the workbook in LibreOffice Calc, recalculate it (Data > Calculate > "
    "Recalculate Hard) and save it",
)


def _read_header(table: RawTable, header: list[object]) -> None:
    by_name = {c.name.lower(): c.name for c in table.sheet.columns}
    for index, title in enumerate(header, start=1):
        name = by_name.get(_normalise(title))
        if name is not None and name in table.letters:
            letter = column_letter(index)
            table.flag(
                1,
                f"{letter}1",
                name,
                f"the header {name} appears twice (columns {table.letters[name]} and {letter}); "
                "only one could be read",
                "delete or rename one of the two columns",
            )
        elif name is not None:
            table.letters[name] = column_letter(index)
        elif title is not None:
            table.other_headers.append(str(title).strip())


def _flag_formula(table: RawTable, excel_row: int, name: str, program: _Program) -> None:
    table.formula_cells.add((excel_row, name))
    table.flag(
        excel_row,
        table.cell(name, excel_row),
        name,
        "the cell holds a formula with no stored value (the workbook was "
        f"written by a program and never opened in {program.name})",
        program.recalculate,
    )


def _read_rows(table: RawTable, cells: _Cells, program: _Program) -> None:
    positions = {name: _column_number(letter) for name, letter in table.letters.items()}
    blank_since: int | None = None
    for excel_row, row in enumerate(cells.rows[1:], start=2):
        values = {
            name: _clean(row[pos - 1]) if pos <= len(row) else None
            for name, pos in positions.items()
        }
        for name, pos in positions.items():
            if values[name] is None and (excel_row, pos) in cells.formulas:
                _flag_formula(table, excel_row, name, program)
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


def _block_ref(block: Block) -> str:
    """Return the Excel reference of a block of cells, e.g. "C2:C3" (or "C2" for one cell)."""
    first_row, first_col, last_row, last_col = block
    first = f"{column_letter(first_col)}{first_row}"
    if (first_row, first_col) == (last_row, last_col):
        return first
    return f"{first}:{column_letter(last_col)}{last_row}"


def _flag_layout(table: RawTable, cells: _Cells, program: _Program) -> None:
    if cells.hidden:
        table.flag(
            None,
            "",
            "",
            "the sheet is hidden, so its data is easy to overlook",
            f"unhide it ({program.unhide}) or delete it",
        )
    columns = {_column_number(letter) for letter in table.letters.values()}
    last_row = max((r.row for r in table.rows), default=1)
    _flag_hidden_rows_and_columns(table, cells, columns)
    for block in cells.merged:
        first_row, first_col, _, last_col = block
        if first_row <= last_row and columns.intersection(range(first_col, last_col + 1)):
            ref = _block_ref(block)
            table.flag(
                first_row,
                ref,
                "",
                f"cells {ref} are merged",
                f"unmerge them ({program.unmerge}) and fill in every cell",
            )


def _flag_hidden_rows_and_columns(table: RawTable, cells: _Cells, columns: set[int]) -> None:
    """Flag hidden rows that hold data and hidden columns the contract reads.

    They are read like any other, so their data is as easy to overlook as a hidden sheet's.
    """
    data_rows = {r.row for r in table.rows}
    for row in sorted(cells.hidden_rows & data_rows):
        table.flag(
            row,
            f"{row}:{row}",
            "",
            f"row {row} is hidden but holds data, which is read",
            "unhide the row (select the rows around it, right-click > Unhide) or delete it",
        )
    for column in sorted(cells.hidden_columns & columns):
        letter = column_letter(column)
        name = next(n for n, v in table.letters.items() if v == letter)
        table.flag(
            None,
            f"{letter}:{letter}",
            name,
            f"column {letter} ({name}) is hidden but is read",
            "unhide the column (select the columns around it, right-click > Unhide)",
        )


def _read_table(cells: _Cells, sheet: Sheet, program: _Program) -> RawTable:
    empty = not cells.formulas and all(_clean(v) is None for row in cells.rows for v in row)
    table = RawTable(sheet, empty=empty)
    _read_header(table, cells.rows[0] if cells.rows else [])
    _read_rows(table, cells, program)
    _flag_layout(table, cells, program)
    return table


def read_workbook(path: Path) -> RawWorkbook:
    """Return every contract sheet of an .xlsx or .ods workbook, by contract sheet name.

    Sheet names and headers match case-insensitively, ignoring surrounding spaces; other
    sheets and columns are ignored. Raises InputError if the file cannot be read.
    """
    _check_file(path)
    titles, cells = _read_cells(path)
    contract = _contract_titles(titles)
    program = _CALC if path.suffix.lower() == ".ods" else _EXCEL
    tables = {name: _read_table(cells[name], sheet_named(name), program) for name in contract}
    others = [title for title in titles if title not in contract.values()]
    return RawWorkbook(tables, others)


HEADER_FILL = "DDEBF7"
"""Background colour of the template's headers."""


def _header_comment(column: Column) -> str:
    unit = f" Unit: {column.unit}." if column.unit else ""
    return f"{column.doc}{unit} Default: {column.default_text()}."


TEMPLATE_ROWS = 500
"""Rows of each template sheet that carry dropdown lists."""


def _write_readme(ws: Any) -> None:
    from openpyxl.styles import Font

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
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    ws.append([c.name for c in spec.columns])
    for index, column in enumerate(spec.columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        cell.comment = Comment(_header_comment(column), "etslink")
        letter = column_letter(index)
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
    import openpyxl

    wb = openpyxl.Workbook()
    _write_readme(wb.active)
    for spec in SHEETS:
        _write_template_sheet(wb.create_sheet(spec.name), spec)
    wb.save(path)


def write_workbook(
    path: Path,
    tables: dict[str, list[dict[str, object]]],
    headers: dict[str, list[str]] | None = None,
) -> None:
    """Write an input workbook from records (sheet name -> rows of column -> value).

    The columns of each sheet are `headers[sheet]` where given, else those of the contract
    that appear in any of its rows, in contract order.
    """
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in tables.items():
        ws = wb.create_sheet(name)
        columns = (headers or {}).get(name) or [
            c.name for c in sheet_named(name).columns if any(c.name in row for row in rows)
        ]
        ws.append(columns)
        for row in rows:
            ws.append([row.get(c) for c in columns])
    wb.save(path)
