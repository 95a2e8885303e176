"""Intensity-based systems: allowances issued per unit of output, output a decision.

In an intensity year (sheet `intensity`) a system's cap is 0 and it issues benchmark x
output allowances (E18); its emissions are intensity x output - abatement (E1, through
`output_emissions_change_MtCO2e`, which abatement.py adds to the baseline intensity x Q0);
moving output away from its baseline costs d/2 x (Q - Q0)^2 (E19). At the optimum
Q = Q0 - p (mu - r) / d: the standard taxes emissions and subsidises output (Fischer 2003).
"""

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

VARIABLES = (Variable("output_Munits", "B12", Role.DECIDED),)


def add_intensity(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add output (B12), (E18) allowances issued, the output's emissions and (E19) its cost.

    The benchmark r and the output baseline Q0 are the inputs `benchmark_tCO2e_per_unit`
    and `output_baseline_Munits` (instruments/parameters.py): Params when a sweep draws them.
    """
    standard = d.intensity
    m.output_Munits = pyo.Var(
        m.intensity_years,
        domain=pyo.NonNegativeReals,
        initialize=lambda m, s, y: standard[s, y].output_baseline_Munits,
        doc="(B12) output of an intensity-based system-year [Munits]",
    )

    def issued(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        return m.benchmark_tCO2e_per_unit[s, y] * m.output_Munits[s, y]

    def change(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        moved = m.output_Munits[s, y] - m.output_baseline_Munits[s, y]
        return standard[s, y].emission_intensity_tCO2e_per_unit * moved

    def cost(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        moved = m.output_Munits[s, y] - m.output_baseline_Munits[s, y]
        return standard[s, y].output_cost_slope_per_unit_per_Munits / 2 * moved**2

    m.allowances_issued_MtCO2e = pyo.Expression(
        m.intensity_years, rule=issued, doc="(E18) benchmark x output [MtCO2e]"
    )
    m.output_emissions_change_MtCO2e = pyo.Expression(
        m.intensity_years,
        rule=change,
        doc="(E1) intensity x (output - output baseline) [MtCO2e]",
    )
    m.output_cost_Mcur = pyo.Expression(
        m.intensity_years, rule=cost, doc="(E19) cost of moving output [M CUR, money of year y]"
    )


def _output_cost(sol: Any, d: ModelData, priced: Any) -> Any:
    return by_system_year(d, sol.values("output_cost_Mcur"))


INSTRUMENT = Instrument(
    "intensity",
    add_intensity,
    variables=VARIABLES,
    terms=(Term("allowances_issued_MtCO2e", Side.AVAILABLE),),
    objective=("output_cost_Mcur",),
    columns=(
        BalanceColumn(
            "issued_per_output_MtCO2e",
            "allowances an intensity-based system issues: benchmark x output (sheet intensity)",
            solved("allowances_issued_MtCO2e"),
        ),
    ),
    costs=(
        CostItem(
            "output_cost",
            1.0,
            Payee.ABATEMENT,
            "cost of moving an intensity-based system's output away from its baseline (E19)",
            _output_cost,
        ),
    ),
)
