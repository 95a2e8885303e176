"""The allowance balance of each system-year (its dual is the price) and its diagnosis."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from etslink.inputs.data import ModelData
from etslink.instruments.banking import bank_in
from etslink.instruments.declarations import Role, Variable

VARIABLES = (Variable("shortfall_MtCO2e", "B9", Role.DIAGNOSIS),)
PRICE_ROWS = "compliance"
"""(E11): its dual is the allowance price (results.py), not a restriction's shadow price."""


def add_shortfall(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add (B9) a penalised shortfall per system-year, for diagnosing infeasible inputs."""
    m.shortfall_MtCO2e = pyo.Var(
        m.system_years,
        domain=pyo.NonNegativeReals,
        doc="(B9) compliance shortfall (diagnosis only) [MtCO2e]",
    )


def add_compliance(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add (E11) the allowance balance; price [CUR/tCO2e, money of y] = -dual / discount.

    In a year whose allowances are carried to the next (`m.bank_years`) the balance holds with
    equality, so the bank (TNAC) is determined even where the price is zero; elsewhere unused
    allowances are worthless and the balance is an inequality.
    """

    def term(component: pyo.Component, s: str, y: int) -> Any:
        return component[s, y] if (s, y) in component.index_set() else 0.0

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        owed = m.emissions_MtCO2e[s, y] + term(m.bank_MtCO2e, s, y) + term(m.unsold_MtCO2e, s, y)
        available = (
            m.cap_MtCO2e[s, y]
            + bank_in(m, d, s, y)
            + m.net_imports_MtCO2e[s, y]
            + m.offsets_used_MtCO2e[s, y]
            + term(m.ceiling_sales_MtCO2e, s, y)
            + term(m.reserve_supply_MtCO2e, s, y)
            + m.supply_steps_MtCO2e[s, y]
        )
        if hasattr(m, "shortfall_MtCO2e"):
            available += m.shortfall_MtCO2e[s, y]
        if (s, y) in m.bank_years:  # unused allowances are carried: none vanish before the end
            return owed == available
        return owed <= available

    m.compliance = pyo.Constraint(m.system_years, rule=rule, doc="(E11) allowance balance [MtCO2e]")
