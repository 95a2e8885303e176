"""One run: workbook -> validated data -> both cases solved -> results (`etslink run`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from etslink.core.data import ModelData
from etslink.errors import Issue, messages
from etslink.inputs.frames import Frames
from etslink.inputs.model_data import build_model_data
from etslink.inputs.validate import validate
from etslink.inputs.workbook import read_workbook
from etslink.outputs.fit import fit_table, largest_differences
from etslink.outputs.products import RunResult, case_record, fewer_collections
from etslink.outputs.results import CaseResults, Results, extract_case, gains
from etslink.outputs.runrecord import Timings, run_record, utc_stamp
from etslink.outputs.switches import switch_warnings
from etslink.solving.cases import case_data
from etslink.solving.solve import solve_cases
from etslink.solving.stages import DEFAULT_TIME_LIMIT_S, solver_version


def load_workbook(
    workbook: Path | Frames, timings: Timings | None = None
) -> tuple[ModelData, list[Issue]]:
    """Read and validate a workbook, a file or tables changed in Python; return data, warnings.

    Raises:
        InputError: listing every problem of the workbook.
    """
    timings = timings or Timings()
    start = time.perf_counter()
    raw = workbook.raw() if isinstance(workbook, Frames) else read_workbook(workbook)
    timings.stage("read", start)
    start = time.perf_counter()
    checked = validate(raw)
    data = build_model_data(checked.tables, checked.settings, default_name=workbook.stem)
    timings.stage("validate", start)
    return data, checked.warnings


def run_cases(
    data: ModelData,
    timings: Timings | None = None,
    progress: Callable[[str], None] | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> Results:
    """Solve the linked and autarky cases and return their results.

    Args:
        data: The validated workbook.
        timings: Where to record wall times per stage [s].
        progress: Called with a short message before each stage.
        time_limit_s: HiGHS time limit per solve [s].

    Raises:
        InfeasibleError: a case admits no solution.
        SolverTroubleError: HiGHS stopped without an optimal solution.
    """
    timings = timings or Timings()
    cases: dict[str, CaseResults] = {}
    data_of = case_data(data)
    start = time.perf_counter()
    if progress:
        progress("solving linked")
    details = (lambda message: progress(f"solving {message}")) if progress else None
    for case, solution, outcome in solve_cases(data_of, time_limit_s, details):
        cases[case] = extract_case(case, solution, data_of[case], outcome)
        timings.stage(f"solve_{case}", start)
        start = time.perf_counter()
        if progress and case == "linked":
            progress("solving autarky")
    results = Results(data, cases)
    results.gains = gains(results)
    return results


@fewer_collections()
def solve_workbook(
    workbook: Path | Frames,
    *,
    time_limit_s: float | None = None,
    progress: Callable[[str], None] | None = None,
    warn: Callable[[list[Issue]], None] | None = None,
    started: str | None = None,
    command: list[str] | None = None,
) -> RunResult:
    """Read, validate and solve a workbook's two cases: what `run` and `etslink run` do.

    Args:
        workbook: The input workbook, or tables changed in Python (`etslink.Workbook`).
        time_limit_s: HiGHS's time limit per solve [s]; None: the default (3600).
        progress: Called with a short message before each stage.
        warn: Called with the workbook's warnings once it is validated, before solving, and
            with the results' once both cases are solved (a TNAC on a reserve's switch).
        started: When the run started (`runrecord.utc_stamp`); None: now.
        command: How the run was started, for the record; None: the command line.

    Raises:
        InputError: listing every problem of the workbook.
        InfeasibleError: a case admits no solution.
        SolverTroubleError: HiGHS stopped without an optimal solution.
    """
    started = started or utc_stamp()
    timings = Timings()
    label = Path(workbook.label) if isinstance(workbook, Frames) else workbook
    if progress:
        progress(f"reading and validating {label}")
    data, warnings = load_workbook(workbook, timings)
    if warn:
        warn(warnings)
    results = run_cases(data, timings, progress, time_limit_s or DEFAULT_TIME_LIMIT_S)
    switched = switch_warnings(results)
    if warn and switched:
        warn(switched)
    record = run_record(
        workbook, case_record(results), timings.seconds, solver_version(), started, command
    )
    if data.observations:
        record["fit"] = largest_differences(fit_table(results))
    return RunResult(label, results, messages(warnings + switched), record)
