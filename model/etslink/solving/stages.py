"""One solve of the market: HiGHS's options, the first stage, the smallest transfers (E14).

Also the diagnosis of an infeasible workbook. The loops that solve the market many times
(the reserve's fixed point in `equilibrium.py`, limited foresight's plans in `foresight.py`)
are layers of `stack.py` around these.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from typing import Any

import highspy

from etslink.core.data import ModelData
from etslink.errors import InfeasibleError, Shortfall, SolverTroubleError
from etslink.formulation import VARIABLES, build_model
from etslink.formulation.compliance import allowance_prices_pv
from etslink.formulation.stage_two import (
    add_smallest_transfers,
    copy_back,
    decided_values,
    groups_needing_stage_two,
    stage_two_data,
    take_parameters,
)
from etslink.instruments.declarations import Role
from etslink.instruments.reserve import ReserveYear
from etslink.solving.engine import CompiledCase, Solution, Solve

SOLVER = "highs"
DEFAULT_TIME_LIMIT_S = 3600.0
SOLVER_OPTIONS: dict[str, Any] = {
    "time_limit": DEFAULT_TIME_LIMIT_S,
    "threads": 1,
    "random_seed": 0,
    "qp_regularization_value": 0.0,
}
"""HiGHS options of every solve; one thread keeps results identical run to run. The QP
solver's default regularisation (1e-7) perturbs its duals by about 1e-6 relative; without it
the prices are exact to about 1e-12 and the 40x30 QP solves 1.7-2.7x faster (measured)."""

_REGULARISED = {k: v for k, v in SOLVER_OPTIONS.items() if k != "qp_regularization_value"}
RETRY_OPTIONS: tuple[dict[str, Any], ...] = (
    _REGULARISED,
    {**_REGULARISED, "user_bound_scale": 10},
    {**_REGULARISED, "user_bound_scale": 20},
)
"""Options of the retries when HiGHS stops without a verdict ("solve error", "not set"), in
order. Without regularisation HiGHS 1.16's QP solver can stop with no status on a Hessian that
is only semidefinite (seen on the example with an EU-California link): the first retry
regularises as HiGHS does by default (prices then exact to about 1e-6 relative). HiGHS's QP
solver also treats a row violated by less than about 1e-4 (here MtCO2e, i.e. 100 t) as
satisfied, stops and then rejects its own point (a system that must abate 1e-5 MtCO2e):
scaling bounds and right-hand sides by 2^10 (then 2^20) inside HiGHS removes that; prices of
such tiny markets then carry an absolute error near 1e-9."""

SHORTFALL_PENALTY_PER_tCO2e = 1e6
"""Cost of one tonne of non-compliance in the diagnosis re-solve [CUR per tCO2e]."""
SHORTFALL_TOLERANCE_MtCO2e = 1e-6


@dataclass(frozen=True)
class SolveOutcome:
    """What the solver did: status, objective [M CUR, base-year money], wall time [s].

    `stage_two` is the termination of the second stage (E14), or "not needed" when no group
    of linked systems can have other transfers, banks or credit uses at the same cost. With a
    reserve, `reserve` holds its operations at the market equilibrium, found after
    `reserve_iterations` solves.
    """

    status: str
    termination: str
    objective_Mcur: float
    seconds: float
    solver: str = SOLVER
    solver_version: str = ""
    options: dict[str, Any] = field(default_factory=lambda: dict(SOLVER_OPTIONS))
    stage_two: str = "not needed"
    reserve: tuple[ReserveYear, ...] = ()
    reserve_iterations: int = 0


def solver_version() -> str:
    """Return the HiGHS version as "major.minor.patch"."""
    parts = (highspy.HIGHS_VERSION_MAJOR, highspy.HIGHS_VERSION_MINOR, highspy.HIGHS_VERSION_PATCH)
    return ".".join(str(part) for part in parts)


def compile_case(model: Any) -> CompiledCase:
    """Return the model compiled for HiGHS with the options of every solve."""
    return CompiledCase(model, SOLVER_OPTIONS)


def first_stage(
    case: str, compiled: CompiledCase, data: ModelData, time_limit_s: float
) -> tuple[Solution, SolveOutcome]:
    """Solve (or re-solve warm) once, without the second stage."""
    run = compiled.solve(time_limit_s, RETRY_OPTIONS)
    if run.optimal:
        solution = compiled.solution()
        outcome = SolveOutcome(
            "ok",
            run.termination,
            run.objective,
            run.seconds,
            solver_version=solver_version(),
            options=run.options,
        )
        return solution, outcome
    if run.termination in ("infeasible", "infeasibleOrUnbounded"):
        raise InfeasibleError(case, diagnose_infeasibility(data, time_limit_s))
    raise SolverTroubleError(_trouble_message(case, run, time_limit_s))


def _trouble_message(case: str, run: Solve, time_limit_s: float) -> str:
    if run.termination == "maxTimeLimit":
        return (
            f"The solver reached the time limit of {time_limit_s:g} s in the {case} case. "
            "Fix: run again with a larger --time-limit, or shorten the workbook (fewer years "
            "or systems)."
        )
    return (
        f"The solver stopped without an optimal solution in the {case} case "
        f"({run.termination}). Fix: check the workbook for extreme numbers (e.g. a slope of "
        "1e12 next to one of 1e-6), or report this with the workbook attached."
    )


def smallest_transfers(
    first: Solution, data: ModelData, time_limit_s: float, span: tuple[int, int] | None = None
) -> str:
    """Solve (E14) for the least trade with the same costs; keep the first stage's duals.

    Only where it can change the answer (`groups_needing_stage_two`). The second stage is a
    small LP (no abatement options, no quadratic costs); its transfers, banks and credit
    uses replace the first stage's. Any dual optimum pairs with any primal optimum of a
    convex problem, so the first stage's prices stay valid. If the second stage fails, the
    first stage's solution stays, and its termination is returned for the run record.

    With `span`, a plan's first and last year, only within the plan: earlier and later years
    are held as the plan holds them and the balances after it are lifted.
    """
    if not data.links or not groups_needing_stage_two(data, allowance_prices_pv(first)):
        return "not needed"
    second = second_stage(first, data)
    held = _outside_the_plan(second, first, data, span) if span else {}
    before = {name: second.column_bounds(name) for name in held}
    balances = list(second.row_positions["compliance"])
    try:
        for name, values in held.items():
            second.set_column_bounds(name, {key: (v, v) for key, v in values.items()})
        if span:
            second.lift_rows("compliance", {key: key[1] > span[1] for key in balances})
        run = second.solve(time_limit_s, RETRY_OPTIONS)
        if run.optimal:
            copy_back(second.solution(), first, data)
    finally:
        for name, bounds in before.items():
            second.set_column_bounds(name, bounds)
        if span:
            second.lift_rows("compliance", dict.fromkeys(balances, False))
    return run.termination


def _outside_the_plan(
    second: CompiledCase, plan: Solution, d: ModelData, span: tuple[int, int]
) -> dict[str, dict[Any, float]]:
    """Return the values of the REDECIDED variables of (E14) outside the plan's years.

    Banks and credit uses keep the plan's values; each link's transfer t becomes its
    one-way flows max(t, 0) and max(-r t, 0).
    """
    first, last = span
    outside = {}
    for variable in VARIABLES:
        if variable.role is Role.REDECIDED and variable.name != "transfer_MtCO2e":
            values = plan.values(variable.name)
            outside[variable.name] = {
                key: values.get(key, 0.0)
                for key in second.column_positions.get(variable.name, {})
                if not first <= key[variable.year_position] <= last
            }
    transfers = plan.values("transfer_MtCO2e")
    flows = {}
    for link in d.links:
        forward, *back = link.one_way()
        for y in link.years:
            if first <= y <= last:
                continue
            t = transfers.get((link.name, y), 0.0)
            flows[forward.name, y] = max(t, 0.0)
            if back:
                flows[back[0].name, y] = max(-link.exchange_rate * t, 0.0)
    outside["transfer_MtCO2e"] = flows
    return outside


_SECOND_STAGES: weakref.WeakKeyDictionary[CompiledCase, tuple[ModelData, CompiledCase]] = (
    weakref.WeakKeyDictionary()
)
"""The compiled second stage of each first stage, and the data it is for."""


def _same_inputs(a: ModelData, b: ModelData) -> bool:
    """Return whether two cases' data hold the same inputs: one object, or equal digests.

    A single run builds its second stage once and never needs the digest (a SHA-256 of
    every input, about 30 ms at 50 systems x 30 years x 20 steps).
    """
    return a is b or a.digest == b.digest


def second_stage(first: Solution, data: ModelData) -> CompiledCase:
    """Return (E14) compiled for the first stage's case, built once and then re-solved warm.

    A fixed point or plan solves the second stage at every step; its structure does not
    change, only the decided amounts (column bounds) and the mutable Params do.
    """
    cached = _SECOND_STAGES.get(first.case)
    if cached is not None and _same_inputs(cached[0], data):
        compiled = cached[1]
        take_parameters(compiled.model, first)
        compiled.refresh()
        for name, values in decided_values(compiled.model, first).items():
            compiled.set_column_bounds(name, {key: (v, v) for key, v in values.items()})
        return compiled
    second = build_model(stage_two_data(first, data))
    add_smallest_transfers(second, first, data.transfer_timing)
    compiled = compile_case(second)
    _SECOND_STAGES[first.case] = (data, compiled)
    return compiled


def diagnose_infeasibility(
    data: ModelData, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> list[Shortfall]:
    """Re-solve with a penalised shortfall per system-year; return the positive ones.

    The systems are first diagnosed alone, so that a shortfall is named where it arises (a
    link only adds ways to comply; linked, the solver may place a group's shortfall in any
    of its systems); only if each system could comply alone is the linked case diagnosed.
    """
    linked = _shortfalls(data, time_limit_s)
    if not data.links:
        return linked
    alone = _shortfalls(data.without_links(), time_limit_s)
    if not alone:
        return linked

    def group_short(s: Shortfall) -> float:
        group = data.linked_with(s.system, s.year)
        return sum(x.shortfall_MtCO2e for x in linked if x.year == s.year and x.system in group)

    return [replace(s, alone=True, linked_MtCO2e=group_short(s)) for s in alone]


def _shortfalls(data: ModelData, time_limit_s: float) -> list[Shortfall]:
    """Return the system-years short of allowances in the penalised re-solve (E13)."""
    model = build_model(data, shortfall_penalty_per_tCO2e=SHORTFALL_PENALTY_PER_tCO2e)
    compiled = compile_case(model)
    if not compiled.solve(time_limit_s, RETRY_OPTIONS).optimal:
        return []
    shortfalls = compiled.solution().values("shortfall_MtCO2e")
    return [
        Shortfall(s, y, float(shortfalls[s, y]))
        for s, y in model.system_years
        if shortfalls.get((s, y), 0.0) > SHORTFALL_TOLERANCE_MtCO2e
    ]
