"""The only module that talks to HiGHS: options, status, duals and infeasibility diagnosis."""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np

from etslink.cases import Case
from etslink.data import ModelData
from etslink.engine import CompiledCase, Solution, Solve
from etslink.errors import InfeasibleError, Shortfall, SolverTroubleError
from etslink.formulation import VARIABLES, build_model
from etslink.formulation.declarations import Role
from etslink.formulation.parameters import set_parameters, swept_parameters
from etslink.formulation.stage_two import (
    add_smallest_transfers,
    copy_back,
    decided_values,
    groups_needing_stage_two,
    stage_two_data,
    take_parameters,
)
from etslink.reserve import ReserveYear, reserve_path

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


def solve_case(
    case: str, data: ModelData, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> tuple[Solution, SolveOutcome]:
    """Build and solve one case; return its solution.

    Raises:
        InfeasibleError: the inputs admit no solution (names the short system-years).
        SolverTroubleError: HiGHS stopped for another reason (time limit, numerics).
    """
    return solve_compiled(case, compile_case(build_model(data)), data, time_limit_s)


def solve_cases(
    cases: Mapping[Case, ModelData],
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
) -> Iterator[tuple[Case, Solution, SolveOutcome]]:
    """Solve the linked case, then the autarky case as the same model with links switched off.

    Autarky is the linked model with every transfer held at zero by its bounds, re-solved
    warm from the linked basis: the same problem as building it without links, for the cost
    of one warm re-solve. Yields (case, solution, outcome) as each case is solved.
    """
    compiled = compile_case(build_model(cases["linked"]))
    solution, outcome = solve_compiled("linked", compiled, cases["linked"], time_limit_s, progress)
    yield "linked", solution, outcome
    transfers = compiled.model.transfer_MtCO2e
    compiled.set_column_bounds("transfer_MtCO2e", dict.fromkeys(transfers, (0.0, 0.0)))
    solution, outcome = solve_compiled(
        "autarky", compiled, cases["autarky"], time_limit_s, progress
    )
    yield "autarky", solution, outcome


def solve_compiled(
    case: str,
    compiled: CompiledCase,
    data: ModelData,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
) -> tuple[Solution, SolveOutcome]:
    """Solve (or re-solve warm) a compiled case, then (E14) where it can change the answer.

    With a reserve, the market equilibrium under it (see `market_equilibrium`).

    Raises:
        InfeasibleError: the inputs admit no solution (names the short system-years).
        SolverTroubleError: HiGHS stopped for another reason (time limit, numerics), or the
            reserve's operations found no fixed point.
    """
    if data.foresight_years and data.foresight_years < len(_years(data)):
        return limited_foresight(case, compiled, data, time_limit_s, progress)
    if data.reserve_rules:
        return market_equilibrium(case, compiled, data, time_limit_s, progress)
    return _solve_once(case, compiled, data, time_limit_s)


def _years(d: ModelData) -> list[int]:
    return sorted({y for _, y in d.system_years})


def limited_foresight(
    case: str,
    compiled: CompiledCase,
    data: ModelData,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
) -> tuple[Solution, SolveOutcome]:
    """Decide the years one at a time, each plan seeing `data.foresight_years` years.

    The plan of year y covers y..y+H-1: the balances of later years are lifted (any bank
    carried past the horizon is worth nothing in it), the decisions of earlier years are
    held at their values. Year y's decisions and the duals of its rows (its prices) are
    kept; then the next plan. With a reserve, each plan is a market equilibrium under it,
    with the smallest transfers (E14) taken within the plan at every step (the reserve reads
    each system's own bank); without one, they are chosen once, over the path decided.
    """
    years = _years(data)
    horizon = data.foresight_years or len(years)
    balances = list(compiled.row_positions["compliance"])
    columns = {v.name: compiled.column_bounds(v.name) for v in VARIABLES}
    row_year = np.array([con.index()[-1] for con in compiled.rows])
    duals = np.zeros(len(compiled.rows))
    held: dict[str, dict[Any, tuple[float, float]]] = {name: {} for name in columns}
    stage_twos: set[str] = set()
    try:
        for i, year in enumerate(years):
            end = years[min(i + horizon, len(years)) - 1]
            _plan_bounds(compiled, balances, columns, held, end)
            if progress:
                progress(f"{case}: plan {year}-{end}")
            plan, planned = _plan(case, compiled, data, time_limit_s, (year, end))
            stage_twos.add(planned.stage_two)
            duals[row_year == year] = plan.row_duals[row_year == year]
            _hold_year(plan, year, columns, held)
    finally:
        compiled.lift_rows("compliance", dict.fromkeys(balances, False))
        for name, bounds in columns.items():
            compiled.set_column_bounds(name, bounds)
    path = Solution(compiled, plan.x, duals)
    outcome = SolveOutcome(
        "ok",
        "optimal",
        compiled.objective_value(path.x),
        0.0,
        solver_version=solver_version(),
        options=dict(compiled.options),
        stage_two=(
            _worst(stage_twos)  # taken within each plan: the reserve read those banks
            if data.reserve_rules
            else _smallest_transfers(path, data, time_limit_s)
        ),
    )
    if data.reserve_rules:
        outcome = replace(outcome, reserve=tuple(reserve_paths(path, data)))
    return path, outcome


def _worst(stage_twos: set[str]) -> str:
    """Return a failed second stage's termination if any plan had one, else the best."""
    failed = sorted(stage_twos - {"optimal", "not needed"})
    return failed[0] if failed else ("optimal" if "optimal" in stage_twos else "not needed")


def _plan(
    case: str,
    compiled: CompiledCase,
    data: ModelData,
    time_limit_s: float,
    span: tuple[int, int],
) -> tuple[Solution, SolveOutcome]:
    """Return the solution of one plan of limited foresight, over the years `span`.

    Without a reserve the first stage decides the plan. With one, the reserve reads each
    system's own bank, so each step of its fixed point also takes the smallest transfers
    (E14) within the plan's years, earlier and later years held as the plan holds them.
    """
    if data.reserve_rules:
        step = functools.partial(_plan_step, span=span)
        return market_equilibrium(case, compiled, data, time_limit_s, step=step)
    return _first_stage(case, compiled, data, time_limit_s)


def _plan_step(
    case: str, compiled: CompiledCase, data: ModelData, time_limit_s: float, span: tuple[int, int]
) -> tuple[Solution, SolveOutcome]:
    """Solve a plan once, then (E14) restricted to its years (see `_plan`)."""
    solution, outcome = _first_stage(case, compiled, data, time_limit_s)
    prices = {key: -dual for key, dual in solution.duals("compliance").items()}
    if not data.links or not groups_needing_stage_two(data, prices):
        return solution, outcome
    second = _second_stage(solution, data)
    held = _outside_the_plan(second, solution, data, span)
    before = {name: second.column_bounds(name) for name in held}
    balances = list(second.row_positions["compliance"])
    try:
        for name, values in held.items():
            second.set_column_bounds(name, {key: (v, v) for key, v in values.items()})
        second.lift_rows("compliance", {key: key[1] > span[1] for key in balances})
        run = second.solve(time_limit_s, RETRY_OPTIONS)
        if run.optimal:
            copy_back(second.solution(), solution, data)
    finally:
        for name, bounds in before.items():
            second.set_column_bounds(name, bounds)
        second.lift_rows("compliance", dict.fromkeys(balances, False))
    return solution, replace(outcome, stage_two=run.termination)


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


def _plan_bounds(
    compiled: CompiledCase,
    balances: list[tuple[str, int]],
    columns: Mapping[str, Mapping[Any, tuple[float, float]]],
    held: Mapping[str, Mapping[Any, tuple[float, float]]],
    end: int,
) -> None:
    """Set the bounds of a plan ending in `end`: past decisions held, later years switched off.

    Balances after `end` are lifted and every decision after `end` is held at zero, so a bank
    carried past the horizon is worth nothing in the plan.
    """
    compiled.lift_rows("compliance", {key: key[1] > end for key in balances})
    for variable in VARIABLES:
        original = columns[variable.name]
        compiled.set_column_bounds(
            variable.name,
            {
                key: held[variable.name].get(key)
                or ((0.0, 0.0) if key[variable.year_position] > end else bounds)
                for key, bounds in original.items()
            },
        )


def _hold_year(
    plan: Solution,
    year: int,
    columns: Mapping[str, Mapping[Any, Any]],
    held: dict[str, dict[Any, tuple[float, float]]],
) -> None:
    """Record every decision of `year` at the plan's value, to hold in later plans."""
    for variable in VARIABLES:
        if not columns[variable.name]:
            continue
        values = plan.values(variable.name)
        held[variable.name] |= {
            key: (values[key], values[key])
            for key in columns[variable.name]
            if key[variable.year_position] == year
        }


def _solve_once(
    case: str, compiled: CompiledCase, data: ModelData, time_limit_s: float
) -> tuple[Solution, SolveOutcome]:
    """Solve (or re-solve warm) once, then (E14) where it can change the answer."""
    solution, outcome = _first_stage(case, compiled, data, time_limit_s)
    stage_two = _smallest_transfers(solution, data, time_limit_s)
    return solution, replace(outcome, stage_two=stage_two)


def _first_stage(
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


RESERVE_MAX_ITERATIONS = 200
RESERVE_TOLERANCE = 1e-8
"""A fixed point is reached when no year's reserve operation moves by more than this share of
the system's largest cap [MtCO2e per MtCO2e] between the supply assumed and the one that
follows from the solution."""
RESERVE_MIN_STEP = 1 / 64


Step = Callable[[str, CompiledCase, ModelData, float], tuple[Solution, SolveOutcome]]
"""One solve of the market: first stage only, or with the second stage (E14)."""


def market_equilibrium(
    case: str,
    compiled: CompiledCase,
    data: ModelData,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
    step: Step | None = None,
) -> tuple[Solution, SolveOutcome]:
    """Return the market equilibrium under the reserve: supply and solution at a fixed point.

    Firms take the reserve's release - intake (E15) as given. Each step solves the market
    (warm, with the second stage where banks are not unique), applies the reserve's rules to
    the resulting TNAC path, and moves the assumed supply towards what the rules give
    (Anderson acceleration, with damped steps whenever the discrepancy does not shrink).

    Raises:
        SolverTroubleError: no fixed point after RESERVE_MAX_ITERATIONS steps; names the
            system-years whose reserve operation still moves.
    """
    param = compiled.model.reserve_supply_MtCO2e
    keys = list(param)
    supply = {key: float(param[key].value) for key in keys}
    accelerate = _Anderson()
    for iteration in range(1, RESERVE_MAX_ITERATIONS + 1):
        solution, outcome = (step or _solve_once)(case, compiled, data, time_limit_s)
        path = reserve_paths(solution, data)
        target = {(r.system, r.year): r.supply_change_MtCO2e for r in path}
        moving = _moving(data, supply, target)
        if progress:
            largest = max((abs(v) for v in moving.values()), default=0.0)
            progress(f"{case}: reserve step {iteration}, largest change {largest:.3g} MtCO2e")
        if not moving:
            return solution, replace(outcome, reserve=tuple(path), reserve_iterations=iteration)
        assumed = np.array([supply[k] for k in keys])
        following = np.array([target[k] for k in keys])
        for key, value in zip(keys, accelerate.next(assumed, following), strict=True):
            supply[key] = float(value)
            param[key].set_value(supply[key])
        compiled.refresh()
    raise SolverTroubleError(_cycle_message(case, moving))


class _Anderson:
    """The next point of a fixed-point iteration x = F(x): Anderson acceleration, safeguarded.

    From the last few steps it extrapolates to where the discrepancy F(x) - x would vanish
    (exact for a linear map); whenever the largest discrepancy does not shrink, it forgets
    them and takes a damped step instead, the damping halving each time down to
    RESERVE_MIN_STEP (the rules are step functions of the TNAC, where extrapolation fails).
    """

    memory = 5

    def __init__(self) -> None:
        self.points: list[tuple[np.ndarray, np.ndarray]] = []
        self.share = 1.0
        self.previous = math.inf

    def next(self, x: np.ndarray, fx: np.ndarray) -> np.ndarray:
        """Return the next point to try, given the last point x and F(x)."""
        gap = float(np.max(np.abs(fx - x)))
        if gap >= self.previous:
            self.points, self.share = [], max(self.share / 2, RESERVE_MIN_STEP)
            self.previous = gap
            return x + self.share * (fx - x)
        self.previous = gap
        self.points = [*self.points[-self.memory :], (x, fx)]
        if len(self.points) < 2:
            return x + self.share * (fx - x)
        residuals = np.array([f - p for p, f in self.points])
        values = np.array([f for _, f in self.points])
        d_residuals, d_values = np.diff(residuals, axis=0), np.diff(values, axis=0)
        weights, *_ = np.linalg.lstsq(d_residuals.T, residuals[-1], rcond=None)
        return values[-1] - d_values.T @ weights


def _moving(
    d: ModelData, assumed: Mapping[Any, float], target: Mapping[Any, float]
) -> dict[Any, float]:
    """Return the reserve system-years whose operation moves beyond the tolerance [MtCO2e]."""
    scale = {s: max([1.0, *(d.cap_MtCO2e[s, y] for y in d.years_of(s))]) for s, _ in assumed}
    return {
        key: target[key] - value
        for key, value in assumed.items()
        if abs(target[key] - value) > RESERVE_TOLERANCE * scale[key[0]]
    }


def _cycle_message(case: str, moving: Mapping[tuple[str, int], float]) -> str:
    years = ", ".join(f"{s} {y}" for s, y in sorted(moving)[:10])
    return (
        f"The reserve found no fixed point in the {case} case after {RESERVE_MAX_ITERATIONS} "
        f"steps: its intake or release still moves in {years}. The TNAC there sits at a "
        "threshold, where a small change of supply switches the reserve on and off. Fix: "
        "check the reserve's thresholds and the caps of those years on sheet msr and "
        "emissions; a threshold a little above or below the TNAC gives a fixed point."
    )


def reserve_paths(solution: Solution, d: ModelData) -> list[ReserveYear]:
    """Return the reserve's operations in every year of every system with a reserve."""
    banks = solution.values("bank_MtCO2e")
    paths = []
    for system in sorted({rule.system for rule in d.reserve_rules}):
        years = d.years_of(system)
        tnac = {years[0]: d.initial_bank_MtCO2e[system]}
        pairs = zip(years, years[1:], strict=False)
        tnac |= {y: banks.get((system, previous), 0.0) for previous, y in pairs}
        paths += reserve_path(d, system, tnac)
    return paths


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


def _smallest_transfers(first: Solution, data: ModelData, time_limit_s: float) -> str:
    """Solve (E14) for the least trade with the same costs; keep the first stage's duals.

    Only where it can change the answer (`groups_needing_stage_two`). The second stage is a
    small LP (no abatement options, no quadratic costs); its transfers, banks and credit
    uses replace the first stage's. Any dual optimum pairs with any primal optimum of a
    convex problem, so the first stage's prices stay valid. If the second stage fails, the
    first stage's solution stays, and its termination is returned for the run record.
    """
    prices = {key: -dual for key, dual in first.duals("compliance").items()}
    if not data.links or not groups_needing_stage_two(data, prices):
        return "not needed"
    compiled = _second_stage(first, data)
    run = compiled.solve(time_limit_s, RETRY_OPTIONS)
    if run.optimal:
        copy_back(compiled.solution(), first, data)
    return run.termination


_SECOND_STAGES: weakref.WeakKeyDictionary[CompiledCase, tuple[str, CompiledCase]] = (
    weakref.WeakKeyDictionary()
)
"""The compiled second stage of each first stage, and the digest of the data it is for."""


def _second_stage(first: Solution, data: ModelData) -> CompiledCase:
    """Return (E14) compiled for the first stage's case, built once and then re-solved warm.

    A fixed point or plan solves the second stage at every step; its structure does not
    change, only the decided amounts (column bounds) and the mutable Params do.
    """
    cached = _SECOND_STAGES.get(first.case)
    if cached is not None and cached[0] == data.digest:
        compiled = cached[1]
        take_parameters(compiled.model, first)
        compiled.refresh()
        for name, values in decided_values(compiled.model, first).items():
            compiled.set_column_bounds(name, {key: (v, v) for key, v in values.items()})
        return compiled
    second = build_model(stage_two_data(first, data))
    add_smallest_transfers(second, first, data.transfer_timing)
    compiled = compile_case(second)
    _SECOND_STAGES[first.case] = (data.digest, compiled)
    return compiled


def diagnose_infeasibility(
    data: ModelData, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> list[Shortfall]:
    """Re-solve with a penalised shortfall per system-year; return the positive ones."""
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


class DrawSolver:
    """One case's model compiled once and re-solved draw after draw.

    Each draw only changes the mutable parameters (the swept inputs); HiGHS starts from the
    previous draw's basis.
    """

    def __init__(self, data: ModelData) -> None:
        self.model = build_model(data, mutable=swept_parameters(data))
        self.compiled = compile_case(self.model)

    def solve(self, drawn: ModelData) -> Solution | str:
        """Re-solve with the parameters of `drawn`; return the solution.

        Returns HiGHS's termination instead when it is not optimal.
        """
        set_parameters(self.model, drawn)
        self.compiled.refresh()
        if drawn.reserve_rules or drawn.foresight_years:
            try:  # a reserve's fixed point, limited foresight's plans
                return solve_compiled("drawn", self.compiled, drawn)[0]
            except (InfeasibleError, SolverTroubleError) as exc:
                return f"no solution: {exc}"
        run = self.compiled.solve(DEFAULT_TIME_LIMIT_S, RETRY_OPTIONS)
        return self.compiled.solution() if run.optimal else run.termination
