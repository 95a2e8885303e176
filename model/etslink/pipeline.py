"""One run: workbook -> validated data -> both cases solved -> results."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from etslink.cases import case_data
from etslink.data import ModelData, build_model_data
from etslink.errors import Issue
from etslink.results import CaseResults, Results, extract_case, gains
from etslink.solve import solve_cases
from etslink.stages import DEFAULT_TIME_LIMIT_S
from etslink.validate import validate
from etslink.workbook import read_workbook


@dataclass
class Timings:
    """Wall time per stage [s]."""

    seconds: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str, start: float) -> None:
        """Record the time since `start` (a `time.perf_counter()` reading) as `name`."""
        self.seconds[name] = round(time.perf_counter() - start, 4)


def load_workbook(path: Path, timings: Timings | None = None) -> tuple[ModelData, list[Issue]]:
    """Read and validate a workbook; return its data and the warnings.

    Raises:
        InputError: listing every problem of the workbook.
    """
    timings = timings or Timings()
    start = time.perf_counter()
    raw = read_workbook(path)
    timings.stage("read", start)
    start = time.perf_counter()
    checked = validate(raw)
    data = build_model_data(checked.tables, checked.settings, default_name=path.stem)
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
