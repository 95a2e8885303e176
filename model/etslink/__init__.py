"""etslink: a model of linked carbon emissions trading systems.

The Python API (docs/api.md): `run`, `sweep`, `explore` and `calibrate`, their results
`RunResult`, `SweepResult`, `ExploreResult` and `CalibrationResult`, and the errors
`WorkbookError`, `InfeasibleError` and `SolverTroubleError` (all `EtslinkError`s).
`import etslink` is light: Pyomo, HiGHS, matplotlib and dask load on first use.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from etslink.api import (
    CalibrationResult,
    ExploreResult,
    RunResult,
    SweepResult,
    WorkbookError,
    calibrate,
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
    "EtslinkError",
    "ExploreResult",
    "InfeasibleError",
    "RunResult",
    "SolverTroubleError",
    "SweepResult",
    "WorkbookError",
    "calibrate",
    "explore",
    "run",
    "sweep",
]
