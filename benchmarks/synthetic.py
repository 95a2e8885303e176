"""Synthetic linked markets of any size, for benchmarks: S systems x T years x K steps."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

import numpy as np

from etslink.core.data import AbatementStep, LinearMac, Link, ModelData

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


def workbook_tables(d: ModelData) -> dict[str, list[dict[str, object]]]:
    """Return the sheets of an input workbook that holds the same market as `d`."""
    sheets = {
        "settings": [
            {"key": "scenario_name", "value": d.scenario_name},
            {"key": "currency", "value": d.currency},
            {"key": "discount_rate", "value": d.discount_rate},
        ],
        "systems": [{"system": s, "banking": "yes" if d.banking[s] else "no"} for s in d.systems],
        "emissions": [
            {"system": s, "year": y, "baseline_MtCO2e": b, "cap_MtCO2e": d.cap_MtCO2e[s, y]}
            for (s, y), b in d.baseline_MtCO2e.items()
        ],
        "mac_linear": [
            {
                "system": s,
                "year": y,
                "intercept_per_tCO2e": m.intercept_per_tCO2e,
                "slope_per_tCO2e_per_MtCO2e": m.slope_per_tCO2e_per_MtCO2e,
                "max_abatement_MtCO2e": m.max_abatement_MtCO2e,
            }
            for (s, y), m in d.mac_linear.items()
        ],
        "mac_steps": [
            {
                "system": s,
                "year": y,
                "option": step.option,
                "abatement_MtCO2e": step.abatement_MtCO2e,
                "cost_per_tCO2e": step.cost_per_tCO2e,
            }
            for (s, y), steps in d.mac_steps.items()
            for step in steps
        ],
        "links": [
            {
                "from_system": link.from_system,
                "to_system": link.to_system,
                "direction": "two-way" if link.two_way else "one-way",
                "exchange_rate": link.exchange_rate,
                "max_transfer_MtCO2e": link.max_transfer_MtCO2e,
            }
            for link in d.links
        ],
    }
    return {name: rows for name, rows in sheets.items() if rows}
