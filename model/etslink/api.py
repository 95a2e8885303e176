"""The Python API: `etslink.run`, `etslink.sweep` and `etslink.explore`, results and errors.

`run` and the `etslink run` command share one implementation (`solve_workbook` and
`write_run` here), as do `sweep` and `etslink sweep` (`plan_sweep`, `solve_sweep` and
`write_sweep` in sweeps.py) and `explore` and `etslink explore` (`plan_explore`,
`solve_explore` and `write_explore` in explore.py): the command line only adds progress,
printing, exit codes and the resumable partial folder. Nothing here prints.

Importing this module is light: pandas, Pyomo, HiGHS, matplotlib and dask are imported by
the functions that need them, so that `import etslink` stays fast (a test checks it).
"""

from __future__ import annotations

import numbers
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from etslink.errors import EtslinkError, InputError, Issue, format_issues

if TYPE_CHECKING:
    import pandas as pd

    from etslink.data import ModelData
    from etslink.exploration import ExploreTables
    from etslink.results import Results

StrPath = str | os.PathLike[str]
"""A file or folder name, as a string or a path."""


def messages(issues: list[Issue]) -> list[str]:
    """Return every issue's message, without repeats, in the order `etslink run` prints them."""
    # InputError is where that order is defined; all messages are kept (the CLI shows 50)
    return [issue.message() for issue in InputError(issues).issues]


class WorkbookError(EtslinkError):
    """The workbook, or the file given as one, has problems; nothing was solved.

    Not a subclass of `InputError`: that error's `issues` are `Issue` records, and here they
    are the messages, as the contract says. The `InputError` is this error's `__cause__`.

    Attributes:
        issues: The messages `etslink run` prints, all of them and in its order, each
            `<sheet>!<cell> (<column>): <what is wrong>. Fix: <action>.`
        details: The same problems as `Issue` records (sheet, Excel row, cell, column,
            problem, fix), for programs that point at cells.
    """

    def __init__(self, issues: list[Issue]) -> None:
        self.details = InputError(issues).issues
        self.issues = [issue.message() for issue in self.details]
        super().__init__(format_issues(self.details))


@dataclass(repr=False)
class RunResult:
    """A solved workbook: the result tables of both cases, the warnings and the run record.

    Each table is a new pandas DataFrame with exactly the columns of the results.xlsx sheet
    of the same name, in its order; all but `gains` start with `case` (`linked`, `autarky`).

    Attributes:
        workbook: The input workbook.
        results: The model's own results object (per-case tables, the validated data).
        warnings: Messages about the workbook that did not stop the run, as `etslink run`
            prints them.
        record: The run record, as run.json holds it (but for the time of writing).
    """

    workbook: Path
    results: Results
    warnings: list[str]
    record: dict[str, Any]

    @property
    def prices(self) -> pd.DataFrame:
        """Allowance price per case, system and year [CUR per tCO2e, money of the year]."""
        return self.results.table("prices")

    @property
    def balances(self) -> pd.DataFrame:
        """Where each system-year's compliance comes from, per case [MtCO2e]."""
        return self.results.table("balances")

    @property
    def transfers(self) -> pd.DataFrame:
        """Allowances moved per direction of each link and year [MtCO2e of the exporter's]."""
        return self.results.table("transfers")

    @property
    def costs(self) -> pd.DataFrame:
        """Compliance cost items per case, system and year [M CUR, money of the year]."""
        return self.results.table("costs")

    @property
    def gains(self) -> pd.DataFrame:
        """Per system: discounted cost items of each case and the gain [M CUR, base-year money]."""
        return self.results.gains.copy()

    @property
    def shadow_prices(self) -> pd.DataFrame:
        """Every binding restriction per case with its shadow price [CUR per tCO2e]."""
        return self.results.table("shadow_prices")

    @property
    def offset_prices(self) -> pd.DataFrame:
        """Credit market price per case, offset type and year [CUR per tCO2e]."""
        return self.results.table("offset_prices")

    @property
    def offset_use(self) -> pd.DataFrame:
        """Credits used per case, system, type and year [MtCO2e] and their cost [M CUR]."""
        return self.results.table("offset_use")

    def write(self, out: StrPath) -> Path:
        """Write results.xlsx, report.html and run.json into `out`, as `etslink run --out`.

        The files appear all at once or not at all.

        Args:
            out: The output folder; it must not exist or be empty.

        Returns:
            The output folder.

        Raises:
            FileExistsError: `out` exists and is not an empty folder; it is left untouched.
        """
        from etslink.runrecord import refuse_output_dir_in_use

        folder = Path(out)
        write_run(self, folder, refuse_output_dir_in_use)
        return folder

    def __repr__(self) -> str:
        d = self.results.data
        return (
            f"RunResult(workbook={str(self.workbook)!r}, systems={len(d.systems)}, "
            f"system_years={len(d.system_years)}, links={len(d.links)}, "
            f"warnings={len(self.warnings)})"
        )


@dataclass(repr=False)
class SweepResult:
    """A sweep: every draw's rows, the summary tables, the warnings and the run record.

    Attributes:
        workbook: The input workbook.
        data: The validated workbook, before any draw.
        draws: One row per draw, case, system and year, as draws.csv.gz holds them.
        summary: The sheets of summary.xlsx but `run`: `price_statistics`, `gains`,
            `volatility`.
        warnings: Messages about the workbook that did not stop the sweep.
        record: The run record, as run.json holds it (with the seeds and failed draws).
    """

    workbook: Path
    data: ModelData
    draws: pd.DataFrame
    summary: dict[str, pd.DataFrame]
    warnings: list[str]
    record: dict[str, Any]

    @property
    def price_statistics(self) -> pd.DataFrame:
        """Price mean, sd and percentiles per case, system and year [CUR per tCO2e]."""
        return self.summary["price_statistics"]

    @property
    def gains(self) -> pd.DataFrame:
        """Per system: expected gain from linking, its sd [M CUR, PV], chance of a gain."""
        return self.summary["gains"]

    @property
    def volatility(self) -> pd.DataFrame:
        """Per system: price sd over draws and years, linked and alone [CUR per tCO2e]."""
        return self.summary["volatility"]

    def write(self, out: StrPath) -> Path:
        """Write draws.csv.gz, summary.xlsx, report.html and run.json, as `etslink sweep --out`.

        Args:
            out: The output folder; it must not exist or be empty.

        Returns:
            The output folder.

        Raises:
            FileExistsError: `out` exists and is not an empty folder; it is left untouched.
        """
        from etslink.runrecord import refuse_output_dir_in_use
        from etslink.sweeps import write_sweep

        folder = Path(out)
        write_sweep(self, folder, refuse_output_dir_in_use)
        return folder

    def __repr__(self) -> str:
        return (
            f"SweepResult(workbook={str(self.workbook)!r}, draws={self.record['draws']}, "
            f"failed_draws={len(self.record['failed_draws'])}, warnings={len(self.warnings)})"
        )


@dataclass(repr=False)
class ExploreResult:
    """An exploration of candidate links: the tables of explore.xlsx, warnings, run record.

    Attributes:
        workbook: The input workbook.
        data: The validated workbook with every candidate's links added (the status quo's
            links first).
        tables: The sheets of explore.xlsx but `run`.
        warnings: Messages about the workbook that did not stop the exploration.
        record: The run record, as run.json holds it.
    """

    workbook: Path
    data: ModelData
    tables: ExploreTables
    warnings: list[str]
    record: dict[str, Any]

    @property
    def candidates(self) -> pd.DataFrame:
        """One row per candidate row: id, link columns, gain alone [M CUR, PV]."""
        return self.tables.candidates

    @property
    def combinations(self) -> pd.DataFrame:
        """One row per combination: id, size, gain of all systems [M CUR, PV], status."""
        return self.tables.combinations

    @property
    def combination_gains(self) -> pd.DataFrame:
        """Per combination and system: cost, gain, money abroad [M CUR, PV], emissions [Mt]."""
        return self.tables.combination_gains

    @property
    def combination_prices(self) -> pd.DataFrame:
        """Per combination, system and year: the allowance price [CUR per tCO2e]."""
        return self.tables.combination_prices

    def write(self, out: StrPath) -> Path:
        """Write explore.xlsx, report.html and run.json, as `etslink explore --out`.

        Args:
            out: The output folder; it must not exist or be empty.

        Returns:
            The output folder.

        Raises:
            FileExistsError: `out` exists and is not an empty folder; it is left untouched.
        """
        from etslink.exploration import write_explore
        from etslink.runrecord import refuse_output_dir_in_use

        folder = Path(out)
        write_explore(self, folder, refuse_output_dir_in_use)
        return folder

    def __repr__(self) -> str:
        return (
            f"ExploreResult(workbook={str(self.workbook)!r}, "
            f"candidates={len(self.record['candidates'])}, "
            f"combinations={self.record['combinations']}, warnings={len(self.warnings)})"
        )


def case_record(results: Results) -> dict[str, Any]:
    """Return per case the solver's status, objective [M CUR, PV], time [s] and options.

    `stage_two` is the second stage's status (E14): "optimal", "not needed" or HiGHS's
    termination when it failed (the first stage's transfers then stay); with a reserve,
    `reserve_steps` is how many solves its fixed point took (E15).
    """
    return {
        case: {
            "status": r.outcome.status,
            "termination": r.outcome.termination,
            "stage_two": r.outcome.stage_two,
            **({"reserve_steps": r.outcome.reserve_iterations} if r.outcome.reserve else {}),
            "objective_pv_M" + results.data.currency: r.outcome.objective_Mcur,
            "solve_seconds": round(r.outcome.seconds, 4),
            "solver": r.outcome.solver,
            "solver_options": r.outcome.options,
        }
        for case, r in results.cases.items()
    }


def solve_workbook(
    workbook: Path,
    *,
    time_limit_s: float | None = None,
    progress: Callable[[str], None] | None = None,
    warn: Callable[[list[Issue]], None] | None = None,
    started: str | None = None,
    command: list[str] | None = None,
) -> RunResult:
    """Read, validate and solve a workbook's two cases: what `run` and `etslink run` do.

    Args:
        workbook: The input workbook.
        time_limit_s: HiGHS's time limit per solve [s]; None: the default (3600).
        progress: Called with a short message before each stage.
        warn: Called with the workbook's warnings once it is validated, before solving.
        started: When the run started (`runrecord.utc_stamp`); None: now.
        command: How the run was started, for the record; None: the command line.

    Raises:
        InputError: listing every problem of the workbook.
        InfeasibleError: a case admits no solution.
        SolverTroubleError: HiGHS stopped without an optimal solution.
    """
    from etslink.pipeline import Timings, load_workbook, run_cases
    from etslink.runrecord import run_record, utc_stamp
    from etslink.stages import DEFAULT_TIME_LIMIT_S, solver_version

    started = started or utc_stamp()
    timings = Timings()
    if progress:
        progress(f"reading and validating {workbook}")
    data, warnings = load_workbook(workbook, timings)
    if warn:
        warn(warnings)
    results = run_cases(data, timings, progress, time_limit_s or DEFAULT_TIME_LIMIT_S)
    record = run_record(
        workbook, case_record(results), timings.seconds, solver_version(), started, command
    )
    return RunResult(workbook, results, messages(warnings), record)


def write_run(result: RunResult, out: Path, check: Callable[[Path], None]) -> None:
    """Write results.xlsx, report.html and run.json into `out`, all or nothing.

    run.json adds the time of writing [s] to the record's timings.

    Args:
        result: The solved workbook.
        out: The output folder.
        check: Raises unless `out` may be used (the CLI's InputError, the API's
            FileExistsError).
    """
    from etslink.pipeline import Timings
    from etslink.report.excel import write_results_workbook
    from etslink.report.html import write_report
    from etslink.runrecord import atomic_output_dir, write_json

    start = time.perf_counter()
    with atomic_output_dir(out, check) as tmp:
        write_results_workbook(result.results, result.record, tmp / "results.xlsx")
        write_report(result.results, result.record, tmp / "report.html")
        timings = Timings(dict(result.record["timings_s"]))
        timings.stage("write", start)
        write_json(tmp / "run.json", result.record | {"timings_s": timings.seconds})


def run(path: StrPath, *, time_limit_s: float | None = None) -> RunResult:
    """Validate a workbook and solve its linked and autarky cases, as `etslink run` does.

    Nothing is written: call `.write(folder)` on the result for the files.

    Args:
        path: The input workbook (.xlsx or .ods).
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
    workbook = Path(path)
    try:
        return solve_workbook(
            workbook, time_limit_s=time_limit_s, command=["etslink.run", str(workbook)]
        )
    except InputError as error:
        raise WorkbookError(error.issues) from error


def sweep(
    path: StrPath,
    *,
    draws: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> SweepResult:
    """Solve both cases for each draw of the workbook's `uncertainty` sheet, on dask.

    Draw i depends only on the workbook's `seed` and i, so the numbers do not depend on
    `workers`. Unless `scheduler` is given, this starts a local dask cluster of worker
    processes: call it under `if __name__ == "__main__":` in a script.

    Args:
        path: The input workbook (.xlsx or .ods) with an `uncertainty` sheet.
        draws: Number of draws; None: the `draws` setting (default 100).
        workers: Worker processes of the local cluster (ignored with `scheduler`).
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
    from etslink.runrecord import utc_stamp
    from etslink.sweeps import DRAWS_FILE, plan_sweep, solve_sweep

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
    from etslink.exploration import PARTIAL_FILE, plan_explore, solve_explore
    from etslink.runrecord import utc_stamp

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
