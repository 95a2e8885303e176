"""The optimisation model: `build_model(data)` adds each concept in the order of the docs."""

from __future__ import annotations

import pyomo.environ as pyo

from etslink.formulation import compliance
from etslink.formulation.compliance import add_compliance, add_shortfall
from etslink.formulation.objective import add_objective
from etslink.inputs.data import ModelData
from etslink.instruments import abatement, banking, links, offsets, price_controls
from etslink.instruments.abatement import add_abatement
from etslink.instruments.banking import add_banking
from etslink.instruments.declarations import Holding, Restriction, Variable
from etslink.instruments.links import add_links
from etslink.instruments.offsets import add_offsets
from etslink.instruments.parameters import add_parameters
from etslink.instruments.price_controls import add_price_controls
from etslink.instruments.reserve import add_reserve_supply
from etslink.instruments.sets import add_sets

VARIABLES: tuple[Variable, ...] = (
    *abatement.VARIABLES,
    *links.VARIABLES,
    *offsets.VARIABLES,
    *price_controls.VARIABLES,
    *banking.VARIABLES,
    *compliance.VARIABLES,
)
"""Every variable component of the model, with its role in the two stages."""
RESTRICTIONS: tuple[Restriction, ...] = (
    *links.RESTRICTIONS,
    *offsets.RESTRICTIONS,
    *price_controls.RESTRICTIONS,
    *banking.RESTRICTIONS,
)
"""Every constraint component whose shadow price `shadow_prices` reports, in table order."""
HOLDINGS: tuple[Holding, ...] = price_controls.HOLDINGS
"""Variables that hold the price at a floor or ceiling when used."""


def build_model(
    data: ModelData,
    *,
    shortfall_penalty_per_tCO2e: float | None = None,
    mutable: frozenset[str] = frozenset(),
) -> pyo.ConcreteModel:
    """Return the Pyomo model of one case.

    Args:
        data: The case's inputs.
        shortfall_penalty_per_tCO2e: If given, each compliance balance may fall short at this
            cost (used only to diagnose infeasible inputs; see docs/formulation.md, (E13)).
        mutable: Names of the input Params a sweep will change (parameters.swept_parameters).
    """
    m = pyo.ConcreteModel(name=data.scenario_name)
    add_sets(m, data)
    add_parameters(m, data, mutable)
    add_abatement(m, data)
    add_links(m, data)
    add_offsets(m, data)
    add_price_controls(m, data)
    add_banking(m, data)
    add_reserve_supply(m, data)
    if shortfall_penalty_per_tCO2e is not None:
        add_shortfall(m, data)
    add_compliance(m, data)
    add_objective(m, data, shortfall_penalty_per_tCO2e)
    return m
