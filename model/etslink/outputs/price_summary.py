"""The prices that `etslink run` prints: per system, the three years that tell its story.

The first linked year (when a link first joins the system to others), the last year, and
the year in which linking moves the price most. The command line prints them; this module
only picks them from the result tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from etslink.core.data import ModelData
from etslink.outputs.results import Results

PRICE_DECIMALS = 2
"""Prices are shown to the cent; the largest change is the largest as shown."""


@dataclass(frozen=True)
class PricePair:
    """A system's price in one year in both cases [CUR per tCO2e, money of `year`]."""

    year: int
    second: float
    """In the second case (autarky, or the counterfactual)."""
    linked: float

    @property
    def change(self) -> float:
        """Return the linked price minus the second case's [CUR per tCO2e]."""
        return self.linked - self.second


@dataclass(frozen=True)
class SystemPrices:
    """One system's prices in the summary of a run."""

    system: str
    first_linked: PricePair | None
    """In the first year a link joins the system to others (None: no link ever does)."""
    last: PricePair
    """In the system's last year."""
    largest_change: PricePair | None
    """In the year in which the price moves most between the cases (None: it never moves)."""


def price_summary(results: Results) -> list[SystemPrices]:
    """Return each system's prices in its first linked year, last year and most moved year."""
    d = results.data
    linked, second = _by_system(results, "linked"), _by_system(results, "autarky")
    return [
        _system_prices(d, s, linked[s], second[s].reindex(linked[s].index))
        for s in d.systems
        if s in linked
    ]


def _by_system(results: Results, case: str) -> dict[str, pd.Series]:
    """Return each system's prices in one case [CUR per tCO2e], indexed by year."""
    prices = results.cases[case].prices
    column = results.columns.price
    return {
        str(s): rows.set_index("year")[column].sort_index()
        for s, rows in prices.groupby("system", sort=False)
    }


def _system_prices(d: ModelData, system: str, linked: pd.Series, second: pd.Series) -> SystemPrices:
    """Return one system's summary from its prices by year in both cases."""

    def pair(year: int) -> PricePair:
        return PricePair(int(year), float(second[year]), float(linked[year]))

    first = first_linked_year(d, system)
    moved = (linked - second).abs().round(PRICE_DECIMALS)
    return SystemPrices(
        system=system,
        first_linked=pair(first) if first is not None else None,
        last=pair(linked.index[-1]),
        largest_change=pair(moved.idxmax()) if moved.max() > 0 else None,
    )


def first_linked_year(d: ModelData, system: str) -> int | None:
    """Return the first year a link of the linked case joins `system` to others (None: never).

    Against a counterfactual, only a link it lacks counts: the first year in which the
    system's linked group differs between the two cases.
    """
    second = d.counterfactual()
    return next(
        (
            y
            for y in d.years_of(system)
            if d.linked_with(system, y) != second.linked_with(system, y)
        ),
        None,
    )
