"""The report's words: which systems are linked, whether their prices converge, and why not.

Reads `Results` only; every sentence states numbers that are in the results workbook. At 50
systems the words stay short: one line per linked group, names and reasons capped, so that
the headline reads the same at 6 systems and at 60.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from etslink.core.data import Forest, ModelData
from etslink.formulation import RESTRICTIONS
from etslink.instruments.links import TRANSFER_FEE
from etslink.outputs.results import Results

CONVERGED_REL = 1e-3
"""Prices within this relative distance count as converged."""
NAMES_SHOWN = 6
"""A list of systems or links in a sentence names this many, then says "and K more"."""
REASONS_SHOWN = 3
"""Binding transfer limits (largest shadow price first) named per group in the headline."""
HEADLINE_GROUPS = 5
"""Linked groups with a line of their own in the headline; the rest share one line."""


def name_list(names: Sequence[str], shown: int = NAMES_SHOWN) -> str:
    """Return names as prose: "A", "A and B", "A, B and C", or "A, ..., F and 44 more"."""
    if len(names) > shown:
        return f"{', '.join(names[:shown])} and {len(names) - shown} more"
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _span(values: Sequence[float]) -> str:
    """Return the range of prices, e.g. "6.48 to 67.01" [CUR per tCO2e]."""
    return f"{min(values):,.2f} to {max(values):,.2f}"


def price_levels(values: Sequence[float]) -> int:
    """Return how many distinct prices the values form, counting converged ones as one."""
    ordered = sorted(values)
    return 1 + sum(
        b - a > CONVERGED_REL * max(1.0, abs(b)) for a, b in zip(ordered, ordered[1:], strict=False)
    )


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
    """Return the year the headline speaks of: the last in which half the systems take part.

    The last model year when every system runs to it; in a workbook where a few systems run
    longer (the example's EU and Switzerland to 2040, the others to 2030), a headline in their
    last year would leave the others out.
    """
    taking_part = Counter(y for _, y in d.system_years)
    return max(y for y, n in taking_part.items() if 2 * n >= len(d.systems))


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
        """Return one sentence on the group's prices [CUR per tCO2e].

        A group of more than `NAMES_SHOWN` systems is named in part and its prices given as
        ranges, so that the sentence stays one line long.
        """
        if len(self.systems) > NAMES_SHOWN:
            return self._short_sentence()
        names = name_list(self.systems)
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

    def _short_sentence(self) -> str:
        names = f"{name_list(self.systems)} ({len(self.systems)} systems)"
        before = _span(list(self.autarky.values()))
        if self.converged:
            price = next(iter(self.linked.values()))
            return (
                f"{names}: prices converge at {price:,.2f} in {self.year} "
                f"(without the links: {before})."
            )
        after = list(self.linked.values())
        return (
            f"{names}: prices move from {before} to {_span(after)} in {self.year} but do not "
            f"fully converge; they settle at {price_levels(after)} different prices."
        )


def _price_table(results: Results, case: str, year: int) -> dict[str, float]:
    prices = results.cases[case].prices
    rows = prices[prices["year"] == year]
    return dict(zip(rows["system"], rows[results.columns.price], strict=True))


LIMIT_WORDS = {r.name: r.gap_words for r in RESTRICTIONS if r.gap_words}
"""How the headline names each binding limit that keeps linked prices apart."""


def _limit_reasons(results: Results, group: tuple[str, ...], year: int) -> list[str]:
    """Return a group's binding link limits and used border fees, largest first, capped."""
    cur, col = results.data.currency, results.columns.shadow
    shadow = results.cases["linked"].shadow_prices
    rows = shadow[
        (shadow["year"] == year)
        & shadow["system"].isin(group)
        & shadow["restriction"].isin([*LIMIT_WORDS, TRANSFER_FEE])
    ].sort_values(col, ascending=False, kind="stable")
    reasons = [_limit_reason(r, col, cur) for r in rows.head(REASONS_SHOWN).to_dict("records")]
    if len(rows) > REASONS_SHOWN:
        reasons.append(
            f"and {len(rows) - REASONS_SHOWN} more binding limits or fees with smaller "
            "shadow prices (all in the table of section 4)"
        )
    return reasons


def _limit_reason(row: dict[str, Any], col: str, cur: str) -> str:
    """Return the headline's words for one binding limit or used fee (a shadow_prices row)."""
    if row["restriction"] == TRANSFER_FEE:
        return (
            f"a border fee of {row[col]:,.2f} {cur} per tCO2e on allowances from "
            f"{row['system']} to {row['counterpart']} ({row['level_MtCO2e']:,.2f} MtCO2e moved) "
            "keeps the importer's price above the exporter's by the fee"
        )
    return (
        f"{LIMIT_WORDS[row['restriction']]} from {row['system']} to {row['counterpart']} binds "
        f"at {row['level_MtCO2e']:,.2f} MtCO2e; one more allowance through it is worth "
        f"{row[col]:,.2f} {cur} per tCO2e"
    )


def _link_reasons(results: Results, group: tuple[str, ...], year: int) -> list[str]:
    """Return the exchange rates, inactive links and one-way links of a group."""
    links = [link for link in results.data.links if link.from_system in group]
    rated = [link for link in links if link.exchange_rate != 1 and year in link.years]
    reasons = [
        f"{link.name} has an exchange rate of {link.exchange_rate:g}, so an unrestricted link "
        f"sets p({link.from_system}) = {link.exchange_rate:g} x p({link.to_system})"
        for link in rated[:REASONS_SHOWN]
    ]
    if len(rated) > REASONS_SHOWN:
        reasons.append(f"and {len(rated) - REASONS_SHOWN} more links with exchange rates")
    inactive = [link.name for link in links if year not in link.years]
    if inactive:
        reasons.append(f"not active in {year}: {name_list(inactive)}")
    one_way = [link.name for link in links if not link.two_way]
    if one_way:
        reasons.append(f"one-way links ({name_list(one_way)}) carry allowances one way only")
    return reasons


def _gap_reasons(results: Results, group: tuple[str, ...], year: int) -> tuple[str, ...]:
    """Return the binding restrictions and exchange rates that separate a group's prices."""
    return (*_limit_reasons(results, group, year), *_link_reasons(results, group, year))


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


@dataclass(frozen=True)
class Headline:
    """The headline's lines: the first groups, then one line on all the others."""

    stories: list[GroupStory]
    more: str


def headline(results: Results, shown: int = HEADLINE_GROUPS) -> Headline:
    """Return the groups shown in the headline, those that do not converge first.

    The groups that do not converge come first because their lines carry the reasons; the
    line on the rest says how many of them converge.
    """
    stories = sorted(group_stories(results), key=lambda story: story.converged)
    rest = stories[shown:]
    if not rest:
        return Headline(stories, "")
    apart = [story for story in rest if not story.converged]
    systems = sum(len(story.systems) for story in rest)
    verdict = (
        "all converge" if not apart else f"{len(rest) - len(apart)} converge, {len(apart)} do not"
    )
    return Headline(
        stories[:shown],
        f"and {len(rest)} more linked groups ({systems} systems): {verdict}; every system's "
        "price is in the table below.",
    )


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


def rows_in_groups(d: ModelData) -> list[tuple[str, ...]]:
    """Return the linked groups, then the systems linked to none as one last group."""
    groups = linked_groups(d)
    grouped = {s for group in groups for s in group}
    alone = tuple(s for s in d.systems if s not in grouped)
    return [*groups, alone] if alone else groups


def price_movers(results: Results, shown: int) -> list[str]:
    """Return up to `shown` systems whose headline-year price moves most, in workbook order.

    When there are more systems than `shown`, those whose price does not move (within
    `CONVERGED_REL`) are left out, unless no price moves at all.
    """
    table = price_change_table(results)
    if len(table) > shown:
        moves = table["change"].abs() > CONVERGED_REL * table["autarky"].abs().clip(lower=1.0)
        table = table[moves] if moves.any() else table
    order = table["change"].abs().sort_values(ascending=False, kind="stable").index
    chosen = set(table.loc[order[:shown], "system"])
    return [s for s in table["system"] if s in chosen]


def abatement_table(results: Results) -> pd.DataFrame:
    """Return per system its headline-year price [CUR per tCO2e] and abatement [MtCO2e].

    Columns: those of `price_change_table`, then `abated_autarky`, `abated_linked` and
    `abated_change`.
    """
    year = headline_year(results.data)
    table = price_change_table(results)
    for case in ("autarky", "linked"):
        balances = results.cases[case].balances
        rows = balances[balances["year"] == year]
        abated = dict(zip(rows["system"], rows["abatement_MtCO2e"], strict=True))
        table[f"abated_{case}"] = table["system"].map(abated)
    table["abated_change"] = table["abated_linked"] - table["abated_autarky"]
    return table


def _per_restriction(rows: pd.DataFrame, col: str) -> pd.DataFrame:
    """Return one row per restriction, system and counterpart: its years and ranges."""
    return (
        rows.groupby(["restriction", "system", "counterpart", "meaning"], sort=False, dropna=False)
        .agg(
            first=("year", "min"),
            last=("year", "max"),
            years=("year", "size"),
            level_min=("level_MtCO2e", "min"),
            level_max=("level_MtCO2e", "max"),
            shadow_min=(col, "min"),
            shadow_max=(col, "max"),
        )
        .reset_index()
    )


def _merge_alike(summary: pd.DataFrame) -> pd.DataFrame:
    """Return one row for the systems whose restriction binds alike.

    Alike: the same years, and levels and shadow prices equal as shown (to two decimals).
    The systems of a converged group share a price, so their banks often bind together.
    """
    ranges = ["level_min", "level_max", "shadow_min", "shadow_max"]
    alike = ["restriction", "counterpart", "meaning", "first", "last", "years"]
    summary = summary.assign(**{f"{c}_shown": summary[c].round(2) for c in ranges})
    merged = summary.groupby(
        [*alike, *(f"{c}_shown" for c in ranges)], sort=False, dropna=False
    ).agg(
        system=("system", lambda systems: name_list(list(systems))),
        **{c: (c, "min" if c.endswith("min") else "max") for c in ranges},
    )
    return merged.reset_index().drop(columns=[f"{c}_shown" for c in ranges])


def restriction_summary(results: Results) -> pd.DataFrame:
    """Return the binding restrictions of the linked case, one row per restriction and pair.

    A row gathers the years in which one restriction binds for one system (or several that
    bind alike) and one counterpart: `first` and `last` year, `years` (how many), the range
    of its level [MtCO2e] and of its shadow price [CUR per tCO2e], and its meaning.
    Restrictions between two markets (a link, a credit) come first, as they are what keeps
    prices apart; then those of one system; each by largest shadow price.
    """
    col = results.columns.shadow
    shadow = results.cases["linked"].shadow_prices
    summary = _merge_alike(_per_restriction(shadow[shadow["restriction"] != "offset_market"], col))
    alone = summary["counterpart"].isna() | (summary["counterpart"] == "")
    return (
        summary.assign(alone=alone)
        .sort_values(["alone", "shadow_max"], ascending=[True, False], kind="stable")
        .drop(columns="alone")
    )
