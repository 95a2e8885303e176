"""The Python API: `etslink.run`, `sweep`, `explore` and `calibrate`, results and errors.

`run` and the `etslink run` command share one implementation (`solve_workbook` in
workflows/run.py, `write_run` in outputs/products.py), as do `sweep` and `etslink sweep`
(`plan_sweep` and `solve_sweep` in workflows/sweep.py, `write_sweep`) and `explore` and
`etslink explore` (`plan_explore` and `solve_explore` in workflows/explore.py,
`write_explore`), and `calibrate` and `etslink calibrate` (`plan_calibration` and
`calibrate` in workflows/calibrate.py, `write_calibration`): the command line only adds
progress, printing, exit codes and the resumable partial folder. Nothing here prints.

Importing this module is light: pandas, Pyomo, HiGHS, matplotlib and dask are imported by
the functions that need them, so that `import etslink` stays fast (a test checks it).
"""

from __future__ import annotations

import numbers
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from etslink.errors import InputError, WorkbookError
from etslink.outputs.products import (
    CalibrationResult,
    ExploreResult,
    RunResult,
    StrPath,
    SweepResult,
)

Tables = Mapping[str, list[dict[str, Any]]]
"""A workbook as records: sheet name -> rows of column -> value (blank: leave the key out)."""


def run(path: StrPath | Tables, *, time_limit_s: float | None = None) -> RunResult:
    """Validate a workbook and solve its linked and autarky cases, as `etslink run` does.

    Nothing is written: call `.write(folder)` on the result for the files.

    Args:
        path: The input workbook (.xlsx or .ods), or its sheets as records, e.g.
            {"systems": [{"system": "A"}], "emissions": [...], ...}: a loop over scenarios
            then needs no workbook files (they are checked exactly as a workbook's rows are).
        time_limit_s: HiGHS's time limit per solve [s]; None: 3600.

    Returns:
        The result tables, warnings and run record.

    Raises:
        WorkbookError: the workbook has problems; `issues` lists every one.
        InfeasibleError: the inputs admit no solution; the message names the system-years.
        SolverTroubleError: HiGHS stopped without an optimal solution (time limit, numerics).
        ValueError: `time_limit_s` is not a positive number.
    """
    if time_limit_s is not None and not time_limit_s > 0:
        msg = f"time_limit_s must be a positive number of seconds, not {time_limit_s!r}"
        raise ValueError(msg)
    if isinstance(path, Mapping):
        return _run_tables(path, time_limit_s)
    from etslink.workflows.run import solve_workbook

    workbook = Path(path)
    try:
        return solve_workbook(
            workbook, time_limit_s=time_limit_s, command=["etslink.run", str(workbook)]
        )
    except InputError as error:
        raise WorkbookError(error.issues) from error


def _run_tables(tables: Tables, time_limit_s: float | None) -> RunResult:
    """Run sheets given as records: written to a temporary workbook, read as any other.

    A sheet or column the contract does not know is an error (a workbook would keep it as a
    note; records have no other use for it).
    """
    from etslink.errors import Issue
    from etslink.inputs.schema import SHEETS
    from etslink.inputs.workbook import write_workbook
    from etslink.workflows.run import solve_workbook

    known = {spec.name: {c.name for c in spec.columns} for spec in SHEETS}
    unknown = [
        Issue(name, None, "", "", "not a sheet of the workbook contract", "see docs/workbook.md")
        for name in tables
        if name not in known
    ]
    unknown += [
        Issue(
            name, i + 2, "", key, f"{key!r} is not a column of sheet {name}", "see docs/workbook.md"
        )
        for name, rows in tables.items()
        if name in known
        for i, row in enumerate(rows)
        for key in row
        if key not in known[name]
    ]
    if unknown:
        raise WorkbookError(unknown)

    with tempfile.TemporaryDirectory(prefix="etslink-run-") as folder:
        workbook = Path(folder) / "tables.xlsx"
        try:
            write_workbook(workbook, {name: list(rows) for name, rows in tables.items()})
            result = solve_workbook(
                workbook, time_limit_s=time_limit_s, command=["etslink.run", "<tables>"]
            )
        except InputError as error:
            raise WorkbookError(error.issues) from error
    result.record["input"]["path"] = "<tables passed to etslink.run>"
    return result


def sweep(
    path: StrPath,
    *,
    draws: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> SweepResult:
    """Solve both cases for each draw of the workbook's `uncertainty` sheet.

    Draw i depends only on the workbook's `seed` and i, so the numbers do not depend on
    `workers`. With one worker the draws are solved in this process; with more (or a
    `scheduler`) on dask, which starts worker processes: call it under
    `if __name__ == "__main__":` in a script.

    Args:
        path: The input workbook (.xlsx or .ods) with an `uncertainty` sheet.
        draws: Number of draws; None: the `draws` setting (default 100).
        workers: Worker processes of a local dask cluster (1: solve in this process;
            ignored with `scheduler`).
        scheduler: Address of a running dask scheduler, e.g. "tcp://host:8786".

    Returns:
        The draws, the summary tables, the warnings and the run record.

    Raises:
        WorkbookError: the workbook has problems, or no uncertain inputs.
        ValueError: `draws` or `workers` is not a positive whole number.
    """
    for name, value in (("draws", draws), ("workers", workers)):
        if value is not None and (not isinstance(value, numbers.Integral) or value < 1):
            msg = f"{name} must be a positive whole number, not {value!r}"
            raise ValueError(msg)
    from etslink.outputs.products import DRAWS_FILE
    from etslink.outputs.runrecord import utc_stamp
    from etslink.workflows.sweep import plan_sweep, solve_sweep

    started, workbook = utc_stamp(), Path(path)
    try:
        plan = plan_sweep(workbook, draws)
    except InputError as error:
        raise WorkbookError(error.issues) from error
    with tempfile.TemporaryDirectory(prefix="etslink-sweep-") as folder:
        return solve_sweep(
            plan,
            Path(folder) / DRAWS_FILE,
            workers=workers,
            scheduler=scheduler,
            started=started,
            command=["etslink.sweep", str(workbook)],
        )


def explore(
    path: StrPath,
    *,
    max_size: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> ExploreResult:
    """Solve the workbook with each combination of candidate links added, as `etslink explore`.

    Each combination starts from the status quo's basis in one model compiled once, so the
    numbers do not depend on `workers`. With `workers` above 1 (or a `scheduler`) this starts
    a local dask cluster of worker processes: call it under `if __name__ == "__main__":`.

    Args:
        path: The input workbook (.xlsx or .ods), with or without a `candidate_links` sheet.
        max_size: Largest combination; None: all combinations of up to 6 candidates, else
            each alone and all together.
        workers: Worker processes of the local cluster (1: solve in this process).
        scheduler: Address of a running dask scheduler, e.g. "tcp://host:8786".

    Returns:
        The tables of explore.xlsx, the warnings and the run record.

    Raises:
        WorkbookError: the workbook has problems, or no candidate link.
        InfeasibleError: the status quo admits no solution.
        ValueError: `max_size` or `workers` is not a positive whole number.
    """
    for name, value in (("max_size", max_size), ("workers", workers)):
        if value is not None and (not isinstance(value, numbers.Integral) or value < 1):
            msg = f"{name} must be a positive whole number, not {value!r}"
            raise ValueError(msg)
    from etslink.outputs.runrecord import utc_stamp
    from etslink.workflows.explore import PARTIAL_FILE, plan_explore, solve_explore

    started, workbook = utc_stamp(), Path(path)
    try:
        plan = plan_explore(workbook, max_size)
    except InputError as error:
        raise WorkbookError(error.issues) from error
    with tempfile.TemporaryDirectory(prefix="etslink-explore-") as folder:
        return solve_explore(
            plan,
            Path(folder) / PARTIAL_FILE,
            workers=workers,
            scheduler=scheduler,
            started=started,
            command=["etslink.explore", str(workbook)],
        )


def calibrate(
    path: StrPath,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    time_limit_s: float | None = None,
) -> CalibrationResult:
    """Fit the parameters of sheet `calibration` to sheet `observed`, as `etslink calibrate`.

    Nothing is written: call `.write(folder)` on the result for calibrated.xlsx (the
    workbook with the fitted values), calibration.xlsx, report.html and run.json. With a
    `foresight_years` row and `workers` above 1 (or a `scheduler`), the horizons are fitted
    on a local dask cluster: call it under `if __name__ == "__main__":`.

    Args:
        path: The input workbook (.xlsx).
        workers: Worker processes of the local cluster (1: fit in this process).
        scheduler: Address of a running dask scheduler, e.g. "tcp://host:8786".
        time_limit_s: HiGHS's time limit per solve [s]; None: 3600.

    Returns:
        The fitted parameters, the fit before and after, the warnings and the run record.

    Raises:
        WorkbookError: the workbook has problems, no calibration rows or no observations.
        InfeasibleError: the workbook as it stands admits no solution.
        ValueError: `workers` is not a positive whole number.
    """
    if not isinstance(workers, numbers.Integral) or workers < 1:
        msg = f"workers must be a positive whole number, not {workers!r}"
        raise ValueError(msg)
    from etslink.workflows.calibrate import calibrate as fit
    from etslink.workflows.calibrate import plan_calibration

    workbook = Path(path)
    try:
        plan = plan_calibration(workbook, time_limit_s)
    except InputError as error:
        raise WorkbookError(error.issues) from error
    return fit(
        plan, workers=workers, scheduler=scheduler, command=["etslink.calibrate", str(workbook)]
    )
