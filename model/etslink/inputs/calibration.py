"""What `etslink calibrate` may change in a workbook, and the calibrated workbook it writes.

A calibrated parameter either multiplies cells of the workbook (`mac_scale`,
`baseline_scale`: `SCALED_CELLS`) or sets the settings key `foresight_years`. Each trial of
the fit scales the validated records the same way the calibrated workbook's cells are
scaled, so that `etslink run calibrated.xlsx` gives the fitted model exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCALED_CELLS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "mac_scale": (
        ("mac_linear", ("intercept_per_tCO2e", "slope_per_tCO2e_per_MtCO2e")),
        ("mac_steps", ("cost_per_tCO2e",)),
    ),
    "baseline_scale": (("emissions", ("baseline_MtCO2e",)),),
}
"""The (sheet, columns) whose cells of the target systems a factor multiplies (one entry
per parameter of `schema.SCALES`)."""

Tables = dict[str, list[dict[str, Any]]]
Factors = Mapping[tuple[str, str], float]
"""A factor per (parameter, system), e.g. ("mac_scale", "EU") -> 1.4."""


@dataclass(frozen=True)
class FreeParameter:
    """One row of sheet `calibration`: a parameter, the systems sharing it, and its range.

    Attributes:
        parameter: mac_scale, baseline_scale or foresight_years.
        target: The row's target as written (e.g. "CA+QC" or "*").
        systems: The systems it applies to.
        lower: Smallest value; None = none.
        upper: Largest value; None = none.
        initial: Where the search starts.
        row: The row on sheet calibration.
    """

    parameter: str
    target: str
    systems: tuple[str, ...]
    lower: float | None
    upper: float | None
    initial: float
    row: int


def free_parameters(rows: list[dict[str, Any]], systems: tuple[str, ...]) -> list[FreeParameter]:
    """Return the rows of a validated `calibration` sheet as free parameters."""
    out = []
    for r in rows:
        target = str(r["target"]).strip()
        members = systems if target == "*" else tuple(s.strip() for s in target.split("+"))
        initial = r["initial"]
        if initial is None:
            initial = r["lower"] if r["parameter"] == "foresight_years" else 1.0
        out.append(
            FreeParameter(
                r["parameter"], target, members, r["lower"], r["upper"], initial, r["_row"]
            )
        )
    return out


def factors_of(
    parameters: list[FreeParameter], values: list[float]
) -> dict[tuple[str, str], float]:
    """Return the factor per (parameter, system) of the scale parameters at `values`."""
    return {(p.parameter, s): v for p, v in zip(parameters, values, strict=True) for s in p.systems}


def scaled_tables(tables: Tables, factors: Factors) -> Tables:
    """Return the validated records with the cells the factors scale multiplied.

    Blank cells stay blank (a blank intercept is 0; a blank `max_abatement_MtCO2e` follows
    the scaled baseline, as it would in the calibrated workbook).
    """
    out = dict(tables)
    for parameter, cells in SCALED_CELLS.items():
        for sheet, columns in cells:
            rows = []
            for record in out[sheet]:
                factor = factors.get((parameter, record["system"]), 1.0)
                if factor != 1.0:
                    record = copy.copy(record)
                    for column in columns:
                        if record[column] is not None:
                            record[column] *= factor
                rows.append(record)
            out[sheet] = rows
    return out


def write_calibrated(
    source: Path,
    target: Path,
    tables: Tables,
    factors: Factors,
    settings: Mapping[str, Any],
) -> None:
    """Write `source` again as `target` with the fitted values in the cells they change.

    Every sheet, format and other cell is kept; a scaled cell holds the scaled number (a
    formula there is replaced by its value, scaled). `settings` keys are set, added as rows
    of sheet settings where missing.

    Args:
        source: The input workbook (.xlsx); it is not changed.
        target: Where the calibrated workbook goes.
        tables: The validated records (their `_row` locates each cell).
        factors: The fitted factor per (parameter, system).
        settings: Settings keys to write, e.g. {"foresight_years": 7}.
    """
    import openpyxl

    book = openpyxl.load_workbook(source)
    sheets = {ws.title.strip().lower(): ws for ws in book.worksheets}
    for parameter, cells in SCALED_CELLS.items():
        for sheet, columns in cells:
            ws = sheets.get(sheet)
            if ws is None:
                continue
            letters = _header_columns(ws)
            for record in tables[sheet]:
                factor = factors.get((parameter, record["system"]), 1.0)
                for column in columns:
                    # a column left out of the sheet holds its default, 0 (the intercept)
                    at = letters.get(column.lower())
                    if factor != 1.0 and record[column] and at is not None:
                        ws.cell(record["_row"], at).value = record[column] * factor
    _write_settings(sheets["settings"], settings)
    book.save(target)


def _header_columns(ws: Any) -> dict[str, int]:
    """Return the column number of each header of row 1, by its lower-case name."""
    return {
        str(cell.value).strip().lower(): cell.column for cell in ws[1] if cell.value is not None
    }


def _write_settings(ws: Any, settings: Mapping[str, Any]) -> None:
    """Set settings keys on a `settings` sheet (key, value), appending missing keys."""
    columns = _header_columns(ws)
    key_col, value_col = columns["key"], columns["value"]
    rows = {
        str(ws.cell(r, key_col).value).strip().lower(): r
        for r in range(2, ws.max_row + 1)
        if ws.cell(r, key_col).value is not None
    }
    for key, value in settings.items():
        row = rows.get(key)
        if row is None:
            row = ws.max_row + 1
            ws.cell(row, key_col).value = key
        ws.cell(row, value_col).value = value
