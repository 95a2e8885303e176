"""Price-triggered supply: floor, ceiling and supply steps.

A floor withholds allowances, a ceiling sells extra ones at the ceiling, and supply steps
release or withhold allowances at their trigger prices.
"""

from __future__ import annotations

import pyomo.environ as pyo

from etslink.inputs.data import ModelData
from etslink.instruments.declarations import Holding, Restriction, Role, Variable, level
from etslink.instruments.sets import grouped

VARIABLES = (
    Variable("unsold_MtCO2e", "B6", Role.DECIDED),
    Variable("ceiling_sales_MtCO2e", "B7", Role.DECIDED),
    Variable("released_MtCO2e", "B10", Role.DECIDED, year_position=1),
    Variable("withheld_MtCO2e", "B11", Role.DECIDED, year_position=1),
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
    _add_supply_steps(m, d)
    m.ceiling_reserve = pyo.Constraint(
        m.ceiling_reserve_years,
        rule=lambda m, s, y: m.ceiling_sales_MtCO2e[s, y] <= controls[s, y].ceiling_reserve_MtCO2e,
        doc="(E9) ceiling sales <= reserve [MtCO2e]",
    )


def _add_supply_steps(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add (B10) allowances released at a trigger price and (B11) allowances withheld below it.

    Each is valued at its trigger in the objective (E12), so a release happens once the price
    reaches the trigger and a withholding while the price is below it.
    """
    step = d.supply_steps
    m.released_MtCO2e = pyo.Var(
        m.supply_releases,
        bounds=lambda m, s, y, k: (0.0, step[k].quantity_MtCO2e),
        doc="(B10) allowances released at a trigger price [MtCO2e]",
    )
    m.withheld_MtCO2e = pyo.Var(
        m.supply_withholdings,
        bounds=lambda m, s, y, k: (0.0, -step[k].quantity_MtCO2e),
        doc="(B11) allowances withheld while the price is below a trigger [MtCO2e]",
    )
    releases = grouped(m.supply_releases, key=lambda s, y, k: (s, y), value=lambda s, y, k: k)
    holds = grouped(m.supply_withholdings, key=lambda s, y, k: (s, y), value=lambda s, y, k: k)
    m.supply_steps_MtCO2e = pyo.Expression(
        m.system_years,
        rule=lambda m, s, y: (
            sum(m.released_MtCO2e[s, y, k] for k in releases.get((s, y), []))
            - sum(m.withheld_MtCO2e[s, y, k] for k in holds.get((s, y), []))
        ),
        doc="net allowances added by supply steps [MtCO2e]",
    )
    m.supply_step_cost_Mcur = pyo.Expression(
        m.system_years,
        rule=lambda m, s, y: (
            sum(
                step[k].trigger_per_tCO2e * m.released_MtCO2e[s, y, k]
                for k in releases.get((s, y), [])
            )
            - sum(
                step[k].trigger_per_tCO2e * m.withheld_MtCO2e[s, y, k]
                for k in holds.get((s, y), [])
            )
        ),
        doc="(E12) released allowances at their triggers, less withheld ones [M CUR, money of y]",
    )
