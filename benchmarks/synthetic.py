"""Synthetic linked markets of any size, for benchmarks: S systems x T years x K steps."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

import numpy as np

from etslink.data import AbatementStep, LinearMac, Link, ModelData

Pattern = Literal["all", "clusters", "mixed"]
FIRST_YEAR = 2030
CLUSTER = 5


def _links(
    systems: list[str], years: tuple[int, ...], pattern: Pattern, rng: np.random.Generator
) -> tuple[Link, ...]:
    """Return two-way links between all pairs, within clusters, or clusters plus limited
    one-way links between neighbouring clusters."""
    pairs = [(a, b) for i, a in enumerate(systems) for b in systems[i + 1 :]]
    if pattern != "all":
        pairs = [
            (a, b) for a, b in pairs if systems.index(a) // CLUSTER == systems.index(b) // CLUSTER
        ]
    links = [Link(a, b, True, 1.0, None, years) for a, b in pairs]
    if pattern == "mixed":
        heads = systems[::CLUSTER]
        links += [
            Link(a, b, False, 1.0, float(rng.uniform(1, 5)), years)
            for a, b in zip(heads, heads[1:], strict=False)
        ]
    return tuple(links)


def synthetic(
    systems: int,
    years: int,
    steps: int,
    pattern: Pattern = "all",
    quadratic: bool = False,
    seed: int = 0,
) -> ModelData:
    """Return a linked market: stepwise MACs (LP) or linear MACs (QP), banking, links."""
    rng = np.random.default_rng(seed)
    names = [f"S{i:02d}" for i in range(systems)]
    span = tuple(range(FIRST_YEAR, FIRST_YEAR + years))
    base = {s: float(rng.uniform(10, 100)) for s in names}
    baseline = {(s, y): base[s] * (1 - 0.005 * (y - FIRST_YEAR)) for s in names for y in span}
    cap = {k: v * (1 - float(rng.uniform(0.05, 0.3))) for k, v in baseline.items()}
    mac_linear, mac_steps = {}, {}
    for key, b in baseline.items():
        if quadratic:
            mac_linear[key] = LinearMac(0.0, float(rng.uniform(0.5, 10)) * 50 / b, 0.8 * b)
        else:
            quantities = rng.dirichlet(np.ones(steps)) * 0.8 * b
            costs = np.sort(rng.uniform(1, 200, steps))
            mac_steps[key] = tuple(
                AbatementStep(f"k{k:02d}", float(q), float(c))
                for k, (q, c) in enumerate(zip(quantities, costs, strict=True))
            )
    frozen = MappingProxyType
    return ModelData(
        scenario_name=f"synthetic {systems}x{years}x{steps} {pattern}",
        currency="EUR",
        base_year=FIRST_YEAR,
        discount_rate=0.05,
        systems=tuple(names),
        system_names=frozen({s: s for s in names}),
        banking=frozen(dict.fromkeys(names, True)),
        borrowing_limit_MtCO2e=frozen(dict.fromkeys(names, 0.0)),
        initial_bank_MtCO2e=frozen(dict.fromkeys(names, 0.0)),
        baseline_MtCO2e=frozen(baseline),
        cap_MtCO2e=frozen(cap),
        mac_linear=frozen(mac_linear),
        mac_steps=frozen(mac_steps),
        links=_links(names, span, pattern, rng),
    )
