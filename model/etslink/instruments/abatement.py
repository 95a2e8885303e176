"""Abatement: linear MACs (quadratic cost) and stepwise options (linear cost)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pyomo.environ as pyo

from etslink.core.checking import Checker, Tables, TOLERANCE_MtCO2e
from etslink.core.data import AbatementStep, LinearMac, ModelData, Rows, SystemYear, frozen
from etslink.core.sheet import PRICE_MAX, Column, Sheet, system_column, year_column
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

MAC_LINEAR = Sheet(
    "mac_linear",
    "Linear marginal abatement cost MAC(a) = intercept + slope * a; cost is "
    "intercept*a + slope*a^2/2 (M CUR).",
    (
        system_column(),
        year_column(),
        Column(
            "intercept_per_tCO2e",
            "number",
            "MAC of the first tonne abated.",
            unit="CUR per tCO2e",
            default=0.0,
            minimum=0.0,
            maximum=PRICE_MAX,
        ),
        Column(
            "slope_per_tCO2e_per_MtCO2e",
            "number",
            "Increase of the MAC per MtCO2e abated.",
            unit="CUR per tCO2e per MtCO2e",
            required=True,
            minimum=0.0,
            maximum=PRICE_MAX,
        ),
        Column(
            "max_abatement_MtCO2e",
            "number",
            "Most that can be abated on this curve.",
            unit="MtCO2e",
            default_doc="the baseline",
            minimum=0.0,
        ),
    ),
    key=("system", "year"),
    examples=(("A", 2030, 0, 2, 50), ("B", 2030, 0, 8, 50)),
)


MAC_STEPS = Sheet(
    "mac_steps",
    "Stepwise abatement options: each abates up to its quantity at a constant unit cost.",
    (
        system_column(),
        year_column(),
        Column("option", "text", "Label of the option.", required=True),
        Column(
            "abatement_MtCO2e",
            "number",
            "Most that the option abates.",
            unit="MtCO2e",
            required=True,
            minimum=0.0,
        ),
        Column(
            "cost_per_tCO2e",
            "number",
            "Unit cost of the option.",
            unit="CUR per tCO2e",
            required=True,
            minimum=0.0,
            maximum=PRICE_MAX,
        ),
    ),
    key=("system", "year", "option"),
    examples=(("A", 2030, "fuel switch", 5, 30),),
)


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


def _check_abatement_room(checker: Checker, tables: Tables) -> None:
    """Total possible abatement (linear max + steps) may not exceed the baseline."""
    baseline = {(r["system"], r["year"]): r["baseline_MtCO2e"] for r in tables["emissions"]}
    room: dict[tuple[str, int], float] = defaultdict(float)
    row_of: dict[tuple[str, int], tuple[str, int, str]] = {}
    for r in tables["mac_steps"]:
        room[r["system"], r["year"]] += r["abatement_MtCO2e"] or 0.0
        row_of[r["system"], r["year"]] = ("mac_steps", r["_row"], "abatement_MtCO2e")
    for r in tables["mac_linear"]:
        room[r["system"], r["year"]] += r["max_abatement_MtCO2e"] or 0.0
        row_of[r["system"], r["year"]] = ("mac_linear", r["_row"], "max_abatement_MtCO2e")
    for key, total in room.items():
        base = baseline.get(key)
        if base is not None and total > base + TOLERANCE_MtCO2e:
            name, row, column = row_of[key]
            checker.flag(
                checker.raw[name],
                row,
                column,
                f"{key[0]} {key[1]} could abate {total:g} MtCO2e in all, more than its "
                f"baseline {base:g} MtCO2e",
                "lower max_abatement_MtCO2e (mac_linear) or the step quantities "
                "(mac_steps) so that they add up to at most the baseline",
            )


def _warn_no_abatement(checker: Checker, tables: Tables) -> None:
    """Warn of a system without abatement options: it can only buy allowances."""
    abating = {r["system"] for name in ("mac_linear", "mac_steps") for r in tables[name]}
    for r in tables["systems"]:
        if r["system"] not in abating:
            checker.warn(
                checker.raw["systems"],
                r["_row"],
                "system",
                f"{r['system']} has no abatement options",
                "add rows on mac_linear or mac_steps unless it only buys allowances",
            )


def _steps(
    tables: Mapping[str, list[dict[str, Any]]],
) -> dict[SystemYear, tuple[AbatementStep, ...]]:
    steps: dict[SystemYear, list[AbatementStep]] = defaultdict(list)
    for r in tables["mac_steps"]:
        steps[r["system"], r["year"]].append(
            AbatementStep(r["option"], r["abatement_MtCO2e"], r["cost_per_tCO2e"])
        )
    return {key: tuple(sorted(v, key=lambda s: s.option)) for key, v in steps.items()}


def _linear_macs(
    tables: Mapping[str, list[dict[str, Any]]], baseline: Mapping[SystemYear, float]
) -> dict[SystemYear, LinearMac]:
    """Linear MACs; a blank max abatement is the baseline less the steps' quantities."""
    step_room: dict[SystemYear, float] = defaultdict(float)
    for r in tables["mac_steps"]:
        step_room[r["system"], r["year"]] += r["abatement_MtCO2e"]
    macs = {}
    for r in tables["mac_linear"]:
        key = (r["system"], r["year"])
        room = r["max_abatement_MtCO2e"]
        if room is None:
            room = max(baseline[key] - step_room[key], 0.0)
        macs[key] = LinearMac(r["intercept_per_tCO2e"], r["slope_per_tCO2e_per_MtCO2e"], room)
    return macs


def _read(rows: Rows) -> dict[str, Any]:
    """Return the linear MACs and stepwise options of each system-year."""
    return {
        "mac_linear": frozen(_linear_macs(rows.tables, rows.baseline)),
        "mac_steps": frozen(_steps(rows.tables)),
    }


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
    sheets=(
        MAC_LINEAR,
        MAC_STEPS,
    ),
    checks=(_check_abatement_room,),
    warnings=(_warn_no_abatement,),
    read=_read,
)
