"""Limited foresight: the years decided one at a time, each plan seeing a few years ahead."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from etslink.formulation import VARIABLES
from etslink.formulation.stage_two import copy_back, groups_needing_stage_two
from etslink.inputs.data import ModelData
from etslink.instruments.declarations import Role
from etslink.solving.engine import CompiledCase, Solution
from etslink.solving.equilibrium import market_equilibrium, reserve_paths
from etslink.solving.stages import (
    DEFAULT_TIME_LIMIT_S,
    RETRY_OPTIONS,
    SolveOutcome,
    first_stage,
    second_stage,
    smallest_transfers,
    solver_version,
)


def model_years(d: ModelData) -> list[int]:
    """Return every year in which any system takes part, sorted."""
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
    years = model_years(data)
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
            else smallest_transfers(path, data, time_limit_s)
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
    return first_stage(case, compiled, data, time_limit_s)


def _plan_step(
    case: str, compiled: CompiledCase, data: ModelData, time_limit_s: float, span: tuple[int, int]
) -> tuple[Solution, SolveOutcome]:
    """Solve a plan once, then (E14) restricted to its years (see `_plan`)."""
    solution, outcome = first_stage(case, compiled, data, time_limit_s)
    prices = {key: -dual for key, dual in solution.duals("compliance").items()}
    if not data.links or not groups_needing_stage_two(data, prices):
        return solution, outcome
    second = second_stage(solution, data)
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
