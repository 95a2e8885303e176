"""Price-triggered supply steps: allowances released or withheld at trigger prices."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from etslink.core.data import ModelData, Rows, SupplyStep
from etslink.core.sheet import Column, Sheet, not_yet_announced_column, system_column, year_column
from etslink.instruments.declarations import (
    BalanceColumn,
    CostItem,
    Instrument,
    Payee,
    Priced,
    Role,
    Side,
    Term,
    Values,
    Variable,
    cleaned,
    solved,
)
from etslink.instruments.sets import grouped

SUPPLY_STEPS = Sheet(
    "supply_steps",
    "Price-triggered allowance supply: a step of a system-year's supply curve. Several rows "
    "per system-year form a step curve; the floor and ceiling of price_controls still work.",
    (
        system_column(),
        year_column(),
        Column(
            "trigger_price_per_tCO2e",
            "number",
            "The price at which the step acts.",
            unit="CUR per tCO2e",
            required=True,
            minimum=0.0,
        ),
        Column(
            "quantity_MtCO2e",
            "number",
            "Positive: extra allowances sold once the price reaches the trigger (cost "
            "containment reserve, price containment tiers). Negative: allowances withheld "
            "while the price is below the trigger (emissions containment reserve).",
            unit="MtCO2e",
            required=True,
        ),
        not_yet_announced_column(),
    ),
    examples=(("A", 2030, 150, 5, None),),
)


VARIABLES = (
    Variable("released_MtCO2e", "B10", Role.DECIDED, year_position=1),
    Variable("withheld_MtCO2e", "B11", Role.DECIDED, year_position=1),
)


def add_supply_steps(m: pyo.ConcreteModel, d: ModelData) -> None:
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


def _purchases(sol: Values, d: ModelData, priced: Priced) -> np.ndarray:
    """Return what each system-year pays for allowances released at their triggers [M CUR]."""
    paid = np.zeros(len(d.system_years))
    for (s, y, k), quantity in cleaned(sol.values("released_MtCO2e")).items():
        paid[priced.positions[s, y]] += quantity * d.supply_steps[k].trigger_per_tCO2e
    return paid


def _read(rows: Rows) -> dict[str, Any]:
    """Return the extra allowances offered at trigger prices."""
    return {
        "supply_steps": tuple(
            SupplyStep(r["system"], r["year"], r["trigger_price_per_tCO2e"], r["quantity_MtCO2e"])
            for r in rows.tables.get("supply_steps", [])
        )
    }


INSTRUMENT = Instrument(
    "supply_steps",
    add_supply_steps,
    variables=VARIABLES,
    terms=(Term("supply_steps_MtCO2e", Side.AVAILABLE),),
    objective=("supply_step_cost_Mcur",),
    columns=(
        BalanceColumn(
            "supply_steps_MtCO2e",
            "allowances released at trigger prices less those withheld (sheet supply_steps)",
            solved("supply_steps_MtCO2e"),
        ),
    ),
    costs=(
        CostItem(
            "supply_step_purchases",
            1.0,
            Payee.SUPPLY,
            "allowances released by supply steps * trigger",
            _purchases,
        ),
    ),
    sheets=(SUPPLY_STEPS,),
    read=_read,
)
