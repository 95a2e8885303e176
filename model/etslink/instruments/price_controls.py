"""Price controls: a floor withholds allowances, a ceiling sells extra ones at the ceiling."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from etslink.core.data import ModelData
from etslink.instruments.declarations import (
    BalanceColumn,
    CostItem,
    Instrument,
    Payee,
    Priced,
    Restriction,
    Role,
    Side,
    Term,
    Values,
    Variable,
    cleaned,
    holding,
    level,
    solved,
)

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
HELD = (
    holding("price_floor", "unsold_MtCO2e", "allowances withheld: the price is held at the floor"),
    holding(
        "price_ceiling",
        "ceiling_sales_MtCO2e",
        "extra allowances sold: the price is held at the ceiling",
    ),
)


def add_price_controls(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add unsold allowances (B6), ceiling sales (B7), (E9) the ceiling reserve, their costs."""
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
    m.ceiling_cost_Mcur = pyo.Expression(
        m.ceiling_years,
        rule=lambda m, s, y: controls[s, y].ceiling_per_tCO2e * m.ceiling_sales_MtCO2e[s, y],
        doc="(E12) extra allowances bought at the ceiling [M CUR, money of year y]",
    )
    m.floor_value_Mcur = pyo.Expression(
        m.floor_years,
        rule=lambda m, s, y: -(controls[s, y].floor_per_tCO2e or 0.0) * m.unsold_MtCO2e[s, y],
        doc="(E12) allowances withheld at the floor, valued at it (negative) [M CUR, money of y]",
    )


def _ceiling_purchases(sol: Values, d: ModelData, priced: Priced) -> np.ndarray:
    """Return what each system-year pays for extra allowances at its ceiling [M CUR]."""
    paid = np.zeros(len(d.system_years))
    for key, sold in cleaned(sol.values("ceiling_sales_MtCO2e")).items():
        paid[priced.positions[key]] = sold * (d.price_controls[key].ceiling_per_tCO2e or 0.0)
    return paid


INSTRUMENT = Instrument(
    "price_controls",
    add_price_controls,
    variables=VARIABLES,
    restrictions=RESTRICTIONS,
    held=HELD,
    terms=(Term("unsold_MtCO2e", Side.OWED), Term("ceiling_sales_MtCO2e", Side.AVAILABLE)),
    objective=("ceiling_cost_Mcur", "floor_value_Mcur"),
    columns=(
        BalanceColumn(
            "unsold_at_floor_MtCO2e",
            "allowances withheld because the price would fall below the floor",
            solved("unsold_MtCO2e"),
        ),
        BalanceColumn(
            "ceiling_sales_MtCO2e",
            "extra allowances sold at the ceiling price",
            solved("ceiling_sales_MtCO2e"),
        ),
    ),
    costs=(
        CostItem(
            "ceiling_purchases",
            1.0,
            Payee.SUPPLY,
            "ceiling sales * ceiling price",
            _ceiling_purchases,
        ),
    ),
)
