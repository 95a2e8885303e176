"""Price controls: a floor withholds allowances, a ceiling sells extra ones at the ceiling."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyomo.environ as pyo

from etslink.core.checking import Checker, Record, Tables, span
from etslink.core.data import ModelData, PriceControl, Rows, frozen
from etslink.core.sheet import Column, Sheet, not_yet_announced_column, system_column, year_column
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
from etslink.instruments.links import arcs

PRICE_CONTROLS = Sheet(
    "price_controls",
    "Price floor and ceiling per system and year.",
    (
        system_column(),
        year_column(),
        Column(
            "floor_price_per_tCO2e",
            "number",
            "Allowances go unsold rather than trade below it; blank = no floor.",
            unit="CUR per tCO2e",
            default_doc="no floor",
            minimum=0.0,
        ),
        Column(
            "ceiling_price_per_tCO2e",
            "number",
            "Extra allowances are sold at this price; blank = no ceiling.",
            unit="CUR per tCO2e",
            default_doc="no ceiling",
            minimum=0.0,
        ),
        Column(
            "ceiling_reserve_MtCO2e",
            "number",
            "How many extra allowances exist at the ceiling; blank = unlimited.",
            unit="MtCO2e",
            default_doc="unlimited",
            minimum=0.0,
        ),
        not_yet_announced_column(),
    ),
    key=("system", "year"),
    examples=(("A", 2030, 10, 200, None, None),),
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


def _first_pump(
    record: Record,
    exporter: str,
    importer: str,
    ceiling: dict[tuple[str, int], float],
    floor: dict[tuple[str, int], float],
) -> tuple[str, str] | None:
    """Return (problem, fix) for the first year a direction of a link is a money pump."""
    rate = record["exchange_rate"] or 1.0
    if importer == record["from_system"]:
        rate = 1 / rate  # the reverse direction of a two-way link
    fee = record["transfer_fee_per_tCO2e"] or 0.0
    first, last = span(record)
    for (system, year), price in sorted(ceiling.items()):
        held = floor.get((importer, year))
        if system != exporter or held is None or not first <= year <= last:
            continue
        if price + fee < rate * held:
            problem = (
                f"in {year} {exporter}'s ceiling price {price:g} is below what its "
                f"allowances are worth at {importer}'s floor ({rate * held:g} per "
                f"{exporter} allowance): the model would buy {exporter}'s allowances at the "
                f"ceiling to hold {importer}'s back at the floor, a money pump"
            )
            fix = (
                f"raise {exporter}'s ceiling or lower {importer}'s floor on sheet "
                f"price_controls, or end the link before {year}"
            )
            return problem, fix
    return None


def _check_price_controls(checker: Checker, tables: Tables) -> None:
    """A floor is not above the ceiling; a ceiling reserve needs a ceiling."""
    for record in tables["price_controls"]:
        floor, ceiling = record["floor_price_per_tCO2e"], record["ceiling_price_per_tCO2e"]
        if floor is not None and ceiling is not None and floor > ceiling:
            checker.flag(
                checker.raw["price_controls"],
                record["_row"],
                "floor_price_per_tCO2e",
                f"the floor {floor:g} is above the ceiling {ceiling:g}",
                "lower the floor or raise the ceiling",
            )
        if record["ceiling_reserve_MtCO2e"] is not None and ceiling is None:
            checker.flag(
                checker.raw["price_controls"],
                record["_row"],
                "ceiling_reserve_MtCO2e",
                "a ceiling reserve is given but no ceiling price",
                "enter ceiling_price_per_tCO2e or clear the reserve",
            )


def _check_price_control_pumps(checker: Checker, tables: Tables) -> None:
    """A link may not carry allowances bought at a ceiling to a system that holds a floor above it.

    With such a link no price satisfies both controls: the least-cost solution buys the
    exporter's ceiling allowances to hold the importer's back at its floor, without end
    (a money pump). Checked per row of `links` and `candidate_links` and per direction.
    """
    ceiling, floor = {}, {}
    for r in tables["price_controls"]:
        if r["ceiling_price_per_tCO2e"] is not None:
            ceiling[r["system"], r["year"]] = r["ceiling_price_per_tCO2e"]
        if r["floor_price_per_tCO2e"] is not None:
            floor[r["system"], r["year"]] = r["floor_price_per_tCO2e"]
    for sheet in ("links", "candidate_links"):
        for record in tables[sheet]:
            for exporter, importer in arcs(record):
                pump = _first_pump(record, exporter, importer, ceiling, floor)
                if pump is not None:
                    checker.flag(checker.raw[sheet], record["_row"], "from_system", *pump)


def _read(rows: Rows) -> dict[str, Any]:
    """Return the floor, ceiling and ceiling reserve of each system-year with controls."""
    return {
        "price_controls": frozen(
            {
                (r["system"], r["year"]): PriceControl(
                    r["floor_price_per_tCO2e"],
                    r["ceiling_price_per_tCO2e"],
                    r["ceiling_reserve_MtCO2e"],
                )
                for r in rows.tables["price_controls"]
            }
        )
    }


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
    sheets=(PRICE_CONTROLS,),
    checks=(
        _check_price_controls,
        _check_price_control_pumps,
    ),
    read=_read,
)
