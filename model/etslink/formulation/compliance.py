"""Banking and the allowance balance of each system-year (its dual is the price)."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from etslink.data import ModelData
from etslink.formulation.declarations import Restriction, Role, Variable, level

VARIABLES = (
    Variable("bank_MtCO2e", "B8", Role.REDECIDED),
    Variable("shortfall_MtCO2e", "B9", Role.DIAGNOSIS),
)
RESTRICTIONS = (
    Restriction(
        "borrowing_limit",
        "E10",
        "value of borrowing one more allowance from the next year",
        locate=lambda d, key: (key[0], "", key[1]),
        level=lambda sol, d, key: level(sol, "bank_MtCO2e", key, sign=-1.0),
    ),
)
PRICE_ROWS = "compliance"
"""(E11): its dual is the allowance price (results.py), not a restriction's shadow price."""


def add_banking(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add the bank (B8) and (E10) the borrowing limit."""
    m.bank_MtCO2e = pyo.Var(m.bank_years, doc="(B8) allowances carried to the next year [MtCO2e]")
    m.borrowing_limit = pyo.Constraint(
        m.bank_years,
        rule=lambda m, s, y: -m.bank_MtCO2e[s, y] <= d.borrowing_limit_MtCO2e[s],
        doc="(E10) -bank <= borrowing limit [MtCO2e]",
    )


def add_shortfall(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add (B9) a penalised shortfall per system-year, for diagnosing infeasible inputs."""
    m.shortfall_MtCO2e = pyo.Var(
        m.system_years,
        domain=pyo.NonNegativeReals,
        doc="(B9) compliance shortfall (diagnosis only) [MtCO2e]",
    )


def _bank_in(m: pyo.ConcreteModel, d: ModelData, s: str, y: int) -> Any:
    """Return the allowances carried into year y [MtCO2e]: the previous bank or the initial."""
    years = d.years_of(s)
    position = years.index(y)
    if position == 0:
        return d.initial_bank_MtCO2e[s]
    previous = (s, years[position - 1])
    return m.bank_MtCO2e[previous] if previous in m.bank_years else 0.0


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
            + _bank_in(m, d, s, y)
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
