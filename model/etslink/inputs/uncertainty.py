"""Draws of the `uncertainty` sheet: random inputs that are reproducible draw by draw.

Draw i uses its own random generator, seeded with numpy's SeedSequence((seed, i)), so a draw
gives the same numbers whichever worker computes it and in whichever order. Within a draw,
each group label gets one standard uniform number u, shared by all its rows (perfect rank
correlation); a row without a group gets a fresh u per year. Each row turns u into its draw
through its distribution's inverse CDF, then adds it to the input or scales the input by it.

A sweep draws with `DrawPlan`: where each row's numbers go is found once, and a draw is a few
numpy operations on the values of the Params it moves (the same numbers as `perturbed`, which
builds the drawn ModelData and serves where whole data are needed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from statistics import NormalDist

import numpy as np

from etslink.core.data import (
    AbatementStep,
    Frozen,
    IntensityStandard,
    LinearMac,
    ModelData,
    UncertainInput,
)
from etslink.core.values import VALUES, swept_parameters
from etslink.inputs.schema import INTENSITY_PARAMETERS, OFFSET_PARAMETERS

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
    elif row.parameter in INTENSITY_PARAMETERS:
        keys = data.intensity.keys()
    else:
        keys = data.baseline_MtCO2e.keys()
    return sorted(
        k for k in keys if (row.target in ("*", k[0])) and (row.years is None or k[1] in row.years)
    )


def _apply(row: UncertainInput, value: float, drawn: float) -> float:
    return value * drawn if row.apply == "scale" else value + drawn


Value = Callable[[str, Key, float], float]
"""(parameter, key, input value) -> the drawn value."""


def perturbed(data: ModelData, draw: int) -> ModelData:
    """Return the data of one draw: every uncertain input changed by its draws.

    Quantities and prices that a draw would make negative are set to zero, and abatement
    options are cut back so that they never exceed the drawn baseline. The baseline of an
    intensity year is intensity x its drawn output baseline, before the baseline's own draws.
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

    intensity = _drawn_standards(data.intensity, value)
    baseline = {
        k: value("baseline", k, intensity[k].baseline_MtCO2e if k in intensity else v)
        for k, v in data.baseline_MtCO2e.items()
    }
    return replace(
        data,
        intensity=Frozen(intensity),
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


def _drawn_standards(
    standards: Mapping[Key, IntensityStandard], value: Value
) -> dict[Key, IntensityStandard]:
    """Return the intensity standards with their drawn benchmarks and output baselines."""
    return {
        k: replace(
            standard,
            benchmark_tCO2e_per_unit=value("benchmark", k, standard.benchmark_tCO2e_per_unit),
            output_baseline_Munits=value("output_baseline", k, standard.output_baseline_Munits),
        )
        for k, standard in standards.items()
    }


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


# -- draws as arrays -----------------------------------------------------------------------

DRAWN = {
    "baseline": "baseline_MtCO2e",
    "cap": "cap_MtCO2e",
    "mac_slope": "mac_slope_per_tCO2e_per_MtCO2e",
    "mac_intercept": "mac_intercept_per_tCO2e",
    "step_cost": "step_cost_per_tCO2e",
    "offset_supply": "offer_supply_MtCO2e",
    "offset_price": "offer_price_per_tCO2e",
    "benchmark": "benchmark_tCO2e_per_unit",
    "output_baseline": "output_baseline_Munits",
}
"""The Param whose values each uncertain input moves directly (SWEPT: all that it moves)."""

BASELINE = "baseline_MtCO2e"
OUTPUT_BASELINE = "output_baseline_Munits"
INTENSITY_FIELDS = tuple(DRAWN[p] for p in INTENSITY_PARAMETERS)
"""The drawn Params that are fields of an intensity standard (`IntensityStandard`)."""


@dataclass(frozen=True)
class _Change:
    """One row's draws applied to a Param: entries[i] takes the row's draw number which[i]."""

    row: int
    entries: np.ndarray
    which: np.ndarray
    scale: bool


@dataclass(frozen=True)
class _Moved:
    """A Param that rows move: its values in the data (VALUES order) and the rows' changes."""

    base: np.ndarray
    changes: tuple[_Change, ...]


@dataclass(frozen=True)
class _Fit:
    """Abatement cut back to a drawn baseline, as `_fit_steps` and `_fit_linear` do.

    `steps[i, k]` is the position (among the step Params' entries) of system-year i's k-th
    cheapest step, -1 past its last; `baseline_of` the position of system-year i (and
    `linear_baseline` of each linear MAC) among the baselines; `steps_of_linear` the row of
    `steps` of each linear MAC's system-year, -1 without steps.
    """

    steps: np.ndarray
    quantity: np.ndarray
    baseline_of: np.ndarray
    linear_max: np.ndarray
    linear_baseline: np.ndarray
    steps_of_linear: np.ndarray


@dataclass(frozen=True)
class _Output:
    """Intensity years' baselines, intensity x output baseline, as `perturbed` draws them.

    `baseline_of[i]` is the position (among the baselines) of the i-th intensity year (in
    the order of the output baselines), `intensity_tCO2e_per_unit[i]` its emission intensity.
    """

    baseline_of: np.ndarray
    intensity_tCO2e_per_unit: np.ndarray

    def baselines(self, base: np.ndarray, output_baseline_Munits: np.ndarray) -> np.ndarray:
        """Return the baselines [MtCO2e] with those of intensity years moved to mu x Q0."""
        moved = base.copy()
        moved[self.baseline_of] = self.intensity_tCO2e_per_unit * output_baseline_Munits
        return moved


class DrawPlan:
    """Where each uncertainty row's random numbers go, found once; then draws as arrays.

    `values(draw)` returns the values of every Param the rows move (`swept_parameters`), in
    the order of `values.VALUES`: the same numbers as `perturbed(data, draw)` holds.
    """

    def __init__(self, data: ModelData) -> None:
        self.seed = data.seed
        self.rows = data.uncertainty
        targets = [_targets(data, row) for row in self.rows]
        self._slots, self._fresh = _slots(self.rows, targets)
        self.names = swept_parameters(data)
        parameters = {row.parameter for row in self.rows}
        output = "output_baseline" in parameters
        self._moved = {
            name: _moved(data, name, self.rows, targets)
            for name in {DRAWN[p] for p in parameters} | ({BASELINE} if output else set())
        }
        self._fit = _fit(data) if {"baseline", "output_baseline"} & parameters else None
        self._output = _output(data) if output else None

    def values(self, draw: int) -> dict[str, np.ndarray]:
        """Return the drawn values of each moved Param, by name [the Param's unit]."""
        rng = generator(self.seed, draw)
        u = np.clip(rng.random(self._fresh), 1e-12, 1 - 1e-12)
        drawn = [
            _inverse_cdfs(row, u[unique])[which]
            for row, (unique, which) in zip(self.rows, self._slots, strict=True)
        ]
        out = {
            name: _apply_changes(moved, drawn, moved.base)
            for name, moved in self._moved.items()
            if name != BASELINE
        }
        if BASELINE in self._moved:  # after the output baselines: mu x Q0 is an input of it
            moved = self._moved[BASELINE]
            base = moved.base
            if self._output is not None:
                base = self._output.baselines(base, out[OUTPUT_BASELINE])
            out[BASELINE] = _apply_changes(moved, drawn, base)
        if self._fit is not None:
            out |= _fitted(self._fit, out[BASELINE])
        return {name: out[name] for name in self.names}


def _slots(
    rows: tuple[UncertainInput, ...], targets: list[list[Key]]
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """Return where each row's uniform numbers come from, and how many a draw takes.

    Per row: the positions of its distinct numbers among the draw's, and which of them each
    target takes. As `draw_factors` draws them: in row order, one per target, a group's
    first one shared by its later rows.
    """
    shared: dict[str, int] = {}
    fresh, slots = 0, []
    for row, keys in zip(rows, targets, strict=True):
        taken = []
        for _ in keys:
            if row.group in shared:
                taken.append(shared[row.group])
                continue
            taken.append(fresh)
            if row.group:
                shared[row.group] = fresh
            fresh += 1
        unique, which = np.unique(np.array(taken, dtype=np.int64), return_inverse=True)
        slots.append((unique, which.reshape(-1)))
    return slots, fresh


def _inverse_cdfs(row: UncertainInput, u: np.ndarray) -> np.ndarray:
    """Return the draws of a row for standard uniform numbers u (as `inverse_cdf`, exactly)."""
    if row.distribution == "uniform":
        low, high = float(row.low or 0.0), float(row.high or 0.0)
        return low + u * (high - low)
    return np.fromiter((inverse_cdf(row, x) for x in u.tolist()), float, len(u))


def _moved(
    data: ModelData, name: str, rows: tuple[UncertainInput, ...], targets: list[list[Key]]
) -> _Moved:
    """Return a moved Param's data values and, per row on it, the entries each draw moves."""
    values = VALUES[name](data)
    target_of = [(key[0], key[1]) for key in values]
    changes = []
    for index, (row, keys) in enumerate(zip(rows, targets, strict=True)):
        if DRAWN[row.parameter] != name:
            continue
        position = {key: i for i, key in enumerate(keys)}
        hit = [(e, position[t]) for e, t in enumerate(target_of) if t in position]
        changes.append(
            _Change(
                index,
                np.array([e for e, _ in hit], dtype=np.int64),
                np.array([w for _, w in hit], dtype=np.int64),
                row.apply == "scale",
            )
        )
    base = np.fromiter(values.values(), float, len(values))
    return _Moved(base, tuple(changes))


def _apply_changes(moved: _Moved, drawn: list[np.ndarray], base: np.ndarray) -> np.ndarray:
    """Return a Param's values `base` with each row's draws applied in row order, at least 0."""
    values = base.copy()
    for change in moved.changes:
        by = drawn[change.row][change.which]
        current = values[change.entries]
        values[change.entries] = current * by if change.scale else current + by
    return np.maximum(values, 0.0)


def _fit(data: ModelData) -> _Fit:
    """Return where the steps and linear MACs of each system-year are (see `_Fit`)."""
    baseline = {key: i for i, key in enumerate(VALUES["baseline_MtCO2e"](data))}
    step = {key: i for i, key in enumerate(VALUES["step_abatement_MtCO2e"](data))}
    ordered = {
        key: [step[(*key, s.option)] for s in sorted(steps, key=lambda s: s.cost_per_tCO2e)]
        for key, steps in data.mac_steps.items()
    }
    width = max((len(p) for p in ordered.values()), default=0)
    steps = np.full((len(ordered), width), -1, dtype=np.int64)
    for i, positions in enumerate(ordered.values()):
        steps[i, : len(positions)] = positions
    row_of = {key: i for i, key in enumerate(ordered)}
    linear = data.mac_linear
    return _Fit(
        steps,
        np.fromiter(VALUES["step_abatement_MtCO2e"](data).values(), float, len(step)),
        np.array([baseline[key] for key in ordered], dtype=np.int64),
        np.fromiter((m.max_abatement_MtCO2e for m in linear.values()), float, len(linear)),
        np.array([baseline[key] for key in linear], dtype=np.int64),
        np.array([row_of.get(key, -1) for key in linear], dtype=np.int64),
    )


def _output(data: ModelData) -> _Output:
    """Return where the intensity years are among the baselines, and their intensities."""
    baseline = {key: i for i, key in enumerate(VALUES[BASELINE](data))}
    keys = list(VALUES[OUTPUT_BASELINE](data))
    return _Output(
        np.array([baseline[key] for key in keys], dtype=np.int64),
        np.array([data.intensity[k].emission_intensity_tCO2e_per_unit for k in keys], dtype=float),
    )


def _fitted(fit: _Fit, baseline: np.ndarray) -> dict[str, np.ndarray]:
    """Return the steps' quantities and linear MACs' room cut back to the drawn baseline.

    Step by step, cheapest first, as `_fit_steps` and `_fit_linear` compute them.
    """
    room = baseline[fit.baseline_of]
    used = np.zeros(len(room))
    quantity = np.empty(len(fit.quantity))
    for k in range(fit.steps.shape[1]):
        present = fit.steps[:, k] >= 0
        position = fit.steps[present, k]
        taken = np.minimum(fit.quantity[position], np.maximum(room[present], 0.0))
        quantity[position] = taken
        room[present] -= taken
        used[present] += taken
    steps_used = np.append(used, 0.0)[fit.steps_of_linear]  # -1: no steps, none used
    linear_room = baseline[fit.linear_baseline] - steps_used
    return {
        "step_abatement_MtCO2e": quantity,
        "mac_max_abatement_MtCO2e": np.maximum(0.0, np.minimum(fit.linear_max, linear_room)),
    }


def with_drawn_quantities(data: ModelData, values: Mapping[str, np.ndarray]) -> ModelData:
    """Return the data with a draw's baselines, caps and intensity standards, for the loops.

    A reserve's fixed point reads the caps, limited foresight and the smallest transfers
    (E14) the baselines and caps, and (E14)'s model is built with the intensity standards;
    every other drawn input reaches them through the compiled case's Params. One new
    mapping per drawn field, not a copy per entry.
    """

    def drawn(field: str) -> Mapping[Key, float]:
        if field not in values:
            return getattr(data, field)
        return Frozen(dict(zip(getattr(data, field), values[field].tolist(), strict=True)))

    return replace(
        data,
        baseline_MtCO2e=drawn("baseline_MtCO2e"),
        cap_MtCO2e=drawn("cap_MtCO2e"),
        intensity=_with_drawn_standards(data.intensity, values),
    )


def _with_drawn_standards(
    standards: Mapping[Key, IntensityStandard], values: Mapping[str, np.ndarray]
) -> Mapping[Key, IntensityStandard]:
    """Return the intensity standards with a draw's benchmarks and output baselines.

    Each drawn field is the Param of its name, in the order of the standards.
    """
    drawn = {name: values[name].tolist() for name in INTENSITY_FIELDS if name in values}
    if not drawn:
        return standards
    return Frozen(
        {
            key: replace(standard, **{name: column[i] for name, column in drawn.items()})
            for i, (key, standard) in enumerate(standards.items())
        }
    )
