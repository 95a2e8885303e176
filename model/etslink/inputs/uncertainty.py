"""Draws of the `uncertainty` sheet: random inputs that are reproducible draw by draw.

Draw i uses its own random generator, seeded with numpy's SeedSequence((seed, i)), so a draw
gives the same numbers whichever worker computes it and in whichever order. Within a draw,
each group label gets one standard uniform number u, shared by all its rows (perfect rank
correlation); a row without a group gets a fresh u per year. Each row turns u into its draw
through its distribution's inverse CDF, then adds it to the input or scales the input by it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from statistics import NormalDist

import numpy as np

from etslink.inputs.data import AbatementStep, LinearMac, ModelData, UncertainInput
from etslink.inputs.schema import OFFSET_PARAMETERS

Key = tuple[str, int]  # (system or offset type, year)


def generator(seed: int, draw: int) -> np.random.Generator:
    """Return the random generator of draw `draw` under base seed `seed`."""
    return np.random.default_rng(np.random.SeedSequence((seed, draw)))


def inverse_cdf(row: UncertainInput, u: float) -> float:
    """Return the draw of a row for a standard uniform number u in (0, 1)."""
    if row.distribution in ("normal", "lognormal"):
        value = NormalDist(row.mean, row.sd or 0.0).inv_cdf(u) if row.sd else row.mean
        return math.exp(value) if row.distribution == "lognormal" else value
    low, high = float(row.low or 0.0), float(row.high or 0.0)
    if row.distribution == "uniform":
        return low + u * (high - low)
    mode = float(row.mode if row.mode is not None else low)
    cut = (mode - low) / (high - low)
    if u < cut:
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1 - u) * (high - low) * (high - mode))


def _uniform(rng: np.random.Generator) -> float:
    """Return a standard uniform number strictly inside (0, 1)."""
    return float(np.clip(rng.random(), 1e-12, 1 - 1e-12))


def draw_factors(data: ModelData, draw: int) -> dict[int, dict[Key, float]]:
    """Return, per uncertainty row (by position), the draw for each (target, year) it hits."""
    rng = generator(data.seed, draw)
    shared: dict[str, float] = {}
    out: dict[int, dict[Key, float]] = {}
    for index, row in enumerate(data.uncertainty):
        out[index] = {}
        for key in _targets(data, row):
            u = shared[row.group] if row.group in shared else _uniform(rng)
            if row.group:
                shared[row.group] = u
            out[index][key] = inverse_cdf(row, u)
    return out


def _targets(data: ModelData, row: UncertainInput) -> list[Key]:
    """Return the (target, year) pairs a row perturbs, sorted."""
    if row.parameter in OFFSET_PARAMETERS:
        keys: Iterable[Key] = {(o.offset_type, o.year) for o in data.offset_offers}
    else:
        keys = data.baseline_MtCO2e.keys()
    return sorted(
        k for k in keys if (row.target in ("*", k[0])) and (row.years is None or k[1] in row.years)
    )


def _apply(row: UncertainInput, value: float, drawn: float) -> float:
    return value * drawn if row.apply == "scale" else value + drawn


def perturbed(data: ModelData, draw: int) -> ModelData:
    """Return the data of one draw: every uncertain input changed by its draws.

    Quantities and prices that a draw would make negative are set to zero, and abatement
    options are cut back so that they never exceed the drawn baseline.
    """
    changes: dict[tuple[str, Key], list[tuple[UncertainInput, float]]] = {}
    for index, draws in draw_factors(data, draw).items():
        row = data.uncertainty[index]
        for key, drawn in draws.items():
            changes.setdefault((row.parameter, key), []).append((row, drawn))

    def value(parameter: str, key: Key, base: float) -> float:
        for row, drawn in changes.get((parameter, key), []):
            base = _apply(row, base, drawn)
        return max(base, 0.0)

    baseline = {k: value("baseline", k, v) for k, v in data.baseline_MtCO2e.items()}
    return replace(
        data,
        baseline_MtCO2e=baseline,
        cap_MtCO2e={k: value("cap", k, v) for k, v in data.cap_MtCO2e.items()},
        mac_steps={
            k: tuple(
                replace(s, cost_per_tCO2e=value("step_cost", k, s.cost_per_tCO2e))
                for s in _fit_steps(steps, baseline[k])
            )
            for k, steps in data.mac_steps.items()
        },
        mac_linear={
            k: _fit_linear(
                m,
                value("mac_intercept", k, m.intercept_per_tCO2e),
                value("mac_slope", k, m.slope_per_tCO2e_per_MtCO2e),
                baseline[k]
                - sum(
                    s.abatement_MtCO2e for s in _fit_steps(data.mac_steps.get(k, ()), baseline[k])
                ),
            )
            for k, m in data.mac_linear.items()
        },
        offset_offers=tuple(
            replace(
                o,
                supply_MtCO2e=value("offset_supply", (o.offset_type, o.year), o.supply_MtCO2e),
                price_per_tCO2e=value("offset_price", (o.offset_type, o.year), o.price_per_tCO2e),
            )
            for o in data.offset_offers
        ),
    )


def _fit_steps(steps: tuple[AbatementStep, ...], baseline: float) -> tuple[AbatementStep, ...]:
    """Return the steps, cheapest first, cut back to fit within the baseline."""
    room, fitted = baseline, []
    for step in sorted(steps, key=lambda s: s.cost_per_tCO2e):
        quantity = min(step.abatement_MtCO2e, max(room, 0.0))
        fitted.append(replace(step, abatement_MtCO2e=quantity))
        room -= quantity
    return tuple(fitted)


def _fit_linear(mac: LinearMac, intercept: float, slope: float, room: float) -> LinearMac:
    return LinearMac(intercept, slope, max(0.0, min(mac.max_abatement_MtCO2e, room)))
