"""etslink: a model of linked carbon emissions trading systems.

The Python API (docs/api.md): `Workbook` (a workbook as DataFrames, to change, cut to some
systems, run and save), `run`, `sweep`, `explore`, `calibrate` and `compare`, their results
`RunResult`, `SweepResult`, `ExploreResult`, `CalibrationResult` and `CompareResult`, and
the errors `WorkbookError`, `InfeasibleError` and `SolverTroubleError` (all
`EtslinkError`s).
`import etslink` is light: Pyomo, HiGHS, matplotlib and dask load on first use.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from etslink.api import (
    CalibrationResult,
    CompareResult,
    ExploreResult,
    RunResult,
    SweepResult,
    Workbook,
    WorkbookError,
    calibrate,
    compare,
    explore,
    run,
    sweep,
)
from etslink.errors import EtslinkError, InfeasibleError, SolverTroubleError

try:
    __version__ = version("etslink")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "CalibrationResult",
    "CompareResult",
    "EtslinkError",
    "ExploreResult",
    "InfeasibleError",
    "RunResult",
    "SolverTroubleError",
    "SweepResult",
    "Workbook",
    "WorkbookError",
    "calibrate",
    "compare",
    "explore",
    "run",
    "sweep",
]
