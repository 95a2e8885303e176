"""Price floor (allowances withheld) and ceiling (extra allowances sold at the ceiling)."""

from __future__ import annotations

import pyomo.environ as pyo

from etslink.data import ModelData
from etslink.formulation.declarations import Holding, Restriction, Role, Variable, level

VARIABLES = (
    Variable("unsold_MtCO2e", "B6", Role.DECIDED),
    Variable("ceiling_sales_MtCO2e", "B7", Role.DECIDED),
)
RESTRICTIONS = (
    Restriction(
        "ceiling_reserve",
        "E9",
        "the ceiling reserve is used up: price above the ceiling by this much",
        locate=lambda d, key: (key[0], "", key[1]),
        level=lambda sol, d, key: level(sol, "ceiling_sales_MtCO2e", key),
    ),
)
HOLDINGS = (
    Holding("price_floor", "unsold_MtCO2e", "allowances withheld: the price is held at the floor"),
    Holding(
        "price_ceiling",
        "ceiling_sales_MtCO2e",
        "extra allowances sold: the price is held at the ceiling",
    ),
)


def add_price_controls(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add unsold allowances (B6), ceiling sales (B7) and (E9) the ceiling reserve."""
    controls = d.price_controls
    m.unsold_MtCO2e = pyo.Var(
        m.floor_years,
        bounds=lambda m, s, y: (0.0, m.cap_MtCO2e[s, y]),
        doc="(B6) allowances left unsold at the floor [MtCO2e]",
    )
    m.ceiling_sales_MtCO2e = pyo.Var(
        m.ceiling_years,
        domain=pyo.NonNegativeReals,
        doc="(B7) extra allowances sold at the ceiling [MtCO2e]",
    )
    m.ceiling_reserve = pyo.Constraint(
        m.ceiling_reserve_years,
        rule=lambda m, s, y: m.ceiling_sales_MtCO2e[s, y] <= controls[s, y].ceiling_reserve_MtCO2e,
        doc="(E9) ceiling sales <= reserve [MtCO2e]",
    )
