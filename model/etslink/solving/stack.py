"""One stack of layers solves every case: first stage, smallest transfers, reserve, plans.

Each layer takes a `Job` (the compiled case, its data, the years a plan decides) and returns
the solution and what the solver did; a layer wraps the one below it. `stack(data)` puts
together what the workbook asks for:

- the first stage (E1-E13) followed by the smallest transfers (E14);
- with a reserve (E15): the market equilibrium, each step of which solves the first stage
  and the smallest transfers (the reserve reads the banks they leave);
- with limited foresight, or rows announced later: rolling plans, each solving the layers
  below within its years with the inputs known when it is made; without a reserve the
  smallest transfers are taken once, over the path the plans decide.

Run and autarky solve through `stack`, and so do sweep draws and explore combinations with
a reserve or limited foresight; without them, those solve the first stage alone (they report
prices and costs, which the smallest transfers do not move).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from etslink.core.data import ModelData
from etslink.core.values import REVISED, VALUES
from etslink.solving.engine import CompiledCase, Solution
from etslink.solving.equilibrium import market_equilibrium
from etslink.solving.foresight import limited_foresight, model_years
from etslink.solving.stages import (
    DEFAULT_TIME_LIMIT_S,
    SolveOutcome,
    first_stage,
    smallest_transfers,
)


@dataclass(frozen=True)
class Job:
    """One solve of a case: what every layer of the stack receives.

    Attributes:
        case: The case's name, for messages.
        compiled: The case compiled for HiGHS, re-solved in place.
        data: The case's inputs.
        time_limit_s: HiGHS's time limit per solve [s].
        progress: Called with a short message at each step of a loop.
        span: The first and last year a plan decides; None: every year.
    """

    case: str
    compiled: CompiledCase
    data: ModelData
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    progress: Callable[[str], None] | None = None
    span: tuple[int, int] | None = None


Layer = Callable[[Job], tuple[Solution, SolveOutcome]]
"""A way to solve a job: the first stage, or a layer wrapped around another."""


def first(job: Job) -> tuple[Solution, SolveOutcome]:
    """Solve (or re-solve warm) the first stage once."""
    return first_stage(job.case, job.compiled, job.data, job.time_limit_s)


def with_smallest_transfers(inner: Layer) -> Layer:
    """Return `inner` followed by (E14) the smallest transfers, within the job's years."""

    def solve(job: Job) -> tuple[Solution, SolveOutcome]:
        solution, outcome = inner(job)
        stage_two = smallest_transfers(solution, job.data, job.time_limit_s, job.span)
        return solution, replace(outcome, stage_two=stage_two)

    return solve


def at_reserve_equilibrium(inner: Layer) -> Layer:
    """Return `inner` iterated to the fixed point of the reserve's supply (E15)."""

    def solve(job: Job) -> tuple[Solution, SolveOutcome]:
        return market_equilibrium(
            job.case,
            job.compiled,
            job.data,
            lambda: inner(job),
            job.progress,
            first_year=job.span[0] if job.span else None,
        )

    return solve


def move_inputs(compiled: CompiledCase, data: ModelData, names: Iterable[str]) -> None:
    """Move the compiled case's mutable input Params `names` to `data`'s values."""
    values = {}
    for name in names:
        by_key = VALUES[name](data)
        values[name] = np.array([by_key[k] for k in compiled.parameter_keys(name)])
    if values:
        compiled.move_parameters(values)


def in_rolling_plans(inner: Layer) -> Layer:
    """Return `inner` solved plan by plan, each deciding its first year (limited foresight).

    With rows announced later, each plan decides with the inputs known in its first year
    (`ModelData.known_in`): their Params are moved before it and back to the rules in force
    after the last.
    """

    def plan(job: Job, span: tuple[int, int]) -> tuple[Solution, SolveOutcome]:
        known = job.data.known_in(span[0])
        if job.data.vintages:
            move_inputs(job.compiled, known, REVISED)
        return inner(replace(job, span=span, data=known))

    def solve(job: Job) -> tuple[Solution, SolveOutcome]:
        try:
            return limited_foresight(
                job.case, job.compiled, job.data, lambda span: plan(job, span), job.progress
            )
        finally:
            if job.data.vintages:
                move_inputs(job.compiled, job.data, REVISED)

    return solve


def rolling(data: ModelData) -> bool:
    """Return whether the case is decided plan by plan (short horizons or later rules)."""
    years = model_years(data)
    horizons = {data.horizon(s, y) for s in data.systems for y in years}
    return bool(data.vintages) or any(h is not None and h < len(years) for h in horizons)


def stack(data: ModelData) -> Layer:
    """Return the layers that solve a case as its workbook asks (see the module's doc)."""
    plans = rolling(data)
    if data.reserve_rules:
        layer = at_reserve_equilibrium(with_smallest_transfers(first))
        return in_rolling_plans(layer) if plans else layer
    return with_smallest_transfers(in_rolling_plans(first) if plans else first)
