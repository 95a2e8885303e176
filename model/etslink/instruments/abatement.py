"""Abatement: linear MACs (quadratic cost) and stepwise options (linear cost)."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from etslink.core.data import ModelData
from etslink.instruments.declarations import (
    BalanceColumn,
    CostItem,
    Instrument,
    Payee,
    Role,
    Side,
    Term,
    Variable,
    by_system_year,
    solved,
)
from etslink.instruments.sets import grouped

VARIABLES = (
    Variable("abatement_linear_MtCO2e", "B1", Role.DECIDED),
    Variable("abatement_step_MtCO2e", "B2", Role.DECIDED, year_position=1),
)


def add_abatement(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add abatement variables, (E1) emissions and (E2) abatement cost."""
    m.abatement_linear_MtCO2e = pyo.Var(
        m.linear_macs,
        bounds=lambda m, s, y: (0.0, m.mac_max_abatement_MtCO2e[s, y]),
        doc="(B1) abatement on the linear MAC [MtCO2e]",
    )
    m.abatement_step_MtCO2e = pyo.Var(
        m.abatement_steps,
        bounds=lambda m, s, y, k: (0.0, m.step_abatement_MtCO2e[s, y, k]),
        doc="(B2) abatement by a stepwise option [MtCO2e]",
    )
    steps_of = grouped(m.abatement_steps, key=lambda s, y, k: (s, y), value=lambda s, y, k: k)

    def abatement(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        linear = m.abatement_linear_MtCO2e[s, y] if (s, y) in d.mac_linear else 0.0
        return linear + sum(m.abatement_step_MtCO2e[s, y, k] for k in steps_of.get((s, y), []))

    def emissions(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        total = m.baseline_MtCO2e[s, y] - m.abatement_MtCO2e[s, y]
        if (s, y) in d.intensity:  # output moves emissions (intensity.py, built before)
            total += m.output_emissions_change_MtCO2e[s, y]
        return total

    def cost(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        total = sum(
            m.step_cost_per_tCO2e[s, y, k] * m.abatement_step_MtCO2e[s, y, k]
            for k in steps_of.get((s, y), [])
        )
        if (s, y) in d.mac_linear:
            a = m.abatement_linear_MtCO2e[s, y]
            total += (
                m.mac_intercept_per_tCO2e[s, y] * a
                + m.mac_slope_per_tCO2e_per_MtCO2e[s, y] / 2 * a**2
            )
        return total

    m.abatement_MtCO2e = pyo.Expression(
        m.system_years, rule=abatement, doc="(E1) total abatement [MtCO2e]"
    )
    m.emissions_MtCO2e = pyo.Expression(
        m.system_years,
        rule=emissions,
        doc="(E1) emissions = baseline - abatement (+ intensity x output change) [MtCO2e]",
    )
    m.abatement_cost_Mcur = pyo.Expression(
        m.system_years, rule=cost, doc="(E2) abatement cost [M CUR, money of year y]"
    )


INSTRUMENT = Instrument(
    "abatement",
    add_abatement,
    variables=VARIABLES,
    terms=(Term("emissions_MtCO2e", Side.OWED),),
    objective=("abatement_cost_Mcur",),
    columns=(
        BalanceColumn(
            "abatement_MtCO2e", "abatement, linear and stepwise", solved("abatement_MtCO2e")
        ),
        BalanceColumn("emissions_MtCO2e", "baseline - abatement", solved("emissions_MtCO2e")),
    ),
    costs=(
        CostItem(
            "abatement_cost",
            1.0,
            Payee.ABATEMENT,
            "area under the MAC up to the abatement (E2)",
            lambda sol, d, priced: by_system_year(d, sol.values("abatement_cost_Mcur")),
        ),
    ),
)
