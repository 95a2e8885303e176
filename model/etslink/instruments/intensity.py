"""Intensity-based systems: allowances issued per unit of output, output a decision.

In an intensity year (sheet `intensity`) a system's cap is 0 and it issues benchmark x
output allowances (E18); its emissions are intensity x output - abatement (E1, through
`output_emissions_change_MtCO2e`, which abatement.py adds to the baseline intensity x Q0);
moving output away from its baseline costs d/2 x (Q - Q0)^2 (E19). At the optimum
Q = Q0 - p (mu - r) / d: the standard taxes emissions and subsidises output (Fischer 2003).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyomo.environ as pyo

from etslink.core.checking import Checker, Tables
from etslink.core.data import IntensityStandard, ModelData, Rows, SystemYear, frozen
from etslink.core.sheet import Column, Sheet, system_column, year_column
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

INTENSITY = Sheet(
    "intensity",
    "An intensity-based system's standard in one year (systems with cap_type intensity): "
    "output is a decision, allowances issued = benchmark x output, emissions = intensity x "
    "output - abatement, and moving output away from its baseline costs "
    "output_cost_slope / 2 x (output - output baseline)^2 a year (Fischer 2003: the "
    "standard taxes emissions and subsidises output).",
    (
        system_column(),
        year_column(),
        Column(
            "output_baseline_Munits",
            "number",
            "Output without a carbon price (Q0), in million units of product (e.g. MWh, t).",
            unit="Munits",
            required=True,
            minimum=0.0,
            exclusive_minimum=True,
        ),
        Column(
            "emission_intensity_tCO2e_per_unit",
            "number",
            "Emissions per unit of output before abatement (mu).",
            unit="tCO2e per unit",
            required=True,
            minimum=0.0,
            exclusive_minimum=True,
        ),
        Column(
            "benchmark_tCO2e_per_unit",
            "number",
            "Allowances issued per unit of output (r).",
            unit="tCO2e per unit",
            required=True,
            minimum=0.0,
        ),
        Column(
            "output_cost_slope_per_unit_per_Munits",
            "number",
            "How fast the cost of moving output away from Q0 rises (d): the marginal cost of "
            "the last unit moved, in currency per unit, per million units moved.",
            unit="CUR per unit per Munits",
            required=True,
            minimum=0.0,
            exclusive_minimum=True,
        ),
    ),
    key=("system", "year"),
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


def _check_intensity(checker: Checker, tables: Tables) -> None:
    """Intensity rows belong to intensity systems; every other year has a baseline and a cap."""
    cap_type = {r["system"]: r["cap_type"] for r in tables["systems"]}
    standards = {}
    for r in tables["intensity"]:
        standards[r["system"], r["year"]] = r
        if cap_type.get(r["system"]) == "absolute":
            checker.flag(
                checker.raw["intensity"],
                r["_row"],
                "system",
                f"{r['system']} has an absolute cap (sheet systems, cap_type)",
                f"set cap_type to intensity for {r['system']} on sheet systems, or delete the row",
            )
    raw = checker.raw.get("emissions")
    for r in tables["emissions"]:
        assert raw is not None
        standard = standards.get((r["system"], r["year"]))
        if standard is None:
            for column in ("baseline_MtCO2e", "cap_MtCO2e"):
                if r[column] is None:
                    intensity = cap_type.get(r["system"]) == "intensity"
                    checker.flag(
                        raw,
                        r["_row"],
                        column,
                        "the cell is blank"
                        + (f" and sheet intensity has no row for {r['year']}" if intensity else ""),
                        "fill it in"
                        + (" (or add the year's standard on sheet intensity)" if intensity else ""),
                    )
            continue
        if r["cap_MtCO2e"] is not None:
            checker.flag(
                raw,
                r["_row"],
                "cap_MtCO2e",
                f"{r['system']} {r['year']} is intensity-based (sheet intensity row "
                f"{standard['_row']}): its allowances are benchmark x output, not a cap",
                "leave the cap blank, or delete the intensity row to use this cap",
            )
        expected = (
            standard["emission_intensity_tCO2e_per_unit"] * standard["output_baseline_Munits"]
        )
        given = r["baseline_MtCO2e"]
        if given is not None and abs(given - expected) > 1e-6 * max(1.0, expected):
            checker.flag(
                raw,
                r["_row"],
                "baseline_MtCO2e",
                f"the baseline {given:g} differs from intensity x output baseline = {expected:g} "
                f"(sheet intensity row {standard['_row']})",
                "leave the baseline blank (it is intensity x output baseline), or correct one",
            )


def standards(tables: Mapping[str, list[dict[str, Any]]]) -> dict[SystemYear, IntensityStandard]:
    """Return the intensity standard of each intensity-based system-year."""
    return {
        (r["system"], r["year"]): IntensityStandard(
            r["output_baseline_Munits"],
            r["emission_intensity_tCO2e_per_unit"],
            r["benchmark_tCO2e_per_unit"],
            r["output_cost_slope_per_unit_per_Munits"],
        )
        for r in tables.get("intensity", [])
    }


def _read(rows: Rows) -> dict[str, Any]:
    """Return the intensity standard of each intensity-based system-year."""
    return {"intensity": frozen(standards(rows.tables))}


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
    sheets=(INTENSITY,),
    checks=(_check_intensity,),
    read=_read,
)
