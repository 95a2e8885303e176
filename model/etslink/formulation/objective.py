"""The objective: total discounted cost of meeting every cap."""

from __future__ import annotations

from collections.abc import Iterable

import pyomo.environ as pyo

from etslink.core.data import ModelData


def add_objective(
    m: pyo.ConcreteModel,
    d: ModelData,
    costs: Iterable[str],
    shortfall_penalty_per_tCO2e: float | None = None,
) -> None:
    """Add (E12) total discounted cost [M CUR, money of base_year].

    Args:
        m: The model.
        d: The case's inputs.
        costs: The instruments' cost components [M CUR, money of the year each key ends in].
        shortfall_penalty_per_tCO2e: The (E13) penalty, when diagnosing infeasible inputs.
    """
    total = sum(
        d.discount_factor(key[-1]) * entry
        for name in costs
        for key, entry in getattr(m, name).items()
    )
    if shortfall_penalty_per_tCO2e is not None:
        total += sum(
            _penalty(d, shortfall_penalty_per_tCO2e, s, y) * m.shortfall_MtCO2e[s, y]
            for s, y in m.system_years
        )
    m.total_cost = pyo.Objective(
        expr=total,
        sense=pyo.minimize,
        doc="(E12) total discounted cost [M CUR, money of base_year]",
    )


def _penalty(d: ModelData, penalty: float, s: str, y: int) -> float:
    """Return the (E13) shortfall penalty [CUR per tCO2e, not discounted].

    It is slightly cheaper in later years, so that a shortfall that banking could move shows
    in the last year that cannot comply.
    """
    years = d.years_of(s)
    return penalty * (1.0 + 1e-3 * (years[-1] - y))
