"""Carbon border adjustments (such as the EU CBAM): charges from the solved prices.

A border adjustment does not change the allowance markets: firms' compliance and the prices
are those of the model; the charge is money the origin's exporters pay the importer for
the emissions embedded in covered goods (docs/formulation.md, "Border adjustments").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from etslink.core.data import BorderAdjustment, ModelData


@dataclass(frozen=True)
class BorderCharge:
    """What one border adjustment charges in one case.

    Attributes:
        row: The adjustment (importer, origin, year, embedded emissions, rules).
        charge_per_tCO2e: The charge per tonne embedded [CUR per tCO2e, money of the year].
        exempt: The importer and the origin are directly linked that year and the row
            exempts linked partners (the charge is then 0).
    """

    row: BorderAdjustment
    charge_per_tCO2e: float
    exempt: bool

    @property
    def paid_Mcur(self) -> float:
        """Return what the origin's exporters pay [M CUR, money of the year]."""
        return self.row.embedded_MtCO2e * self.charge_per_tCO2e


def directly_linked(d: ModelData, a: str, b: str, year: int) -> bool:
    """Return whether a link row between systems a and b (either way) is in force in `year`."""
    return any(
        year in link.years and {link.from_system, link.to_system} == {a, b} for link in d.links
    )


def charge(
    row: BorderAdjustment, d: ModelData, prices: Mapping[tuple[str, int], float]
) -> BorderCharge:
    """Return the charge of one border adjustment at the case's prices.

    charge = phase_in x max(0, p_importer - p_origin), with p_origin the origin's allowance
    price where it is deducted and the origin is a system taking part that year, else 0;
    no charge where the row exempts linked partners and they are directly linked that year.

    Args:
        row: The border adjustment.
        d: The case's data (its links: autarky has none, so nothing is exempt there).
        prices: Allowance price per (system, year) [CUR per tCO2e, money of the year].
    """
    exempt = row.exempt_when_linked and directly_linked(d, row.importer, row.origin, row.year)
    if exempt:
        return BorderCharge(row, 0.0, True)
    origin_price = prices.get((row.origin, row.year), 0.0) if row.deduct_origin_price else 0.0
    gap = prices[row.importer, row.year] - origin_price
    return BorderCharge(row, row.phase_in * max(gap, 0.0), False)


def charges(d: ModelData, prices: Mapping[tuple[str, int], float]) -> list[BorderCharge]:
    """Return the charge of every border adjustment of the case, in sheet order."""
    return [charge(row, d, prices) for row in d.border_adjustments]
