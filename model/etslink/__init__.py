"""etslink: a model of linked carbon emissions trading systems.

The Python API (docs/api.md): `run` and `sweep`, their results `RunResult` and
`SweepResult`, and the errors `WorkbookError`, `InfeasibleError` and `SolverTroubleError`
(all `EtslinkError`s). `import etslink` is light: Pyomo, HiGHS, matplotlib and dask load
on the first `run` or `sweep`.

`etslink.run` and `etslink.sweep` are also the names of internal modules (run.py,
sweep.py). Importing such a module makes Python set it as this package's attribute of the
same name, over the function; `_Package` below makes that module callable as the function
instead, so `etslink.run(...)` works before and after, and so do `etslink.run.load_workbook`
and `from etslink.run import ...`.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from etslink import api
from etslink.api import RunResult, StrPath, SweepResult, WorkbookError, run, sweep
from etslink.errors import EtslinkError, InfeasibleError, SolverTroubleError

try:
    __version__ = version("etslink")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "EtslinkError",
    "InfeasibleError",
    "RunResult",
    "SolverTroubleError",
    "SweepResult",
    "WorkbookError",
    "run",
    "sweep",
]


class _RunModule(ModuleType):
    """The module etslink.run, callable as the function `etslink.run` (same signature)."""

    def __call__(self, path: StrPath, *, time_limit_s: float | None = None) -> RunResult:
        return api.run(path, time_limit_s=time_limit_s)  # `run` here may be this module


class _SweepModule(ModuleType):
    """The module etslink.sweep, callable as the function `etslink.sweep` (same signature)."""

    def __call__(
        self,
        path: StrPath,
        *,
        draws: int | None = None,
        workers: int = 1,
        scheduler: str | None = None,
    ) -> SweepResult:
        return api.sweep(path, draws=draws, workers=workers, scheduler=scheduler)


_CALLABLE_MODULES: dict[str, type[ModuleType]] = {"run": _RunModule, "sweep": _SweepModule}


class _Package(ModuleType):
    """This package: a submodule named like an API function is made callable as it."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _CALLABLE_MODULES and isinstance(value, ModuleType):
            value.__class__ = _CALLABLE_MODULES[name]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
