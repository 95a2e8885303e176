"""Banking: allowances carried to a system's next year, and how far it may borrow."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pyomo.environ as pyo

from etslink.core.checking import Checker, Record, Tables, year_spans
from etslink.core.data import ModelData
from etslink.instruments.declarations import (
    BalanceColumn,
    Instrument,
    Restriction,
    Role,
    Side,
    SystemYear,
    Term,
    Values,
    Variable,
    level,
)

VARIABLES = (Variable("bank_MtCO2e", "B8", Role.REDECIDED),)
RESTRICTIONS = (
    Restriction(
        "borrowing_limit",
        "E10",
        "value of borrowing one more allowance from the next year",
        locate=lambda d, key: (key[0], "", key[1]),
        level=lambda sol, d, key: level(sol, "bank_MtCO2e", key, sign=-1.0),
    ),
)


def add_banking(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add the bank (B8) and (E10) the borrowing limit."""
    m.bank_MtCO2e = pyo.Var(m.bank_years, doc="(B8) allowances carried to the next year [MtCO2e]")
    m.borrowing_limit = pyo.Constraint(
        m.bank_years,
        rule=lambda m, s, y: -m.bank_MtCO2e[s, y] <= d.borrowing_limit_MtCO2e[s],
        doc="(E10) -bank <= borrowing limit [MtCO2e]",
    )


def bank_in(m: pyo.ConcreteModel, d: ModelData, s: str, y: int) -> Any:
    """Return the allowances carried into year y [MtCO2e]: the previous bank or the initial."""
    years = d.years_of(s)
    position = years.index(y)
    if position == 0:
        return d.initial_bank_MtCO2e[s]
    previous = (s, years[position - 1])
    return m.bank_MtCO2e[previous] if previous in m.bank_years else 0.0


def _bank_end(sol: Values, d: ModelData) -> Mapping[SystemYear, float]:
    """Return each system-year's bank at its end [MtCO2e].

    In a system's last year, what it leaves unused: the surplus of its balance (E11).
    """
    banks = dict(sol.values("bank_MtCO2e"))
    surplus = sol.slacks("compliance")
    for s in d.systems:
        last = (s, d.years_of(s)[-1])
        banks[last] = surplus.get(last, 0.0)
    return banks


def _bank_start(sol: Values, d: ModelData) -> Mapping[SystemYear, float]:
    """Return the bank each system-year starts with [MtCO2e]: the bank carried in (B8)."""
    banks = sol.values("bank_MtCO2e")
    start = {}
    for s in d.systems:
        years = d.years_of(s)
        start[s, years[0]] = d.initial_bank_MtCO2e[s]
        pairs = zip(years, years[1:], strict=False)
        start |= {(s, y): banks.get((s, before), 0.0) for before, y in pairs}
    return start


def _warn_year_gaps(checker: Checker, tables: Tables) -> None:
    """Warn when a system with banking skips years: its bank jumps over years not modelled."""
    banking = {r["system"] for r in tables["systems"] if r["banking"]}
    rows_of: dict[str, list[Record]] = defaultdict(list)
    for r in tables["emissions"]:
        if r["system"] in banking:
            rows_of[r["system"]].append(r)
    for system, rows in rows_of.items():
        rows.sort(key=lambda r: r["year"])
        jumps = [(a, b) for a, b in itertools.pairwise(rows) if b["year"] > a["year"] + 1]
        if not jumps:
            continue
        missing = [y for a, b in jumps for y in range(a["year"] + 1, b["year"])]
        before, after = jumps[0]
        checker.warn(
            checker.raw["emissions"],
            after["_row"],
            "year",
            f"{system} banks but has no rows for {year_spans(missing)}, so those years are "
            f"not modelled and its bank passes from {before['year']} straight to "
            f"{after['year']}",
            "add rows for the missing years on sheet emissions (and their abatement options), "
            f"or set banking to no for {system} on sheet systems if its years stand alone",
        )


INSTRUMENT = Instrument(
    "banking",
    add_banking,
    variables=VARIABLES,
    restrictions=RESTRICTIONS,
    terms=(Term("bank_MtCO2e", Side.OWED), Term("bank_in", Side.AVAILABLE, bank_in)),
    columns=(
        BalanceColumn(
            "bank_start_MtCO2e",
            "allowances carried in from the previous year (in a system's first year, its "
            "initial bank)",
            _bank_start,
        ),
        BalanceColumn(
            "bank_end_MtCO2e",
            "allowances carried to the next year (negative: borrowed); in a system's last "
            "year, the allowances left unused, which are worthless",
            _bank_end,
        ),
    ),
    warnings=(_warn_year_gaps,),
)
