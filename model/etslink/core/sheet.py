"""How an input sheet is declared: its columns (type, unit, default, bounds, meaning).

`inputs/schema.py` gathers every sheet; each instrument module declares its own sheets with
these classes and the common columns below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "number", "integer", "year", "yesno", "choice"]


@dataclass(frozen=True)
class Column:
    """One input column (or one `settings` key).

    Attributes:
        name: Header as written in the contract (matched case-insensitively).
        kind: How the cell is read: free text, a number, a whole year, yes/no or a choice.
        doc: What the column means, in the analyst's words.
        unit: Unit of a number, e.g. "MtCO2e" or "CUR per tCO2e" ("" if none).
        required: A blank cell is an error.
        default: Value of a blank optional cell; None leaves it blank (meaning in `doc`).
        default_doc: How the default reads in the docs when it is not a plain value.
        minimum: Smallest allowed number (inclusive unless `exclusive_minimum`).
        exclusive_minimum: The minimum itself is not allowed.
        maximum: Largest allowed number (inclusive).
        choices: Allowed values of a `choice` column (lower case).
        ref: The id this column refers to: "system" or "offset_type".
        header_required: The sheet must have the column, though some cells may be blank
            (where `doc` says; checked across sheets).
        refused: Read only so that a value in it is an error rather than silently ignored
            (e.g. `announced_year` where rules announced later are not yet solved).
    """

    name: str
    kind: Kind
    doc: str
    unit: str = ""
    required: bool = False
    default: object = None
    default_doc: str = ""
    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    ref: str | None = None
    header_required: bool = False
    refused: bool = False

    @property
    def is_id(self) -> bool:
        """Return whether the column holds a system id or an offset type (text ids)."""
        return self.ref is not None or self.name in ("system", "offset_type")

    def default_text(self) -> str:
        """Return how the default reads in the docs and the template."""
        if self.required:
            return "required"
        if self.default_doc:
            return self.default_doc
        return "blank" if self.default is None else str(self.default)


@dataclass(frozen=True)
class Sheet:
    """One input sheet: one header row, one record per row.

    Attributes:
        name: Sheet name as written in the contract (matched case-insensitively).
        doc: What one row means.
        columns: The sheet's columns, in template order.
        required: The workbook must have this sheet.
        key: Columns whose values must be unique together (a duplicate is an error).
        examples: Rows of the template workbook, in column order; together they validate.
    """

    name: str
    doc: str
    columns: tuple[Column, ...]
    required: bool = False
    key: tuple[str, ...] = ()
    examples: tuple[tuple[object, ...], ...] = ()

    def column(self, name: str) -> Column:
        """Return the column called `name`."""
        return next(c for c in self.columns if c.name == name)


YES_WORDS = ("yes", "y", "true", "1")
NO_WORDS = ("no", "n", "false", "0")
"""What a yes/no cell may hold, in any case (an Excel TRUE or FALSE cell is read as well)."""

PRICE_MAX = 1e6
"""Largest MAC intercept, slope or step cost accepted [CUR per tCO2e (per MtCO2e)]: a
million currency units per tonne is far beyond any abatement cost; a slope of 1e308 gave
prices of 0 and a gain of NaN."""


def system_column() -> Column:
    """Return the `system` column: a system id, as on sheet systems."""
    return Column("system", "text", "System id, as on sheet systems.", required=True, ref="system")


def year_column() -> Column:
    """Return the `year` column."""
    return Column("year", "year", "Year.", required=True)


def announced_column(what: str) -> Column:
    """Return the `announced_year` column of a sheet whose rules may be announced later."""
    return Column(
        "announced_year",
        "year",
        f"The year in which {what} became known: plans made before it use the rule known "
        "then (another row of the same system and year with an earlier or blank "
        "announced_year). Blank = known from the start.",
        default_doc="known from the start",
    )


def not_yet_announced_column() -> Column:
    """Return the `announced_year` column of a sheet where later announcements are refused."""
    return Column(
        "announced_year",
        "year",
        "Not yet solved on this sheet (only on emissions and msr): leave blank; a year here "
        "is an error rather than a rule silently known from the start.",
        default_doc="blank",
        refused=True,
    )


def first_last_columns(what: str) -> tuple[Column, Column]:
    """Return the `first_year` and `last_year` columns of rows that hold for a span of years."""
    return (
        Column("first_year", "year", f"First year in which {what}.", default_doc="the first year"),
        Column("last_year", "year", f"Last year in which {what}.", default_doc="the last year"),
    )
