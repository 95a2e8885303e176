"""A workbook as pandas DataFrames that an analyst changes in Python (`etslink.Workbook`).

The tables come from the reader (`read_workbook`) or from records, and go back to the
checks as the reader's own `RawWorkbook`, so that tables changed in Python are validated and
solved exactly as a file is. A table read from a file keeps what locates its cells: its rows
are indexed by their Excel row numbers and its columns keep their letters, so that messages
name the file's cells. The file's layout problems (a hidden sheet, merged cells, a formula
with no value) and the names of its other sheets stay with the tables, which cannot show
them. `subset` keeps some systems and what belongs to them. Importing this module is light:
pandas and the reader are imported by the functions that use them.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etslink.errors import InputError, Issue
from etslink.inputs.schema import OFFSET_PARAMETERS, SHEETS, Sheet
from etslink.inputs.schema import sheet as sheet_named

if TYPE_CHECKING:
    import pandas as pd

    from etslink.core.checking import RawTable, RawWorkbook

COLUMNS = {spec.name: tuple(c.name for c in spec.columns) for spec in SHEETS}
"""Every contract sheet's columns, in contract order."""
KINDS = {spec.name: {c.name: c.kind for c in spec.columns} for spec in SHEETS}
"""Every contract sheet's columns' kinds (number, year, text, ...)."""
SYSTEM_COLUMNS = {
    **{spec.name: tuple(c.name for c in spec.columns if c.ref == "system") for spec in SHEETS},
    "systems": ("system",),
    "foresight": ("system",),  # or *, which is no system's id
    "border_adjustments": ("importer", "origin"),  # origin: or a region, which is no system
}
"""Per sheet, the columns whose system a row belongs to: a row naming a system left out by
`subset` in any of them goes."""
JOINED = "+"
"""What joins the systems of one calibration target, e.g. CA+QC."""


@dataclass(eq=False)  # DataFrames have no truth value: compare their tables instead
class Frames:
    """A workbook's sheets as DataFrames, and where they came from.

    Attributes:
        sheets: The sheets by contract name, one DataFrame each, its columns the headers.
        layouts: Per sheet read from a file, the reader's table without its rows: the
            file's column letters, its other headers, layout problems and formula cells.
        other_sheets: The file's sheets that are not contract sheets (notes, README).
        label: The file the sheets were read from, or what gave them (records).
        path: That file; None for records.
        file_sha256: The file's SHA-256 when it was read; None for records.
        systems: The systems `subset` kept, in the workbook's order (empty: all of them).
        pristine: The fingerprint of the tables as read (and cut); they are `edited` when
            theirs differs.
    """

    sheets: dict[str, pd.DataFrame]
    layouts: dict[str, RawTable] = field(default_factory=dict)
    other_sheets: list[str] = field(default_factory=list)
    label: str = "<tables>"
    path: Path | None = None
    file_sha256: str | None = None
    systems: tuple[str, ...] = ()
    pristine: str | None = None

    @classmethod
    def read(cls, path: Path) -> Frames:
        """Read a workbook (.xlsx or .ods) with the reader of `etslink run`.

        Raises:
            InputError: the file cannot be read.
        """
        from etslink.inputs.workbook import read_workbook

        raw = read_workbook(path)
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        frames = cls(
            {name: _frame(table) for name, table in raw.tables.items()},
            {name: replace(table, rows=[]) for name, table in raw.tables.items()},
            list(raw.other_sheets),
            str(path),
            path,
            digest,
        )
        frames.pristine = frames.fingerprint()
        return frames

    @classmethod
    def from_records(cls, tables: Mapping[str, Iterable[Mapping[str, Any]]], label: str) -> Frames:
        """Return tables given as records (sheet -> rows of column -> value), as written.

        Rows are numbered from 2 and columns lettered in contract order, as `write_workbook`
        writes them.
        """
        return cls({name: table_of(rows, name) for name, rows in tables.items()}, label=label)

    @property
    def stem(self) -> str:
        """Return the default scenario name: the file's name without its suffix."""
        return self.path.stem if self.path else "tables"

    def copy(self) -> Frames:
        """Return a copy whose tables can be changed without changing these."""
        return replace(self, sheets={name: frame.copy() for name, frame in self.sheets.items()})

    def system_ids(self) -> list[str]:
        """Return the ids on sheet systems, in its order."""
        frame = self.sheets.get("systems")
        if frame is None or "system" not in frame:
            return []
        return list(dict.fromkeys(i for i in frame["system"].map(_id) if i is not None))

    def subset(self, systems: str | Iterable[str]) -> Frames:
        """Return the workbook with only `systems` and the rows that belong to them.

        See `cut`. `systems` is a list of ids, or one text of ids joined by commas.

        Raises:
            ValueError: no id given, or an id that is not on sheet systems.
        """
        wanted, have = _listed(systems), self.system_ids()
        unknown = [s for s in wanted if s not in have]
        if unknown or not wanted:
            raise ValueError(_not_systems(unknown, have, self.label))
        sheets = cut(self.sheets, set(have) - set(wanted))
        frames = replace(
            self,
            sheets=sheets,
            layouts={n: t for n, t in self.layouts.items() if n in sheets},
            systems=tuple(s for s in have if s in wanted),
        )
        unchanged = self.pristine is not None and self.fingerprint() == self.pristine
        frames.pristine = frames.fingerprint() if unchanged else None
        return frames

    def names_unknown(self) -> list[Issue]:
        """Return an issue per sheet and per column that the contract does not know."""
        issues = [
            Issue(name, None, "", "", "not a sheet of the workbook contract", _SHEET_FIX)
            for name in self.sheets
            if name not in COLUMNS
        ]
        return issues + [
            Issue(
                name,
                None,
                "",
                str(column),
                f"{str(column)!r} is not a column of sheet {name}",
                f"use a column of sheet {name} (docs/workbook.md), or drop it",
            )
            for name, frame in self.sheets.items()
            if name in COLUMNS
            for column in frame.columns
            if column not in COLUMNS[name]
        ]

    def raw(self) -> RawWorkbook:
        """Return the tables as the reader gives a workbook, for the checks.

        Raises:
            InputError: a sheet or column that the contract does not know.
        """
        from etslink.core.checking import RawWorkbook

        issues = self.names_unknown()
        if issues:
            raise InputError(issues)
        tables = {name: self._raw_table(name, frame) for name, frame in self.sheets.items()}
        return RawWorkbook(tables, list(self.other_sheets))

    def _raw_table(self, name: str, frame: pd.DataFrame) -> RawTable:
        """Return one sheet as the reader gives it, located as in its file (`_row_numbers`)."""
        from etslink.core.checking import RawRow, RawTable

        spec, layout = sheet_named(name), self.layouts.get(name)
        rows = [RawRow(number, values) for number, values in _rows(frame)]
        blank = frame.empty and len(frame.columns) == 0
        if layout is None:
            return RawTable(spec, _letters(frame, spec), rows, empty=blank)
        letters = {c: layout.letters[c] for c in frame.columns if c in layout.letters}
        empty = layout.empty and blank
        return replace(
            layout, letters=letters, rows=rows, problems=list(layout.problems), empty=empty
        )

    def records(self) -> dict[str, list[dict[str, Any]]]:
        """Return each sheet's rows that hold a value, cells as the reader gives them."""
        return {name: [values for _, values in _rows(frame)] for name, frame in self.sheets.items()}

    def fingerprint(self) -> str:
        """Return the SHA-256 of the tables' values (sheets, columns, rows in order)."""
        text = json.dumps(self.records(), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def provenance(self) -> dict[str, Any]:
        """Return where the tables came from, as the run record's `input`.

        `sha256` is the file's as read (the tables' own without a file), `tables_sha256`
        the tables' as solved, `edited` whether they differ from the file's (cut to
        `systems`, when given).
        """
        tables = self.fingerprint()
        record: dict[str, Any] = {
            "path": self.label,
            "sha256": self.file_sha256 or tables,
            "tables_sha256": tables,
        }
        if self.file_sha256:
            record["edited"] = tables != self.pristine
        if self.systems:
            record["systems"] = list(self.systems)
        return record


_SHEET_FIX = "name it as a sheet of docs/workbook.md, e.g. links, or leave it out"


def table_of(rows: Iterable[Mapping[str, Any]], name: str) -> pd.DataFrame:
    """Return records as one sheet's DataFrame: contract columns first, rows numbered from 2."""
    import pandas as pd

    rows = [dict(row) for row in rows]
    given = list(dict.fromkeys(str(key) for row in rows for key in row))
    known = [c for c in COLUMNS.get(name, ()) if c in given]
    columns = known + [c for c in given if c not in known]
    frame = pd.DataFrame(rows, columns=columns, index=range(2, len(rows) + 2))
    return _with_float_numbers(frame, name)


def _frame(table: RawTable) -> pd.DataFrame:
    """Return a sheet as read as a DataFrame indexed by Excel row, columns in file order."""
    import pandas as pd

    frame = pd.DataFrame(
        [row.values for row in table.rows],
        index=pd.Index([row.row for row in table.rows], dtype="int64"),
        columns=list(table.letters),
    )
    return _with_float_numbers(frame, table.sheet.name)


def _with_float_numbers(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return the frame with its whole-number columns of kind number as floats.

    Then `wb["emissions"].loc[rows, "cap_MtCO2e"] *= 0.95` works (pandas refuses 85.5 in
    a column of whole numbers); the checks read 90.0 as 90, as they read a cell.
    """
    import pandas as pd

    for column in frame.columns:
        number = KINDS.get(name, {}).get(column) == "number"
        if number and pd.api.types.is_integer_dtype(frame[column]):
            frame[column] = frame[column].astype("float64")
    return frame


def _letters(frame: pd.DataFrame, spec: Sheet) -> dict[str, str]:
    """Return each column's letter as `write_workbook` places it: contract order."""
    from etslink.inputs.workbook import column_letter

    present = [c.name for c in spec.columns if c.name in frame.columns]
    return {name: column_letter(i) for i, name in enumerate(present, start=1)}


def _value(value: object) -> object:
    """Return a DataFrame's cell as the reader gives a cell that holds it (`as_read`)."""
    import numpy as np
    import pandas as pd

    from etslink.inputs.workbook import as_read

    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return as_read(value)


def _row_numbers(index: pd.Index) -> list[int]:
    """Return each row's Excel row number.

    The index labels when they are distinct whole numbers from 2 on (a table as read, or
    rows taken out of one); else the rows' positions from 2, as `save` writes them.
    """
    labels = list(index)
    rows = all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in labels)
    if rows and len(set(labels)) == len(labels) and all(x >= 2 for x in labels):
        return [int(x) for x in labels]
    return list(range(2, len(labels) + 2))


def _rows(frame: pd.DataFrame) -> list[tuple[int, dict[str, Any]]]:
    """Return each row that holds a value: its Excel row number and its cells as read."""
    columns = [str(c) for c in frame.columns]
    rows = []
    for number, cells in zip(
        _row_numbers(frame.index), frame.itertuples(index=False, name=None), strict=True
    ):
        values = {c: _value(v) for c, v in zip(columns, cells, strict=True)}
        if any(v is not None for v in values.values()):
            rows.append((number, values))
    return rows


def _id(value: object) -> str | None:
    """Return a cell's text as an id (None for a blank or a number, which is no id)."""
    value = _value(value)
    return value if isinstance(value, str) else None


def _listed(systems: str | Iterable[str]) -> list[str]:
    """Return the ids asked for, once each: a list, or one text joined by commas."""
    given = systems.split(",") if isinstance(systems, str) else systems
    return list(dict.fromkeys(s for s in (str(x).strip() for x in given) if s))


def _not_systems(unknown: list[str], have: list[str], label: str) -> str:
    """Return why `subset` cannot keep the systems asked for."""
    listed = ", ".join(have) or "none"
    if not unknown:
        return f"no system given; sheet systems of {label} has {listed}"
    names = ", ".join(f'"{s}"' for s in unknown)
    verb = "is" if len(unknown) == 1 else "are"
    return f"{names} {verb} not on sheet systems of {label}, which has {listed}"


def cut(sheets: Mapping[str, pd.DataFrame], left_out: set[str]) -> dict[str, pd.DataFrame]:
    """Return the sheets without the rows that belong to the systems left out.

    A row goes when a column of `SYSTEM_COLUMNS` names a system left out: its rows on every
    sheet, links and candidate links with a left-out end, border adjustments with a left-out
    importer or origin (a region stays). Offset credits go with their type when only rules
    of left-out systems accepted it, and so do the uncertain supply and price of that type;
    uncertain inputs and calibration targets of left-out systems go (`CA+QC` becomes `CA`).
    Rows that name no left-out system (a blank, a typo, a number) stay, for the checks to
    report. An optional sheet that the cut empties is dropped.
    """
    lost = _lost_offset_types(sheets, left_out)
    out = {}
    for name, frame in sheets.items():
        kept = frame[~_belongs(name, frame, left_out, lost)].copy()
        if name == "calibration" and "target" in kept:
            kept = _cut_targets(kept, left_out)
        required = name in COLUMNS and sheet_named(name).required
        if len(kept) or not len(frame) or required:
            out[name] = kept
    return out


def _names(column: pd.Series, ids: set[str]) -> pd.Series:
    """Return where a column names one of `ids`."""
    return column.map(lambda v: _id(v) in ids).astype(bool)


def _belongs(name: str, frame: pd.DataFrame, left_out: set[str], lost: set[str]) -> pd.Series:
    """Return where the rows of a sheet belong to a system left out (or a type gone)."""
    import pandas as pd

    gone = pd.Series(False, index=frame.index)
    for column in SYSTEM_COLUMNS.get(name, ()):
        if column in frame:
            gone |= _names(frame[column], left_out)
    if name == "offsets" and "offset_type" in frame:
        gone |= _names(frame["offset_type"], lost)
    if name == "uncertainty" and {"parameter", "target"} <= set(frame.columns):
        credits = frame["parameter"].map(lambda v: str(_value(v)).lower() in OFFSET_PARAMETERS)
        credits = credits.astype(bool)
        gone |= credits & _names(frame["target"], lost)
        gone |= ~credits & _names(frame["target"], left_out)
    return gone


def _lost_offset_types(sheets: Mapping[str, pd.DataFrame], left_out: set[str]) -> set[str]:
    """Return the credit types that only rules of left-out systems accept."""
    rules = sheets.get("offset_rules")
    if rules is None or not {"system", "offset_type"} <= set(rules.columns):
        return set()
    types = rules["offset_type"].map(_id)
    gone = _names(rules["system"], left_out)
    return {t for t in types[gone] if t is not None} - set(types[~gone])


def _cut_targets(frame: pd.DataFrame, left_out: set[str]) -> pd.DataFrame:
    """Return calibration rows with the left-out systems taken out of their targets.

    A target of several systems keeps those kept (`CA+QC` -> `CA`); a row whose every
    target is left out goes.
    """

    def kept(value: object) -> object:
        target = _id(value)
        if target is None or target == "*":
            return value
        members = [m.strip() for m in target.split(JOINED)]
        if not left_out.intersection(members):
            return value
        return JOINED.join(m for m in members if m not in left_out)

    targets = frame["target"].map(kept)
    frame = frame[targets != ""].copy()
    frame["target"] = targets[targets != ""]
    return frame
