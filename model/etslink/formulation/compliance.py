"""The allowance balance of each system-year (its dual is the price) and its diagnosis."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

import numpy as np
import pyomo.environ as pyo

from etslink.core.data import ModelData
from etslink.instruments.declarations import Role, Side, Term, Variable

VARIABLES = (Variable("shortfall_MtCO2e", "B9", Role.DIAGNOSIS),)
PRICE_ROWS = "compliance"
"""(E11): its dual is the allowance price, not a restriction's shadow price."""


Dual = TypeVar("Dual", float, np.ndarray)
"""A dual, or an array of them."""


class Duals(Protocol):
    """A solved case's duals of constraint rows by component name (HiGHS's sign)."""

    def duals(self, name: str) -> Mapping[Any, float]:
        """Return the dual of each row of a constraint component, by key."""
        ...


def price_pv(dual: Dual) -> Dual:
    """Return what one more tonne on a `<=` row is worth [CUR per tCO2e, base-year money].

    The dual of a `<=` row of a minimisation is <= 0, and in base-year money because the
    objective (E12) is discounted: the price is -dual. Every price and shadow price goes
    through here; outputs/results.py turns it into the year's money.
    """
    return -dual + 0.0  # + 0.0: no -0.0


def allowance_prices_pv(solution: Duals) -> dict[tuple[str, int], float]:
    """Return each system-year's allowance price [CUR per tCO2e, base-year money] (E11)."""
    return {key: price_pv(dual) for key, dual in solution.duals(PRICE_ROWS).items()}


def add_shortfall(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add (B9) a penalised shortfall per system-year, for diagnosing infeasible inputs."""
    m.shortfall_MtCO2e = pyo.Var(
        m.system_years,
        domain=pyo.NonNegativeReals,
        doc="(B9) compliance shortfall (diagnosis only) [MtCO2e]",
    )


def add_compliance(m: pyo.ConcreteModel, d: ModelData, terms: Iterable[Term]) -> None:
    """Add (E11) the allowance balance; price [CUR/tCO2e, money of y] = -dual / discount.

    What is owed (the `Side.OWED` terms) is at most what is available (`Side.AVAILABLE`), each
    instrument's terms in order. In a year whose allowances are carried to the next
    (`m.bank_years`) the balance holds with equality, so the bank (TNAC) is determined even
    where the price is zero; elsewhere unused allowances are worthless and the balance is an
    inequality.
    """
    owed_terms = [t for t in terms if t.side is Side.OWED]
    available_terms = [t for t in terms if t.side is Side.AVAILABLE]

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        owed = sum(t.of(m, d, s, y) for t in owed_terms)
        available = sum(t.of(m, d, s, y) for t in available_terms)
        if hasattr(m, "shortfall_MtCO2e"):
            available += m.shortfall_MtCO2e[s, y]
        if (s, y) in m.bank_years:  # unused allowances are carried: none vanish before the end
            return owed == available
        return owed <= available

    m.compliance = pyo.Constraint(m.system_years, rule=rule, doc="(E11) allowance balance [MtCO2e]")
