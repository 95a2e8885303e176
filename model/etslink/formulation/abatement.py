"""Abatement: linear MACs (quadratic cost) and stepwise options (linear cost)."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from etslink.data import ModelData
from etslink.formulation.sets import grouped


def add_abatement(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add abatement variables, (E1) emissions and (E2) abatement cost."""
    steps = {(s, y, step.option): step for (s, y), ss in d.mac_steps.items() for step in ss}
    m.abatement_linear_MtCO2e = pyo.Var(
        m.linear_macs,
        bounds=lambda m, s, y: (0.0, d.mac_linear[s, y].max_abatement_MtCO2e),
        doc="(B1) abatement on the linear MAC [MtCO2e]",
    )
    m.abatement_step_MtCO2e = pyo.Var(
        m.abatement_steps,
        bounds=lambda m, s, y, k: (0.0, steps[s, y, k].abatement_MtCO2e),
        doc="(B2) abatement by a stepwise option [MtCO2e]",
    )
    steps_of = grouped(m.abatement_steps, key=lambda s, y, k: (s, y), value=lambda s, y, k: k)

    def abatement(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        linear = m.abatement_linear_MtCO2e[s, y] if (s, y) in d.mac_linear else 0.0
        return linear + sum(m.abatement_step_MtCO2e[s, y, k] for k in steps_of.get((s, y), []))

    def emissions(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        return d.baseline_MtCO2e[s, y] - m.abatement_MtCO2e[s, y]

    def cost(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        total = sum(
            steps[s, y, k].cost_per_tCO2e * m.abatement_step_MtCO2e[s, y, k]
            for k in steps_of.get((s, y), [])
        )
        if (s, y) in d.mac_linear:
            mac, a = d.mac_linear[s, y], m.abatement_linear_MtCO2e[s, y]
            total += mac.intercept_per_tCO2e * a + mac.slope_per_tCO2e_per_MtCO2e / 2 * a**2
        return total

    m.abatement_MtCO2e = pyo.Expression(
        m.system_years, rule=abatement, doc="(E1) total abatement [MtCO2e]"
    )
    m.emissions_MtCO2e = pyo.Expression(
        m.system_years, rule=emissions, doc="(E1) emissions = baseline - abatement [MtCO2e]"
    )
    m.abatement_cost_Mcur = pyo.Expression(
        m.system_years, rule=cost, doc="(E2) abatement cost [M CUR, money of year y]"
    )
