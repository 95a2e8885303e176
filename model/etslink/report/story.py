"""The report's words: which systems are linked, whether their prices converge, and why not.

Reads `Results` only; every sentence states numbers that are in the results workbook.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from etslink.data import Forest, ModelData
from etslink.results import Results

CONVERGED_REL = 1e-3
"""Prices within this relative distance count as converged."""


def linked_groups(d: ModelData) -> list[tuple[str, ...]]:
    """Return the systems connected by links (directly or along a chain), two or more each."""
    forest = Forest(d.systems)
    for link in d.links:
        forest.join(link.from_system, link.to_system)
    groups: dict[str, list[str]] = {}
    for s in d.systems:
        groups.setdefault(forest.root(s), []).append(s)
    return [tuple(g) for g in groups.values() if len(g) > 1]


def shared_offsets(d: ModelData) -> dict[str, tuple[str, ...]]:
    """Return each credit type accepted by two or more systems (an indirect link)."""
    users: dict[str, list[str]] = {}
    for rule in d.offset_rules:
        users.setdefault(rule.offset_type, []).append(rule.system)
    return {o: tuple(dict.fromkeys(s)) for o, s in users.items() if len(set(s)) > 1}


def headline_year(d: ModelData) -> int:
    """Return the year the headline speaks of: the last model year."""
    return max(y for _, y in d.system_years)


@dataclass(frozen=True)
class GroupStory:
    """Whether a linked group's prices converge in the headline year, and why not."""

    systems: tuple[str, ...]
    year: int
    linked: dict[str, float]
    autarky: dict[str, float]
    converged: bool
    reasons: tuple[str, ...]

    @property
    def sentence(self) -> str:
        """Return one sentence on the group's prices [CUR per tCO2e]."""
        names = " and ".join([", ".join(self.systems[:-1]), self.systems[-1]])
        before = ", ".join(f"{s} {self.autarky[s]:,.2f}" for s in self.systems)
        if self.converged:
            price = next(iter(self.linked.values()))
            return (
                f"{names}: prices converge at {price:,.2f} in {self.year} "
                f"(without the link: {before})."
            )
        after = ", ".join(f"{s} {self.linked[s]:,.2f}" for s in self.systems)
        return (
            f"{names}: prices move from {before} to {after} in {self.year} but do not "
            "fully converge."
        )


def _price_table(results: Results, case: str, year: int) -> dict[str, float]:
    prices = results.cases[case].prices
    rows = prices[prices["year"] == year]
    return dict(zip(rows["system"], rows[results.columns.price], strict=True))


def _gap_reasons(results: Results, group: tuple[str, ...], year: int) -> tuple[str, ...]:
    """Return the binding restrictions and exchange rates that separate a group's prices."""
    cur = results.data.currency
    shadow = results.cases["linked"].shadow_prices
    rows = shadow[
        (shadow["year"] == year)
        & shadow["system"].isin(group)
        & shadow["restriction"].isin(["transfer_limit", "reverse_transfer_limit"])
    ]
    reasons = [
        f"the transfer limit from {r['system']} to {r['counterpart']} binds at "
        f"{r['level_MtCO2e']:,.2f} MtCO2e; one more allowance through it is worth "
        f"{r[results.columns.shadow]:,.2f} {cur} per tCO2e"
        for r in rows.to_dict("records")
    ]
    reasons += [
        f"{link.name} has an exchange rate of {link.exchange_rate:g}, so an unrestricted link "
        f"sets p({link.from_system}) = {link.exchange_rate:g} x p({link.to_system})"
        for link in results.data.links
        if link.from_system in group and link.exchange_rate != 1 and year in link.years
    ]
    inactive = [
        link.name
        for link in results.data.links
        if link.from_system in group and year not in link.years
    ]
    if inactive:
        reasons.append(f"not active in {year}: {', '.join(inactive)}")
    one_way = [
        link.name for link in results.data.links if link.from_system in group and not link.two_way
    ]
    if one_way:
        reasons.append(f"one-way links ({', '.join(one_way)}) carry allowances one way only")
    return tuple(reasons)


def group_stories(results: Results) -> list[GroupStory]:
    """Return one story per linked group, in the headline year."""
    year = headline_year(results.data)
    linked, autarky = _price_table(results, "linked", year), _price_table(results, "autarky", year)
    stories = []
    for group in linked_groups(results.data):
        present = tuple(s for s in group if s in linked)
        if len(present) < 2:
            continue
        values = [linked[s] for s in present]
        spread = max(values) - min(values)
        converged = spread <= CONVERGED_REL * max(1.0, max(abs(v) for v in values))
        reasons = () if converged else _gap_reasons(results, present, year)
        stories.append(
            GroupStory(
                present,
                year,
                {s: linked[s] for s in present},
                {s: autarky[s] for s in present},
                converged,
                reasons,
            )
        )
    return stories


def price_change_table(results: Results) -> pd.DataFrame:
    """Return each system's price in the headline year, autarky vs linked [CUR per tCO2e]."""
    year = headline_year(results.data)
    linked, autarky = _price_table(results, "linked", year), _price_table(results, "autarky", year)
    systems = [s for s in results.data.systems if s in linked]
    return pd.DataFrame(
        {
            "system": systems,
            "autarky": [autarky[s] for s in systems],
            "linked": [linked[s] for s in systems],
            "change": [linked[s] - autarky[s] for s in systems],
        }
    )
