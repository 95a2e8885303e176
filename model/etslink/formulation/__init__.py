"""The optimisation model: `build_model(data)` adds each instrument in the order of the docs.

Every instrument (instruments/) declares what it contributes; this module gathers the
declarations, and the allowance balance (E11), the objective (E12), the result tables and
their documentation are loops over them.
"""

from __future__ import annotations

import pyomo.environ as pyo

from etslink.core.data import ModelData
from etslink.core.values import REVISED
from etslink.formulation import compliance
from etslink.formulation.compliance import add_compliance, add_shortfall
from etslink.formulation.objective import add_objective
from etslink.instruments import INSTRUMENTS
from etslink.instruments.declarations import (
    BalanceColumn,
    CostItem,
    Held,
    Payee,
    Restriction,
    Term,
    Variable,
)
from etslink.instruments.parameters import add_parameters
from etslink.instruments.sets import add_sets

VARIABLES: tuple[Variable, ...] = (
    *(v for i in INSTRUMENTS for v in i.variables),
    *compliance.VARIABLES,
)
"""Every variable component of the model, with its role in the two stages."""
RESTRICTIONS: tuple[Restriction, ...] = tuple(r for i in INSTRUMENTS for r in i.restrictions)
"""Every constraint component whose shadow price `shadow_prices` reports, in table order."""
HELD: tuple[Held, ...] = tuple(h for i in INSTRUMENTS for h in i.held)
"""Prices held at input levels (floors, ceilings, border fees): `shadow_prices` rows."""
TERMS: tuple[Term, ...] = tuple(t for i in INSTRUMENTS for t in i.terms)
"""The terms of the allowance balance (E11), in order."""
OBJECTIVE: tuple[str, ...] = tuple(c for i in INSTRUMENTS for c in i.objective)
"""The cost components of the objective (E12)."""
BALANCE_COLUMNS: tuple[BalanceColumn, ...] = tuple(c for i in INSTRUMENTS for c in i.columns)
"""The columns of the `balances` sheet after system and year, but `surplus_MtCO2e`."""
COST_ITEMS: tuple[CostItem, ...] = tuple(
    sorted((c for i in INSTRUMENTS for c in i.costs), key=lambda c: list(Payee).index(c.payee))
)
"""The cost items of the `costs` sheet, in column order: grouped by who receives the money
(`Payee`), in the instruments' order within a group."""


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
        mutable: Names of the input Params a sweep will change (parameters.swept_parameters);
            with rows announced later, those the plans move (`values.REVISED`) are too.
    """
    if data.vintages:
        mutable = mutable | frozenset(REVISED)
    m = pyo.ConcreteModel(name=data.scenario_name)
    add_sets(m, data)
    add_parameters(m, data, mutable)
    for instrument in INSTRUMENTS:
        if instrument.add is not None:
            instrument.add(m, data)
    if shortfall_penalty_per_tCO2e is not None:
        add_shortfall(m, data)
    add_compliance(m, data, TERMS)
    add_objective(m, data, OBJECTIVE, shortfall_penalty_per_tCO2e)
    return m
