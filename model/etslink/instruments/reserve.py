"""A quantity-triggered reserve such as the EU Market Stability Reserve: its rules, year by year.

(E15) enters the allowance balance as a number per system-year (`add_reserve_supply`).

Pure arithmetic on one system's TNAC path [MtCO2e]; the market equilibrium under the reserve
(firms take its intake and release as given) is found in equilibrium.py by iterating between these
rules and the re-solved model. See docs/formulation.md, "Market Stability Reserve".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyomo.environ as pyo

from etslink.core.checking import Checker, Periods, Tables
from etslink.core.data import ModelData, ReserveRule, Rows, in_force
from etslink.core.sheet import Column, Sheet, announced_column, system_column
from etslink.instruments.declarations import BalanceColumn, Instrument, Side, Term, Values

MSR = Sheet(
    "msr",
    "A quantity-triggered reserve such as the EU Market Stability Reserve: one row per "
    "system and period of rules. Each year's intake and release follow from the previous "
    "year's TNAC (the system's bank at the end of that year); the prices are those of the "
    "market equilibrium, in which firms take the reserve's operations as given.",
    (
        system_column(),
        Column("first_year", "year", "First year of the row's rules.", required=True),
        Column(
            "last_year",
            "year",
            "Last year of the row's rules.",
            default_doc="the system's last year",
        ),
        Column(
            "intake_threshold_MtCO2e",
            "number",
            "Intake happens when the previous year's TNAC is above this (EU: 833).",
            unit="MtCO2e",
            required=True,
            minimum=0.0,
        ),
        Column(
            "intake_rate",
            "number",
            "Share of the previous year's TNAC taken in, as a fraction (24% = 0.24; EU: 0.24).",
            unit="fraction",
            required=True,
            minimum=0.0,
            maximum=1.0,
        ),
        Column(
            "intake_capped_at_excess",
            "yesno",
            "yes: intake = min(rate x TNAC, TNAC - threshold), the EU rule from 2024; "
            "no: rate x TNAC.",
            default=False,
            default_doc="no",
        ),
        Column(
            "release_threshold_MtCO2e",
            "number",
            "Release happens when the previous year's TNAC is below this (EU: 400); blank = never.",
            unit="MtCO2e",
            default_doc="never",
            minimum=0.0,
        ),
        Column(
            "release_MtCO2e",
            "number",
            "Allowances released then, at most what the reserve holds (EU: 100).",
            unit="MtCO2e",
            default=0.0,
            minimum=0.0,
        ),
        Column(
            "holdings_limit_MtCO2e",
            "number",
            "Reserve holdings above this are invalidated each year (EU from 2024: 400); "
            "blank = never.",
            unit="MtCO2e",
            default_doc="never",
            minimum=0.0,
        ),
        Column(
            "initial_holdings_MtCO2e",
            "number",
            "Reserve holdings before the row's first year (read on a system's first row).",
            unit="MtCO2e",
            default=0.0,
            minimum=0.0,
        ),
        Column(
            "tnac_includes_linked",
            "yesno",
            "yes: the TNAC is the bank of every system linked with this one that year (directly "
            "or through others), so partners' allowances count in it; no: the system's own "
            "bank, which depends on when allowances cross the border (setting "
            "transfer_timing).",
            default=False,
            default_doc="no",
        ),
        announced_column("this row's rules"),
    ),
    key=("system", "first_year", "announced_year"),
    examples=(("A", 2030, None, 20, 0.24, "no", None, 0, None, 0, "no", None),),
)


@dataclass(frozen=True)
class ReserveYear:
    """What the reserve does in one year of one system [MtCO2e]."""

    system: str
    year: int
    tnac_previous_MtCO2e: float
    intake_MtCO2e: float
    release_MtCO2e: float
    invalidated_MtCO2e: float
    holdings_MtCO2e: float

    @property
    def supply_change_MtCO2e(self) -> float:
        """Return the change of the year's allowances issued: release - intake."""
        return self.release_MtCO2e - self.intake_MtCO2e


def intake(rule: ReserveRule, tnac: float) -> float:
    """Return the intake [MtCO2e] that a TNAC of the previous year triggers.

    Above the threshold, `intake_rate` x TNAC; with `intake_capped_at_excess` at most the
    excess over the threshold (the EU rule from 2024).
    """
    if tnac <= rule.intake_threshold_MtCO2e:
        return 0.0
    taken = rule.intake_rate * tnac
    if rule.intake_capped_at_excess:
        taken = min(taken, tnac - rule.intake_threshold_MtCO2e)
    return taken


def release(rule: ReserveRule, tnac: float, holdings: float) -> float:
    """Return the release [MtCO2e] below the release threshold: at most what the reserve holds."""
    if rule.release_threshold_MtCO2e is None or tnac >= rule.release_threshold_MtCO2e:
        return 0.0
    return min(rule.release_MtCO2e, max(holdings, 0.0))


def reserve_path(
    d: ModelData, system: str, tnac_previous: Mapping[int, float]
) -> list[ReserveYear]:
    """Return the reserve's operations in each year of a system, given its TNAC path.

    Args:
        d: The case's data (caps, the system's years and reserve rules).
        system: The system with a reserve.
        tnac_previous: Each year's TNAC of the previous year [MtCO2e] (the system's bank at
            the end of its previous year, or its initial bank before its first year).
    """
    rule_of = _rules_by_year(d, system)
    holdings = _first_rule(d, system).initial_holdings_MtCO2e
    path = []
    for y in d.years_of(system):
        tnac, rule = tnac_previous[y], rule_of.get(y)
        taken = min(intake(rule, tnac), d.cap_MtCO2e[system, y]) if rule else 0.0
        freed = release(rule, tnac, holdings) if rule else 0.0
        holdings += taken - freed
        limit = rule.holdings_limit_MtCO2e if rule else None
        invalidated = max(holdings - limit, 0.0) if limit is not None else 0.0
        holdings -= invalidated
        path.append(ReserveYear(system, y, tnac, taken, freed, invalidated, holdings))
    return path


def _rules_by_year(d: ModelData, system: str) -> dict[int, ReserveRule]:
    """Return the reserve rule in force in each year of a system that has one."""
    return {y: rule for rule in d.reserve_rules if rule.system == system for y in rule.years}


def _first_rule(d: ModelData, system: str) -> ReserveRule:
    """Return a system's first reserve rule: the one whose initial holdings count."""
    return min((r for r in d.reserve_rules if r.system == system), key=lambda r: r.years[0])


@dataclass(frozen=True)
class Switch:
    """A threshold at which a reserve's operation in one year jumps, and the TNAC there."""

    system: str
    year: int
    column: str
    """The threshold's column on sheet msr: intake_ or release_threshold_MtCO2e."""
    threshold_MtCO2e: float
    tnac_previous_MtCO2e: float
    jump_MtCO2e: float
    """The operation just past the threshold: an intake of rate x threshold (at most the
    year's cap), or a release of release_MtCO2e (at most what the reserve holds)."""


def switches(d: ModelData, path: Sequence[ReserveYear]) -> list[Switch]:
    """Return each year's thresholds at which the reserve's operation jumps [MtCO2e].

    An intake capped at the excess over its threshold starts from zero there (a kink, not a
    jump), and a release with nothing held releases nothing: neither is a switch.

    Args:
        d: The case's data (caps, reserve rules).
        path: One system's operations, year by year (as `reserve_path` returns them).
    """
    if not path:
        return []
    system = path[0].system
    rule_of = _rules_by_year(d, system)
    holdings = _first_rule(d, system).initial_holdings_MtCO2e
    found = []
    for row in path:
        rule = rule_of.get(row.year)
        if rule is not None:
            found += _year_switches(rule, row, d.cap_MtCO2e[system, row.year], holdings)
        holdings = row.holdings_MtCO2e
    return found


def _year_switches(
    rule: ReserveRule, row: ReserveYear, cap: float, holdings: float
) -> list[Switch]:
    """Return the switches of one year's rule, given the cap and the holdings before it [Mt]."""
    jumps = []
    if not rule.intake_capped_at_excess:
        jump = min(rule.intake_rate * rule.intake_threshold_MtCO2e, cap)
        jumps.append(("intake_threshold_MtCO2e", rule.intake_threshold_MtCO2e, jump))
    if rule.release_threshold_MtCO2e is not None:
        jump = min(rule.release_MtCO2e, max(holdings, 0.0))
        jumps.append(("release_threshold_MtCO2e", rule.release_threshold_MtCO2e, jump))
    return [
        Switch(row.system, row.year, column, threshold, row.tnac_previous_MtCO2e, jump)
        for column, threshold, jump in jumps
        if jump > 0
    ]


def reserve_paths(solution: Values, d: ModelData) -> list[ReserveYear]:
    """Return the reserve's operations in every year of every system with a reserve.

    Year y reads the TNAC at the end of y-1: the system's bank, or with
    `tnac_includes_linked` the banks of every system linked with it in y-1 (for its first
    year, the initial banks of those linked with it then).
    """
    banks = solution.values("bank_MtCO2e")
    paths = []
    for system in sorted({rule.system for rule in d.reserve_rules}):
        rules = [r for r in d.reserve_rules if r.system == system]
        joint = {y for r in rules if r.tnac_includes_linked for y in r.years}
        years = d.years_of(system)
        counted = {
            y: d.linked_with(system, previous) if y in joint else (system,)
            for previous, y in zip([years[0], *years], years, strict=False)
        }
        tnac = {years[0]: sum(d.initial_bank_MtCO2e[s] for s in counted[years[0]])}
        for previous, y in zip(years, years[1:], strict=False):
            tnac[y] = sum(banks.get((s, previous), 0.0) for s in counted[y])
        paths += reserve_path(d, system, tnac)
    return paths


def add_reserve_supply(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add (E15) each reserve system-year's release - intake [MtCO2e] as a mutable Param.

    Firms take the reserve's intake and release as given (each is too small to move the
    TNAC), so the supply change enters the allowance balance (E11) as a number; equilibrium.py
    sets it at the fixed point of the reserve's rules and the market's banking.
    """
    systems = {rule.system for rule in d.reserve_rules}
    m.reserve_years = pyo.Set(
        initialize=[(s, y) for s, y in d.system_years if s in systems],
        dimen=2,
        ordered=True,
        doc="system-years of systems with a reserve",
    )
    m.reserve_supply_MtCO2e = pyo.Param(
        m.reserve_years,
        initialize=0.0,
        mutable=True,
        within=pyo.Any,
        doc="(E15) allowances released - taken in by the reserve [MtCO2e]",
    )


def _supply_change(sol: Values, d: ModelData) -> dict[tuple[str, int], float]:
    """Return the reserve's release - intake per system-year at the solution [MtCO2e]."""
    return {(r.system, r.year): r.supply_change_MtCO2e for r in reserve_paths(sol, d)}


def _check_reserve(checker: Checker, tables: Tables) -> None:
    """A reserve's system banks, and its rows of rules do not overlap in time."""
    banking = {r["system"]: r["banking"] for r in tables["systems"]}
    periods = Periods()
    for record in tables["msr"]:
        system = record["system"]
        if banking.get(system) is False:
            checker.flag(
                checker.raw["msr"],
                record["_row"],
                "system",
                f"{system} has a reserve but does not bank, so its TNAC (the bank the reserve "
                "reacts to) is always zero",
                f"set banking to yes for {system} on sheet systems, or delete the row",
            )
        other = periods.clash((system, record.get("announced_year")), record)
        if other is not None:
            checker.flag(
                checker.raw["msr"],
                record["_row"],
                "first_year",
                f"{system} already has reserve rules for these years on row {other}",
                "give each row its own first_year-last_year, without overlap (rules that "
                "replace others once announced carry an announced_year)",
            )


def _reserve_rules(
    pieces: list[tuple[dict[str, Any], tuple[int, ...]]],
) -> tuple[ReserveRule, ...]:
    """Return reserve rules by period (each row with its years in force).

    Initial holdings count on a system's first period only.
    """
    rules: list[ReserveRule] = []
    for r, years in sorted(pieces, key=lambda piece: (piece[0]["system"], piece[1][0])):
        first = not any(rule.system == r["system"] for rule in rules)
        rules.append(
            ReserveRule(
                r["system"],
                years,
                r["intake_threshold_MtCO2e"],
                r["intake_rate"],
                bool(r["intake_capped_at_excess"]),
                r["release_threshold_MtCO2e"],
                r["release_MtCO2e"],
                r["holdings_limit_MtCO2e"],
                r["initial_holdings_MtCO2e"] if first else 0.0,
                bool(r.get("tnac_includes_linked")),
            )
        )
    return tuple(rules)


def _read(rows: Rows) -> dict[str, Any]:
    """Return the reserve's rules by period, as known in `rows.known_in`."""
    pieces = in_force(rows.tables.get("msr", []), rows.known_in, rows.years_of)
    return {"reserve_rules": _reserve_rules(pieces)}


INSTRUMENT = Instrument(
    "reserve",
    add_reserve_supply,
    terms=(Term("reserve_supply_MtCO2e", Side.AVAILABLE),),
    columns=(
        BalanceColumn(
            "reserve_supply_MtCO2e",
            "allowances the reserve released less those it took in (sheet msr; the msr "
            "sheet shows each operation)",
            _supply_change,
        ),
    ),
    sheets=(MSR,),
    checks=(_check_reserve,),
    read=_read,
)
"""Its operations per year are also the `msr` sheet (outputs/results.py)."""
