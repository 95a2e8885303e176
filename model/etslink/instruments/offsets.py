"""Offset credits: stepwise supply, acceptance rules and limits; the indirect link."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pyomo.environ as pyo

from etslink.core.checking import Checker, Periods, Tables
from etslink.core.data import ModelData, OffsetOffer, OffsetRule, Rows, years_between
from etslink.core.sheet import Column, Sheet, first_last_columns, system_column, year_column
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
    level,
    solved,
)
from etslink.instruments.sets import grouped

OFFSETS = Sheet(
    "offsets",
    "Supply of offset credits; several rows for one type and year form a stepwise supply "
    "curve. Credits are used in the year they are bought.",
    (
        Column("offset_type", "text", "Credit type, e.g. CDM.", required=True),
        year_column(),
        Column(
            "supply_MtCO2e",
            "number",
            "Credits offered at this price.",
            unit="MtCO2e",
            required=True,
            minimum=0.0,
        ),
        Column(
            "price_per_tCO2e",
            "number",
            "Price asked for these credits.",
            unit="CUR per tCO2e",
            required=True,
            minimum=0.0,
        ),
    ),
    examples=(("CDM", 2030, 10, 5),),
)


OFFSET_RULES = Sheet(
    "offset_rules",
    "Which systems accept which credits, and how many.",
    (
        system_column(),
        Column(
            "offset_type",
            "text",
            "Credit type, as on sheet offsets.",
            required=True,
            ref="offset_type",
        ),
        Column(
            "max_share_of_emissions",
            "number",
            "Most credits as a fraction of the system's emissions that year (8% = 0.08); "
            "blank = no share limit.",
            unit="fraction",
            default_doc="no limit",
            minimum=0.0,
            maximum=1.0,
        ),
        Column(
            "max_MtCO2e",
            "number",
            "Most credits per year; blank = no quantity limit.",
            unit="MtCO2e",
            default_doc="no limit",
            minimum=0.0,
        ),
        *first_last_columns("the system accepts the credits"),
    ),
    examples=(("A", "CDM", 0.08, None, 2030, 2030),),
)


VARIABLES = (
    Variable("offsets_bought_MtCO2e", "B4", Role.DECIDED, year_position=1),
    Variable("offset_use_MtCO2e", "B5", Role.REDECIDED),
)
_CREDITS_ALLOWED = "value of one more credit allowed (= allowance price - credit price)"
RESTRICTIONS = (
    Restriction(
        "offset_market",
        "E6",
        "market price of the credit (the indirect link's price)",
        locate=lambda d, key: ("", key[0], key[1]),
        level=lambda sol, d, key: sum(
            level(sol, "offset_use_MtCO2e", (s, key[0], key[1])) for s in d.systems
        ),
        always_reported=True,
    ),
    Restriction(
        "offset_quantity_limit",
        "E7",
        _CREDITS_ALLOWED,
        locate=lambda d, key: key,
        level=lambda sol, d, key: level(sol, "offset_use_MtCO2e", key),
    ),
    Restriction(
        "offset_share_limit",
        "E8",
        _CREDITS_ALLOWED,
        locate=lambda d, key: key,
        level=lambda sol, d, key: level(sol, "offset_use_MtCO2e", key),
    ),
)


def add_offsets(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add credit purchases (B4), use (B5), (E6) market balance, (E7)-(E8) use limits."""
    m.offsets_bought_MtCO2e = pyo.Var(
        m.offset_offers,
        bounds=lambda m, o, y, k: (0.0, m.offer_supply_MtCO2e[o, y, k]),
        doc="(B4) credits bought from a supply step [MtCO2e]",
    )
    m.offset_use_MtCO2e = pyo.Var(
        m.offset_uses, domain=pyo.NonNegativeReals, doc="(B5) credits a system surrenders [MtCO2e]"
    )
    users = grouped(m.offset_uses, key=lambda s, o, y: (o, y), value=lambda s, o, y: s)
    steps = grouped(m.offset_offers, key=lambda o, y, k: (o, y), value=lambda o, y, k: k)
    m.offset_offers_of = steps  # steps of each credit market, for the second stage (E14)

    m.offset_market = pyo.Constraint(
        m.offset_markets,
        rule=lambda m, o, y: (
            sum(m.offset_use_MtCO2e[s, o, y] for s in users.get((o, y), []))
            <= sum(m.offsets_bought_MtCO2e[o, y, k] for k in steps[o, y])
        ),
        doc="(E6) credits used <= credits bought [MtCO2e]",
    )
    _add_offset_limits(m, d)
    types_of = grouped(m.offset_uses, key=lambda s, o, y: (s, y), value=lambda s, o, y: o)
    m.offsets_used_MtCO2e = pyo.Expression(
        m.system_years,
        rule=lambda m, s, y: sum(m.offset_use_MtCO2e[s, o, y] for o in types_of.get((s, y), [])),
        doc="credits of all types a system surrenders [MtCO2e]",
    )
    m.offset_purchase_cost_Mcur = pyo.Expression(
        m.offset_markets,
        rule=lambda m, o, y: sum(
            m.offer_price_per_tCO2e[o, y, k] * m.offsets_bought_MtCO2e[o, y, k] for k in steps[o, y]
        ),
        doc="(E12) cost of the credits bought at their asking prices [M CUR, money of year y]",
    )


def _add_offset_limits(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add (E7) the quantity and (E8) the share limits of each system's credit use."""
    rule_of = d.offset_rule_of()
    m.offset_quantity_limit = pyo.Constraint(
        m.offset_quantity_limits,
        rule=lambda m, s, o, y: m.offset_use_MtCO2e[s, o, y] <= rule_of[s, o, y].max_MtCO2e,
        doc="(E7) credits used <= quantity limit [MtCO2e]",
    )
    m.offset_share_limit = pyo.Constraint(
        m.offset_share_limits,
        rule=lambda m, s, o, y: (
            m.offset_use_MtCO2e[s, o, y]
            <= rule_of[s, o, y].max_share_of_emissions * m.emissions_MtCO2e[s, y]
        ),
        doc="(E8) credits used <= share of emissions [MtCO2e]",
    )


def _purchases(sol: Values, d: ModelData, priced: Priced) -> np.ndarray:
    """Return what each system-year pays for the credits it uses, at market price [M CUR]."""
    paid = np.zeros(len(d.system_years))
    for (s, o, y), used in cleaned(sol.values("offset_use_MtCO2e")).items():
        paid[priced.positions[s, y]] += used * priced.offset_prices[o, y]
    return paid


def _check_rule_periods(checker: Checker, tables: Tables) -> None:
    """Rules of one system and credit type may change over time but not overlap."""
    periods = Periods()
    for record in tables["offset_rules"]:
        key = (record["system"], record["offset_type"])
        other = periods.clash(key, record)
        if other is not None:
            checker.flag(
                checker.raw["offset_rules"],
                record["_row"],
                "first_year",
                f"{key[0]} and {key[1]} already have a rule for these years on row {other}",
                "give each row its own first_year-last_year, without overlap",
            )


def _offers(rows: list[dict[str, Any]]) -> tuple[OffsetOffer, ...]:
    """Offers numbered per (type, year) in order of price, so step 1 is the cheapest."""
    grouped: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        grouped[r["offset_type"], r["year"]].append(r)
    return tuple(
        OffsetOffer(o, y, step, r["supply_MtCO2e"], r["price_per_tCO2e"])
        for (o, y), group in sorted(grouped.items())
        for step, r in enumerate(sorted(group, key=lambda r: r["price_per_tCO2e"]), start=1)
    )


def _read(rows: Rows) -> dict[str, Any]:
    """Return the credit offers (stepwise supply) and each system's rules for credits."""
    return {
        "offset_offers": _offers(rows.tables["offsets"]),
        "offset_rules": tuple(
            OffsetRule(
                r["system"],
                r["offset_type"],
                r["max_share_of_emissions"],
                r["max_MtCO2e"],
                years_between(r["first_year"], r["last_year"], rows.years_of[r["system"]]),
            )
            for r in rows.tables["offset_rules"]
        ),
    }


INSTRUMENT = Instrument(
    "offsets",
    add_offsets,
    variables=VARIABLES,
    restrictions=RESTRICTIONS,
    terms=(Term("offsets_used_MtCO2e", Side.AVAILABLE),),
    objective=("offset_purchase_cost_Mcur",),
    columns=(
        BalanceColumn(
            "offsets_used_MtCO2e", "offset credits surrendered", solved("offsets_used_MtCO2e")
        ),
    ),
    costs=(
        CostItem(
            "offset_purchases",
            1.0,
            Payee.ABROAD,
            "credits used * the credit market price",
            _purchases,
        ),
    ),
    sheets=(
        OFFSETS,
        OFFSET_RULES,
    ),
    checks=(_check_rule_periods,),
    read=_read,
)
