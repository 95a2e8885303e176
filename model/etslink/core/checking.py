"""What every check of the inputs shares: the `Checker` that collects issues, typed cells.

`validate.py` runs the checks: those of the workbook as a whole there, each instrument's in
its module (instruments/), all with a `Checker` and the typed records of every sheet.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from etslink.core.sheet import NO_WORDS, YES_WORDS, Column, Sheet
from etslink.errors import Issue


@dataclass(frozen=True)
class RawRow:
    """One data row: its Excel row number and its cells by contract column name."""

    row: int
    values: dict[str, object]


@dataclass
class RawTable:
    """One input sheet as read: its columns' letters, data rows and layout problems.

    Layout problems are a hidden sheet, merged cells, blank rows and formulas with no value.
    `empty` is true when the sheet holds nothing at all: no header, no value, no formula.
    """

    sheet: Sheet
    letters: dict[str, str] = field(default_factory=dict)
    rows: list[RawRow] = field(default_factory=list)
    other_headers: list[str] = field(default_factory=list)
    problems: list[Issue] = field(default_factory=list)
    formula_cells: set[tuple[int, str]] = field(default_factory=set)
    empty: bool = False

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


Tables = Mapping[str, list["Record"]]
"""Every sheet's typed records, by sheet name ([] for an absent sheet)."""


Record = dict[str, Any]
"""A typed row: contract column name -> value, plus "_row" (the Excel row number)."""


_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


TOLERANCE_MtCO2e = 1e-9


def closest(value: str, options: Iterable[str]) -> str:
    """Return ' (did you mean "x"?)' for the option most like `value`, or ""."""
    matches = difflib.get_close_matches(value, list(options), n=1, cutoff=0.5)
    return f' (did you mean "{matches[0]}"?)' if matches else ""


def quote(value: object) -> str:
    """Return a cell value in double quotes, as messages show it."""
    return f'"{value}"'


def parse(column: Column, value: object) -> tuple[object, str | None]:
    """Return (typed value, None) or (None, problem) for one non-blank cell."""
    if column.kind == "text":
        if column.is_id and isinstance(value, int | float):
            return None, f"{value:g} is a number where an id is expected"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value), None
    if column.kind == "yesno":
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in (*YES_WORDS, *NO_WORDS):
            return (value if isinstance(value, bool) else text in YES_WORDS), None
        return None, f"{quote(value)} is not yes or no"
    if column.kind == "choice":
        text = str(value).strip().lower()
        if text in column.choices:
            return text, None
        return None, f"{quote(value)} is not one of {', '.join(column.choices)}"
    number = _number(value)
    if number is None:
        return None, f"{quote(value)} is not a number"
    if column.kind == "year":
        if not number.is_integer() or not 1900 <= number <= 2200:
            return None, f"{quote(value)} is not a whole year between 1900 and 2200"
        return int(number), None
    if column.kind == "integer":
        if not number.is_integer():
            return None, f"{quote(value)} is not a whole number"
        return int(number), _bounds_problem(column, number)
    return number, _bounds_problem(column, number)


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    plain_text = isinstance(value, str) and _PLAIN_NUMBER.match(value.strip())
    if isinstance(value, int | float) or plain_text:
        number = float(value)  # type: ignore[arg-type]
    else:
        return None
    return number if math.isfinite(number) else None


def _bounds_problem(column: Column, number: float) -> str | None:
    low, high = column.minimum, column.maximum
    if low is not None and (number < low or (column.exclusive_minimum and number == low)):
        relation = "above" if column.exclusive_minimum else "at least"
        return f"{number:g} is not allowed: it must be {relation} {low:g}"
    if high is not None and number > high:
        if high == 1.0 and number <= 100:
            return f"{number:g} looks like a percentage, but the column takes a fraction"
        return f"{number:g} is above the largest allowed value {high:g}"
    return None


def fix_for(column: Column) -> str:
    """Return what to type into a cell of `column` whose value could not be read."""
    if column.kind in ("number", "integer", "year"):
        unit = f" in {column.unit}" if column.unit else ""
        bounds = ""
        if column.maximum is not None and column.maximum <= 1:
            bounds = " as a fraction (5% = 0.05)"
        return (
            f"enter a plain number{unit}{bounds}, with a dot for decimals and no units or "
            "thousands separators, e.g. 12.5"
        )
    if column.kind == "yesno":
        return "enter yes or no"
    if column.kind == "choice":
        return f"enter one of {', '.join(column.choices)}"
    if column.is_id:
        return "enter the id as text, e.g. EU, and check that the columns are not shifted"
    return "enter a value"


class Checker:
    """Collects issues while typing the rows of one workbook."""

    def __init__(self, workbook: RawWorkbook) -> None:
        # an optional sheet left empty (no header, no rows) is as good as absent
        self.raw = {
            name: table
            for name, table in workbook.tables.items()
            if table.sheet.required or not table.empty
        }
        self.other_sheets = workbook.other_sheets
        self.issues: list[Issue] = [p for t in self.raw.values() for p in t.problems]
        self.warnings: list[Issue] = []

    def flag(self, table: RawTable, row: int | None, column: str, problem: str, fix: str) -> None:
        """Record an error at a cell (row None: the sheet or column as a whole)."""
        cell = table.cell(column, row) if row is not None and column else ""
        self.issues.append(Issue(table.sheet.name, row, cell, column, problem, fix))

    def warn(self, table: RawTable, row: int | None, column: str, problem: str, fix: str) -> None:
        """Record a warning at a cell: the run goes on."""
        cell = table.cell(column, row) if row is not None and column else ""
        self.warnings.append(Issue(table.sheet.name, row, cell, column, problem, fix))

    def present_tables(self, sheets: Iterable[Sheet]) -> dict[str, list[Record]]:
        """Return each sheet's typed rows ([] for an absent or unreadable sheet)."""
        tables: dict[str, list[Record]] = {}
        for spec in sheets:
            table = self.raw.get(spec.name)
            if table is None:
                if spec.required:
                    self.missing_sheet(spec)
                tables[spec.name] = []
                continue
            tables[spec.name] = self.typed_rows(table) if self.columns_ok(table) else []
        return tables

    def missing_sheet(self, spec: Sheet) -> None:
        """Record that a required sheet is missing, with its columns and any near name."""
        columns = ", ".join(c.name for c in spec.columns)
        problem = f"the sheet is missing{closest(spec.name, self.other_sheets)}"
        fix = f"add a sheet named {spec.name} (or rename one) with the columns {columns}"
        self.issues.append(Issue(spec.name, None, "", "", problem, fix))

    def columns_ok(self, table: RawTable) -> bool:
        """Return whether the sheet has every required header; record each missing one."""
        ok = True
        for column in table.sheet.columns:
            needed = column.required or column.header_required
            if needed and column.name not in table.letters:
                fix = f"add a header {column.name} in row 1"
                suggestion = closest(column.name, table.other_headers)
                if suggestion:
                    fix += f"{suggestion}: headers must match exactly (case aside)"
                self.issues.append(
                    Issue(table.sheet.name, None, "", column.name, "the column is missing", fix)
                )
                ok = False
        return ok

    def typed_rows(self, table: RawTable) -> list[Record]:
        """Return the sheet's rows as typed records."""
        return [self.typed_row(table, raw) for raw in table.rows]

    def typed_row(self, table: RawTable, raw: RawRow) -> Record:
        """Return one row as a typed record; record a problem for each unreadable cell."""
        record: Record = {"_row": raw.row}
        for column in table.sheet.columns:
            value = raw.values.get(column.name)
            if value is None:
                if column.required and (raw.row, column.name) not in table.formula_cells:
                    self.flag(
                        table,
                        raw.row,
                        column.name,
                        "the cell is blank",
                        f"fill it in: {column.doc[0].lower()}{column.doc[1:]}",
                    )
                record[column.name] = column.default
                continue
            typed, problem = parse(column, value)
            if problem:
                self.flag(table, raw.row, column.name, problem, fix_for(column))
            record[column.name] = typed
        return record


def model_years(tables: Tables) -> dict[str, set[int]]:
    """Return the years each system takes part in (its rows on sheet emissions)."""
    years: dict[str, set[int]] = defaultdict(set)
    for record in tables["emissions"]:
        years[record["system"]].add(record["year"])
    return years


class Periods:
    """Year spans already taken per key, to find rows whose years overlap."""

    def __init__(self) -> None:
        self.taken: dict[object, list[tuple[tuple[float, float], int]]] = defaultdict(list)

    def clash(self, key: object, record: Record) -> int | None:
        """Take the record's years for `key`; return the row they overlap, if any."""
        years = span(record)
        other = next((row for taken, row in self.taken[key] if overlap(years, taken)), None)
        self.taken[key].append((years, record["_row"]))
        return other


def span(record: Record) -> tuple[float, float]:
    """Return a row's first_year-last_year, blank ends open."""
    first, last = record.get("first_year"), record.get("last_year")
    return (-math.inf if first is None else first, math.inf if last is None else last)


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Return whether two spans of years share a year."""
    return a[0] <= b[1] and b[0] <= a[1]


def year_spans(years: list[int]) -> str:
    """Return years as spans, e.g. "2022-2024, 2026" (at most four, then how many more)."""
    spans: list[list[int]] = []
    for year in years:
        if spans and year == spans[-1][-1] + 1:
            spans[-1].append(year)
        else:
            spans.append([year])
    text = [f"{s[0]}" if len(s) == 1 else f"{s[0]}-{s[-1]}" for s in spans]
    more = f" and {len(text) - 4} more spans" if len(text) > 4 else ""
    return ", ".join(text[:4]) + more
