"""The Python API: `Workbook`, `run`, `sweep`, `explore`, `calibrate`, `compare`; results, errors.

`run` and the `etslink run` command share one implementation (`solve_workbook` in
workflows/run.py, `write_run` in outputs/products.py), as do `sweep` and `etslink sweep`
(`plan_sweep` and `solve_sweep` in workflows/sweep.py, `write_sweep`) and `explore` and
`etslink explore` (`plan_explore` and `solve_explore` in workflows/explore.py,
`write_explore`), `calibrate` and `etslink calibrate` (`plan_calibration` and
`calibrate` in workflows/calibrate.py, `write_calibration`), and `compare` and
`etslink compare` (`compare_runs` in workflows/compare.py, `write_compare`): the command
line only adds progress, printing, exit codes and the resumable partial folder. A
`Workbook` is the reader's tables as DataFrames (inputs/frames.py), which `run` and
`etslink run --systems` solve as a file. Nothing here prints.

Importing this module is light: pandas, Pyomo, HiGHS, matplotlib and dask are imported by
the functions that need them, so that `import etslink` stays fast (a test checks it).
"""

from __future__ import annotations

import numbers
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etslink.errors import InputError, WorkbookError
from etslink.outputs.products import (
    CalibrationResult,
    CompareResult,
    ExploreResult,
    RunResult,
    StrPath,
    SweepResult,
)

if TYPE_CHECKING:
    import pandas as pd

    from etslink.inputs.frames import Frames

Tables = Mapping[str, list[dict[str, Any]]]
"""A workbook as records: sheet name -> rows of column -> value (blank: leave the key out)."""


def run(path: StrPath | Tables | Workbook, *, time_limit_s: float | None = None) -> RunResult:
    """Validate a workbook and solve its linked and autarky cases, as `etslink run` does.

    Nothing is written: call `.write(folder)` on the result for the files.

    Args:
        path: The input workbook (.xlsx or .ods); or an `etslink.Workbook`, changed in
            Python; or its sheets as records, e.g.
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
    from etslink.inputs.frames import Frames
    from etslink.workflows.run import solve_workbook

    if time_limit_s is not None and not time_limit_s > 0:
        msg = f"time_limit_s must be a positive number of seconds, not {time_limit_s!r}"
        raise ValueError(msg)
    workbook: Path | Frames
    if isinstance(path, Workbook):
        workbook = path._frames
    elif isinstance(path, Mapping):
        workbook = Frames.from_records(path, "<tables passed to etslink.run>")
    else:
        workbook = Path(path)
    label = workbook.label if isinstance(workbook, Frames) else str(workbook)
    try:
        return solve_workbook(workbook, time_limit_s=time_limit_s, command=["etslink.run", label])
    except InputError as error:
        raise WorkbookError(error.issues) from error


class Workbook:
    """An input workbook as pandas DataFrames, one per sheet, to change and run from Python.

    `Workbook(path)` reads an .xlsx or .ods workbook with the reader of `etslink run`;
    `Workbook(records)` takes the sheets as records ({"systems": [{"system": "A"}], ...}).
    `wb["emissions"]` is sheet emissions, one column per header; change it in place or
    replace it. A sheet read from a file is indexed by Excel row number, so that messages
    name the file's cells; a row with a new index (e.g. after `ignore_index=True`) is
    numbered by its position, as `save` writes it. See docs/api.md.
    """

    _frames: Frames

    def __init__(self, source: StrPath | Tables) -> None:
        """Read a workbook file, or take its sheets as records.

        Raises:
            WorkbookError: the file cannot be read (missing, damaged, not a workbook).
        """
        from etslink.inputs.frames import Frames

        if isinstance(source, Mapping):
            self._frames = Frames.from_records(source, "<tables passed to etslink.Workbook>")
            return
        try:
            self._frames = Frames.read(Path(source))
        except InputError as error:
            raise WorkbookError(error.issues) from error

    @classmethod
    def _of(cls, frames: Frames) -> Workbook:
        """Return a workbook holding `frames`."""
        workbook = cls.__new__(cls)
        workbook._frames = frames
        return workbook

    @property
    def sheets(self) -> dict[str, pd.DataFrame]:
        """Return the sheets by name, one DataFrame each (change them, add or delete some)."""
        return self._frames.sheets

    @property
    def path(self) -> Path | None:
        """Return the file the workbook was read from (None: made from records)."""
        return self._frames.path

    @property
    def systems(self) -> list[str]:
        """Return the ids on sheet systems, in its order."""
        return self._frames.system_ids()

    def __getitem__(self, name: str) -> pd.DataFrame:
        """Return sheet `name`."""
        if name not in self.sheets:
            msg = (
                f"the workbook has no sheet {name!r} (it has {', '.join(self.sheets)}); "
                f"add one: wb[{name!r}] = ..."
            )
            raise KeyError(msg)
        return self.sheets[name]

    def __setitem__(self, name: str, table: pd.DataFrame | list[dict[str, Any]]) -> None:
        """Set sheet `name` to a DataFrame, or to records (rows of column -> value)."""
        import pandas as pd

        from etslink.inputs.frames import COLUMNS, table_of

        if name not in COLUMNS:
            msg = f"{name!r} is not a sheet of the workbook contract ({', '.join(COLUMNS)})"
            raise KeyError(msg)
        self.sheets[name] = table if isinstance(table, pd.DataFrame) else table_of(table, name)

    def __contains__(self, name: object) -> bool:
        """Return whether the workbook has sheet `name`."""
        return name in self.sheets

    def copy(self) -> Workbook:
        """Return a copy to change without changing this workbook (one per scenario)."""
        return Workbook._of(self._frames.copy())

    def subset(self, systems: str | Iterable[str]) -> Workbook:
        """Return a workbook of only `systems` and what belongs to them, as `--systems`.

        Their rows on every sheet; links, candidate links and border adjustments whose ends
        are both kept (a region that is no system stays); offset credits and their
        uncertain inputs while a kept system accepts them; calibration targets cut to the
        kept systems (`CA+QC` -> `CA`). An optional sheet left empty is dropped.

        Args:
            systems: System ids, e.g. ["CA", "QC"], or one text, "CA,QC".

        Raises:
            ValueError: no id, or an id that is not on sheet systems (the message lists
                those that are).
        """
        return Workbook._of(self._frames.subset(systems))

    def validate(self) -> list[str]:
        """Check the workbook as `etslink validate` does; return the warnings' messages.

        Raises:
            WorkbookError: the workbook has problems; `issues` holds the messages that
                `etslink run` prints.
        """
        from etslink.errors import messages
        from etslink.workflows.run import load_workbook

        try:
            _, warnings = load_workbook(self._frames)
        except InputError as error:
            raise WorkbookError(error.issues) from error
        return messages(warnings)

    def run(self, *, time_limit_s: float | None = None) -> RunResult:
        """Validate and solve the workbook as it stands: `etslink.run(self)`."""
        return run(self, time_limit_s=time_limit_s)

    def save(self, path: StrPath, *, overwrite: bool = False) -> Path:
        """Write the workbook as an .xlsx file, which `etslink run` reads to the same results.

        The contract sheets and columns are written, rows in their order (the other sheets,
        notes columns and formats of a file read are not). The file appears whole or not at
        all.

        Args:
            path: The file to write, ending in .xlsx (its folder is made if need be).
            overwrite: Replace a file of that name (else it is refused).

        Returns:
            The file written.

        Raises:
            FileExistsError: the file exists and `overwrite` is false; it is left untouched.
            ValueError: the name does not end in .xlsx.
            WorkbookError: a sheet or column that the contract does not know.
        """
        from etslink.inputs.frames import COLUMNS
        from etslink.inputs.workbook import write_workbook

        target = Path(path)
        if target.suffix.lower() != ".xlsx":
            msg = f"{target.name} does not end in .xlsx; etslink writes Excel workbooks"
            raise ValueError(msg)
        if target.exists() and not overwrite:
            msg = f'"{target}" exists; etslink never overwrites a file unless told (overwrite=True)'
            raise FileExistsError(msg)
        issues = self._frames.names_unknown()
        if issues:
            raise WorkbookError(issues)
        headers = {
            name: [c for c in COLUMNS[name] if c in frame.columns]
            for name, frame in self.sheets.items()
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.stem}.tmp-{os.getpid()}.xlsx")
        try:
            write_workbook(partial, self._frames.records(), headers)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    def __repr__(self) -> str:
        kept = f", subset of {len(self._frames.systems)}" if self._frames.systems else ""
        return (
            f"Workbook({self._frames.label!r}, sheets={list(self.sheets)}, "
            f"systems={self.systems}{kept})"
        )


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
    from etslink.outputs.runrecord import utc_stamp
    from etslink.workflows.sweep import PARTIAL_ROWS, plan_sweep, solve_sweep

    started, workbook = utc_stamp(), Path(path)
    try:
        plan = plan_sweep(workbook, draws)
    except InputError as error:
        raise WorkbookError(error.issues) from error
    with tempfile.TemporaryDirectory(prefix="etslink-sweep-") as folder:
        return solve_sweep(
            plan,
            Path(folder) / PARTIAL_ROWS,
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
    from etslink.workflows.explore import PARTIAL_ROWS, plan_explore, solve_explore

    started, workbook = utc_stamp(), Path(path)
    try:
        plan = plan_explore(workbook, max_size)
    except InputError as error:
        raise WorkbookError(error.issues) from error
    with tempfile.TemporaryDirectory(prefix="etslink-explore-") as folder:
        return solve_explore(
            plan,
            Path(folder) / PARTIAL_ROWS,
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


def compare(runs: Iterable[StrPath]) -> CompareResult:
    """Put finished runs side by side, the first as the base, as `etslink compare` does.

    Nothing is solved: the folders that `RunResult.write` or `etslink run --out` wrote are
    read. Nothing is written: call `.write(folder)` on the result for the files.

    Args:
        runs: Two or more run folders, the base first.

    Returns:
        Every run's prices, balances, costs and gains under a `scenario` column, each later
        run minus the first, the totals per scenario and the run record.

    Raises:
        WorkbookError: a folder is not a finished run (or is given twice, or the runs are in
            different currencies); `issues` lists every problem.
    """
    from etslink.workflows.compare import compare as side_by_side

    folders = [Path(run) for run in runs]
    try:
        return side_by_side(folders, command=["etslink.compare", *map(str, folders)])
    except InputError as error:
        raise WorkbookError(error.issues) from error
