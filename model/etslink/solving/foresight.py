"""Limited foresight: the years decided one at a time, each plan seeing a few years ahead."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from etslink.core.data import ModelData
from etslink.formulation import VARIABLES
from etslink.instruments.reserve import reserve_paths
from etslink.solving.engine import CompiledCase, Solution
from etslink.solving.stages import SolveOutcome, solver_version


def model_years(d: ModelData) -> list[int]:
    """Return every year in which any system takes part, sorted."""
    return sorted({y for _, y in d.system_years})


def limited_foresight(
    case: str,
    compiled: CompiledCase,
    data: ModelData,
    plan: Callable[[tuple[int, int]], tuple[Solution, SolveOutcome]],
    progress: Callable[[str], None] | None = None,
) -> tuple[Solution, SolveOutcome]:
    """Decide the years one at a time, each plan seeing a few years ahead.

    The plan of year y covers y..y+H-1 for each system, H its horizon then
    (`ModelData.horizon`: sheet foresight, else the setting foresight_years, else to the
    end); `plan` solves it, given the first and the last year of any system. The balances of
    a system's later years are lifted (any bank carried past its horizon is worth nothing in
    it), the decisions of earlier years are held at their values. Year y's decisions and the
    duals of its rows (its prices) are kept; then the next plan. The outcome's `stage_two` is the
    worst of the plans' (solving/stack.py says where the smallest transfers are taken).
    """
    years = model_years(data)
    balances = list(compiled.row_positions["compliance"])
    columns = {v.name: compiled.column_bounds(v.name) for v in VARIABLES}
    row_year = np.array([con.index()[-1] for con in compiled.rows])
    duals = np.zeros(len(compiled.rows))
    held: dict[str, dict[Any, tuple[float, float]]] = {name: {} for name in columns}
    stage_twos: set[str] = set()
    start = time.perf_counter()
    try:
        for i, year in enumerate(years):
            ends = {s: _plan_end(years, i, data.horizon(s, year)) for s in data.systems}
            end = max(ends.values())
            _plan_bounds(compiled, balances, columns, held, ends, end)
            if progress:
                progress(f"{case}: plan {year}-{end}")
            solution, planned = plan((year, end))
            stage_twos.add(planned.stage_two)
            duals[row_year == year] = solution.row_duals[row_year == year]
            _hold_year(solution, year, columns, held)
    finally:
        compiled.lift_rows("compliance", dict.fromkeys(balances, False))
        for name, bounds in columns.items():
            compiled.set_column_bounds(name, bounds)
    path = Solution(compiled, solution.x, duals)
    outcome = SolveOutcome(
        "ok",
        "optimal",
        compiled.objective_value(path.x),
        time.perf_counter() - start,  # every plan's solves
        solver_version=solver_version(),
        options=dict(compiled.options),
        stage_two=_worst(stage_twos),
    )
    if data.reserve_rules:
        outcome = replace(outcome, reserve=tuple(reserve_paths(path, data)))
    return path, outcome


def _worst(stage_twos: set[str]) -> str:
    """Return a failed second stage's termination if any plan had one, else the best."""
    failed = sorted(stage_twos - {"optimal", "not needed"})
    return failed[0] if failed else ("optimal" if "optimal" in stage_twos else "not needed")


def _plan_end(years: list[int], i: int, horizon: int | None) -> int:
    """Return the last year the plan made in years[i] sees with `horizon` (None: to the end)."""
    return years[min(i + horizon, len(years)) - 1] if horizon else years[-1]


def _plan_bounds(
    compiled: CompiledCase,
    balances: list[tuple[str, int]],
    columns: Mapping[str, Mapping[Any, tuple[float, float]]],
    held: Mapping[str, Mapping[Any, tuple[float, float]]],
    ends: Mapping[str, int],
    end: int,
) -> None:
    """Set the bounds of a plan: past decisions held, years beyond its horizon switched off.

    A system's balances after its end (`ends`) are lifted, so a bank it carries past its
    horizon is worth nothing in the plan; every decision after the last end (`end`) is held
    at zero (a system's decisions between its own end and that are worth nothing to it).
    """
    compiled.lift_rows("compliance", {key: key[1] > ends[key[0]] for key in balances})
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
