"""Names of the output columns that carry the workbook's currency, defined once."""

from __future__ import annotations

from dataclasses import dataclass

EMISSIONS_CHANGE = "emissions_change_MtCO2e"
"""Emissions over all years against the status quo [MtCO2e] (explore): a link moves them only
where a reserve, a floor, a ceiling, a supply step or a credit purchase changes the supply."""


@dataclass(frozen=True)
class Columns:
    """Output column names for one currency, e.g. `price_EUR_per_tCO2e`."""

    currency: str

    @property
    def price(self) -> str:
        """Return the allowance price column name."""
        return self.per_tonne("price")

    @property
    def shadow(self) -> str:
        """Return the shadow price column name."""
        return self.per_tonne("shadow_price")

    def per_tonne(self, item: str) -> str:
        """Return e.g. "price_EUR_per_tCO2e" or "linked_price_sd_EUR_per_tCO2e"."""
        return f"{item}_{self.currency}_per_tCO2e"

    def money(self, item: str, pv: bool = False) -> str:
        """Return e.g. "abatement_cost_MEUR" or "compliance_cost_pv_MEUR"."""
        return f"{item}{'_pv' if pv else ''}_M{self.currency}"

    def case_money(self, case: str, item: str) -> str:
        """Return the discounted item of one case, e.g. "linked_paid_abroad_pv_MEUR"."""
        return self.money(f"{case}_{item}", pv=True)
