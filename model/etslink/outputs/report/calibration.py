"""Write what `etslink calibrate` found: calibration.xlsx and its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from etslink.core.data import ModelData
from etslink.outputs.fit import FAR
from etslink.outputs.report import charts
from etslink.outputs.report.excel import TableBook, run_sheet
from etslink.outputs.report.html import LINES_MAX, environment

Figures = dict[tuple[str, str, int], float]


def write_calibration_workbook(
    sheets: dict[str, pd.DataFrame], record: dict[str, Any], currency: str, path: Path
) -> None:
    """Write calibration.xlsx: parameters, fit (before and after), horizons tried, run.

    Args:
        sheets: `parameters`, `fit` and `horizons` (left out when empty).
        record: The run record.
        currency: The workbook's currency.
        path: Where the file goes.
    """
    sheets = {name: frame for name, frame in sheets.items() if not frame.empty}
    with TableBook(path) as book:
        for name, frame in (sheets | {"run": run_sheet(record)}).items():
            book.add_table_sheet(name, frame, currency)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows as dicts, blank cells (NaN) as None."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def write_calibration_report(
    d: ModelData,
    sheets: dict[str, pd.DataFrame],
    figures: dict[str, Figures],
    record: dict[str, Any],
    path: Path,
) -> None:
    """Write the calibration's report: the fitted values, the fit before and after, why not.

    Args:
        d: The workbook as it stands.
        sheets: calibration.xlsx's `parameters`, `fit` and `horizons`.
        figures: The linked case's figures "before" and "after" calibration.
        record: The run record (with `calibration`).
        path: Where the file goes.
    """
    fit = sheets["fit"]
    far = fit[fit["difference_after"].abs() > FAR]
    systems = [s for s in d.systems if s in set(fit["system"])][:LINES_MAX]
    paths: list[charts.ModelPath] = [
        ("after", "calibrated", figures["after"]),
        ("before", "before", figures["before"]),
    ]
    context = {
        "d": d,
        "record": record,
        "c": record["calibration"],
        "parameters": _records(sheets["parameters"]),
        "horizons": sheets["horizons"].to_dict("records"),
        "far": far.sort_values("difference_after", key=abs, ascending=False).to_dict("records"),
        "limit": FAR,
        "charts": {s: charts.model_against_observed(fit, paths, s, d) for s in systems},
    }
    page = environment().get_template("calibration.html.j2").render(context)
    path.write_text(page, encoding="utf-8")
