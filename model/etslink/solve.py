"""The only module that talks to HiGHS: options, status, duals and infeasibility diagnosis."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyomo.environ as pyo

from etslink.data import ModelData
from etslink.errors import InfeasibleError, Shortfall, SolverTroubleError
from etslink.formulation import build_model
from etslink.formulation.links import (
    MOVED_IN_STAGE_TWO,
    add_smallest_transfers,
    net_transfer,
    stage_two_data,
)
from etslink.formulation.parameters import set_parameters, swept_parameters

SOLVER = "highs"
DEFAULT_TIME_LIMIT_S = 3600.0
SOLVER_OPTIONS: dict[str, Any] = {
    "time_limit": DEFAULT_TIME_LIMIT_S,
    "threads": 1,
    "random_seed": 0,
}
"""HiGHS options of every solve; one thread keeps results identical run to run."""

RETRY_OPTIONS: tuple[dict[str, Any], ...] = (
    {**SOLVER_OPTIONS, "user_bound_scale": 10},
    {**SOLVER_OPTIONS, "user_bound_scale": 20},
)
"""Options of the retries after a HiGHS "solve error", in order. HiGHS's QP solver treats a
row violated by less than about 1e-4 (here MtCO2e, i.e. 100 t) as satisfied, stops at once and
then rejects its own point against the 1e-7 tolerance (seen with HiGHS 1.16 on a system that
must abate 1e-5 MtCO2e). Scaling bounds and right-hand sides up by 2^10 (then 2^20) inside
HiGHS removes that; prices of such tiny markets then carry an absolute error near 1e-9."""

SHORTFALL_PENALTY_PER_tCO2e = 1e6
"""Cost of one tonne of non-compliance in the diagnosis re-solve [CUR per tCO2e]."""
SHORTFALL_TOLERANCE_MtCO2e = 1e-6


@dataclass(frozen=True)
class SolveOutcome:
    """What the solver did: status, objective [M CUR, base-year money], wall time [s]."""

    status: str
    termination: str
    objective_Mcur: float
    seconds: float
    solver: str = SOLVER
    solver_version: str = ""
    options: dict[str, Any] = field(default_factory=lambda: dict(SOLVER_OPTIONS))


def solver_version() -> str:
    """Return the HiGHS version as "major.minor.patch"."""
    return ".".join(str(part) for part in pyo.SolverFactory(SOLVER).version())


def _solve(
    model: pyo.ConcreteModel, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> tuple[Any, float, dict[str, Any]]:
    """Solve, retrying with RETRY_OPTIONS after a solver error; return the options used."""
    if not hasattr(model, "dual"):
        model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    solver = pyo.SolverFactory(SOLVER)
    start = time.perf_counter()
    for base in (SOLVER_OPTIONS, *RETRY_OPTIONS):
        options = {**base, "time_limit": time_limit_s}
        result = solver.solve(model, load_solutions=False, options=dict(options))
        if result.solver.termination_condition != pyo.TerminationCondition.error:
            break
    return result, time.perf_counter() - start, options


def solve_case(
    case: str, data: ModelData, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> tuple[pyo.ConcreteModel, SolveOutcome]:
    """Build and solve one case; return the solved model (primal and duals loaded).

    Raises:
        InfeasibleError: the inputs admit no solution (names the short system-years).
        SolverTroubleError: HiGHS stopped for another reason (time limit, numerics).
    """
    model = build_model(data)
    return model, solve_model(case, model, data, time_limit_s)


def solve_model(
    case: str, model: pyo.ConcreteModel, data: ModelData, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> SolveOutcome:
    """Solve a built model of one case, then (E14) if it has links; load primal and duals.

    Raises:
        InfeasibleError: the inputs admit no solution (names the short system-years).
        SolverTroubleError: HiGHS stopped for another reason (time limit, numerics).
    """
    result, seconds, options = _solve(model, time_limit_s)
    termination = result.solver.termination_condition
    if termination == pyo.TerminationCondition.optimal:
        model.solutions.load_from(result)
        if len(model.link_years):
            _smallest_transfers(model, data)
        return SolveOutcome(
            str(result.solver.status),
            str(termination),
            float(pyo.value(model.total_cost)),
            seconds,
            solver_version=solver_version(),
            options=options,
        )
    if termination in (
        pyo.TerminationCondition.infeasible,
        pyo.TerminationCondition.infeasibleOrUnbounded,
    ):
        raise InfeasibleError(case, diagnose_infeasibility(data))
    raise SolverTroubleError(_trouble_message(case, termination, time_limit_s))


def _trouble_message(case: str, termination: Any, time_limit_s: float) -> str:
    if termination == pyo.TerminationCondition.maxTimeLimit:
        return (
            f"The solver reached the time limit of {time_limit_s:g} s in the {case} case. "
            "Fix: run again with a larger --time-limit, or shorten the workbook (fewer years "
            "or systems)."
        )
    return (
        f"The solver stopped without an optimal solution in the {case} case ({termination}). "
        "Fix: check the workbook for extreme numbers (e.g. a slope of 1e12 next to one of "
        "1e-6), or report this with the workbook attached."
    )


def _smallest_transfers(model: pyo.ConcreteModel, data: ModelData) -> None:
    """Solve (E14) for the least trade with the same costs; keep the first stage's duals.

    The second stage is a small LP (no abatement options, no quadratic costs); its transfers,
    banks and credit uses replace the first stage's. Any dual optimum pairs with any primal
    optimum of a convex problem, so the first stage's prices stay valid. If the second stage
    fails, the first stage's solution stays.
    """
    second = build_model(stage_two_data(model, data))
    add_smallest_transfers(second, model)
    result, _, _ = _solve(second)
    if result.solver.termination_condition != pyo.TerminationCondition.optimal:
        return
    second.solutions.load_from(result)
    for name in MOVED_IN_STAGE_TWO:
        target = getattr(model, name)
        for key, var in getattr(second, name).items():
            target[key].set_value(var.value, skip_validation=True)
    for link in data.links:
        for year in link.years:
            value = net_transfer(link, year, second)
            model.transfer_MtCO2e[link.name, year].set_value(value, skip_validation=True)


def diagnose_infeasibility(data: ModelData) -> list[Shortfall]:
    """Re-solve with a penalised shortfall per system-year; return the positive ones."""
    model = build_model(data, shortfall_penalty_per_tCO2e=SHORTFALL_PENALTY_PER_tCO2e)
    result, _, _ = _solve(model)
    if result.solver.termination_condition != pyo.TerminationCondition.optimal:
        return []
    model.solutions.load_from(result)
    return [
        Shortfall(s, y, float(pyo.value(model.shortfall_MtCO2e[s, y])))
        for s, y in model.system_years
        if pyo.value(model.shortfall_MtCO2e[s, y]) > SHORTFALL_TOLERANCE_MtCO2e
    ]


NEEDED_IN_A_DRAW = (
    "abatement_linear_MtCO2e",
    "abatement_step_MtCO2e",
    "transfer_MtCO2e",
    "offset_use_MtCO2e",
    "ceiling_sales_MtCO2e",
)
"""Primal values a sweep draw's results need; the others are not loaded."""


@contextlib.contextmanager
def _quiet_pyomo() -> Iterator[None]:
    """Hide Pyomo's warnings (not errors) for the duration of the block."""
    logger = logging.getLogger("pyomo.core")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class DrawSolver:
    """One case's model with a persistent HiGHS instance, re-solved draw after draw.

    The model is built once; each draw only changes the mutable parameters, and HiGHS
    starts from the previous draw's basis.
    """

    def __init__(self, data: ModelData) -> None:
        from pyomo.contrib.solver.solvers.highs import Highs

        self.model = build_model(data, mutable=swept_parameters(data))
        self.model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        self.solver = Highs()
        self.solver.config.load_solutions = False
        self.solver.config.raise_exception_on_nonoptimal_result = False
        self.solver.config.solver_options.update(
            {k: v for k, v in SOLVER_OPTIONS.items() if k != "time_limit"}
        )

    def solve(self, drawn: ModelData) -> str:
        """Re-solve with the parameters of `drawn`; load what a draw needs; return the status.

        The status is "optimal" or HiGHS's termination; only when optimal are the needed
        primal values and the duals of (E11) and (E6) loaded into the model.
        """
        from pyomo.contrib.solver.common.results import TerminationCondition

        m = self.model
        set_parameters(m, drawn)
        result = self.solver.solve(m)
        if result.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
            return str(result.termination_condition)
        with _quiet_pyomo():  # values a hair outside their bounds are solver tolerance
            result.solution_loader.load_vars(
                [v for name in NEEDED_IN_A_DRAW for v in getattr(m, name).values()]
            )
        rows = [c for con in (m.compliance, m.offset_market) for c in con.values()]
        m.dual.clear()
        m.dual.update(result.solution_loader.get_duals(rows))
        return "optimal"
