"""Carbon border adjustments (such as the EU CBAM): charges from the solved prices.

A border adjustment does not change the allowance markets: firms' compliance and the prices
are those of the model; the charge is money the origin's exporters pay the importer for
the emissions embedded in covered goods (docs/formulation.md, "Border adjustments").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from etslink.core.checking import Checker, Tables, model_years
from etslink.core.data import BorderAdjustment, ModelData, Rows
from etslink.core.sheet import Column, Sheet, year_column
from etslink.instruments.declarations import Instrument

BORDER_ADJUSTMENTS = Sheet(
    "border_adjustments",
    "A carbon border adjustment such as the EU CBAM: one row per importing system, origin "
    "and year. The charge per tonne embedded is phase_in x (the importer's price, less the "
    "origin's price where deducted and the origin is a system; never below 0); it is paid by "
    "the origin's exporters to the importer and does not change the allowance markets.",
    (
        Column(
            "importer",
            "text",
            "The system that charges at its border.",
            required=True,
            ref="system",
        ),
        Column(
            "origin",
            "text",
            "Where the goods come from: a system id, or a region that is not a system (its "
            "carbon price counts as 0).",
            required=True,
        ),
        year_column(),
        Column(
            "embedded_MtCO2e",
            "number",
            "Emissions embedded in the importer's covered imports from the origin that year.",
            unit="MtCO2e",
            required=True,
            minimum=0.0,
        ),
        Column(
            "phase_in",
            "number",
            "Share of the embedded emissions charged, as a fraction (EU CBAM 2026: 0.025, "
            "2030: 0.485, 2034: 1).",
            unit="fraction",
            default=1.0,
            minimum=0.0,
            maximum=1.0,
        ),
        Column(
            "deduct_origin_price",
            "yesno",
            "yes: the carbon price paid at origin (an origin system's allowance price) is "
            "deducted; no: the importer's full price is charged.",
            default=True,
            default_doc="yes",
        ),
        Column(
            "exempt_when_linked",
            "yesno",
            "yes: no charge in a year in which the importer and the origin are directly "
            "linked (a links row between them in force).",
            default=True,
            default_doc="yes",
        ),
    ),
    key=("importer", "origin", "year"),
    examples=(("A", "B", 2030, 5, 0.5, "yes", "yes"),),
)


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


def _check_border_rows(checker: Checker, tables: Tables) -> None:
    """An importer charges goods from elsewhere, in a year it has a price."""
    years = model_years(tables)
    for record in tables["border_adjustments"]:
        importer, year = record["importer"], record["year"]
        if importer is not None and str(record["origin"]).strip() == importer:
            checker.flag(
                checker.raw["border_adjustments"],
                record["_row"],
                "origin",
                f"{importer} would charge its own goods at its own border",
                "name the system or region the goods come from",
            )
        if importer in years and year is not None and year not in years[importer]:
            checker.flag(
                checker.raw["border_adjustments"],
                record["_row"],
                "year",
                f"{importer} has no row for {year} on sheet emissions, so it has no price "
                "to charge at its border then",
                f"use one of {importer}'s years ({min(years[importer])}-"
                f"{max(years[importer])}) or add {year} on sheet emissions",
            )


def _read(rows: Rows) -> dict[str, Any]:
    """Return the border adjustments: importer, origin, year, embedded emissions, rules."""
    return {
        "border_adjustments": tuple(
            BorderAdjustment(
                r["importer"],
                str(r["origin"]).strip(),
                r["year"],
                r["embedded_MtCO2e"],
                r["phase_in"],
                bool(r["deduct_origin_price"]),
                bool(r["exempt_when_linked"]),
            )
            for r in rows.tables.get("border_adjustments", [])
        )
    }


INSTRUMENT = Instrument(
    "border_adjustments",
    sheets=(BORDER_ADJUSTMENTS,),
    checks=(_check_border_rows,),
    read=_read,
)
