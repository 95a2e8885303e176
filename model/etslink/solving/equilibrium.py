"""The market equilibrium under a reserve: supply and solution at a fixed point (E15)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from etslink.core.data import ModelData
from etslink.errors import SolverTroubleError
from etslink.instruments.reserve import reserve_paths
from etslink.solving.engine import CompiledCase, Solution
from etslink.solving.stages import SolveOutcome

RESERVE_MAX_ITERATIONS = 200
RESERVE_TOLERANCE = 1e-8
"""A fixed point is reached when no year's reserve operation moves by more than this share of
the system's largest cap [MtCO2e per MtCO2e] between the supply assumed and the one that
follows from the solution."""
RESERVE_MIN_STEP = 1 / 64


def market_equilibrium(
    case: str,
    compiled: CompiledCase,
    data: ModelData,
    step: Callable[[], tuple[Solution, SolveOutcome]],
    progress: Callable[[str], None] | None = None,
    first_year: int | None = None,
) -> tuple[Solution, SolveOutcome]:
    """Return the market equilibrium under the reserve: supply and solution at a fixed point.

    Firms take the reserve's release - intake (E15) as given. Each step solves the market
    (`step`: warm, with the second stage where banks are not unique), applies the reserve's
    rules to the resulting TNAC path, and moves the assumed supply towards what the rules give
    (Anderson acceleration, with damped steps whenever the discrepancy does not shrink).

    With `first_year` (a plan's first year), the operations of earlier years are held as
    they were when those years were decided: they are facts to the plan, like its banks.

    Raises:
        SolverTroubleError: no fixed point after RESERVE_MAX_ITERATIONS steps; names the
            system-years whose reserve operation still moves.
    """
    param = compiled.model.reserve_supply_MtCO2e
    keys = [key for key in param if first_year is None or key[1] >= first_year]
    supply = {key: float(param[key].value) for key in keys}
    accelerate = _Anderson()
    for iteration in range(1, RESERVE_MAX_ITERATIONS + 1):
        solution, outcome = step()
        path = reserve_paths(solution, data)
        # a year whose rules are not known yet (announced later) has no operation
        target = dict.fromkeys(keys, 0.0) | {
            (r.system, r.year): r.supply_change_MtCO2e for r in path if (r.system, r.year) in supply
        }
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
