"""The objective: total discounted cost of meeting every cap."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from etslink.inputs.data import ModelData


def add_objective(
    m: pyo.ConcreteModel, d: ModelData, shortfall_penalty_per_tCO2e: float | None = None
) -> None:
    """Add (E12) total discounted cost [M CUR, money of base_year]."""
    controls = d.price_controls

    def system_year_cost(s: str, y: int) -> Any:
        cost = m.abatement_cost_Mcur[s, y]
        if (s, y) in m.ceiling_years:
            cost += controls[s, y].ceiling_per_tCO2e * m.ceiling_sales_MtCO2e[s, y]
        if (s, y) in m.floor_years:
            cost -= controls[s, y].floor_per_tCO2e * m.unsold_MtCO2e[s, y]
        return cost + m.supply_step_cost_Mcur[s, y]

    total = sum(d.discount_factor(y) * system_year_cost(s, y) for s, y in m.system_years)
    total += sum(
        d.discount_factor(y) * m.offset_purchase_cost_Mcur[o, y] for o, y in m.offset_markets
    )
    total += sum(d.discount_factor(y) * m.transfer_fees_Mcur[n, y] for n, y in m.fee_link_years)
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
