"""Build inputs/example.xlsx, a small illustrative workbook (round numbers, not sourced).

Run: python inputs/build_example.py
It shows every feature once: two linked groups (EU-CH from 2026, CA-QC), stepwise and linear
abatement, CDM credits under a share limit, regional offsets, banking and price controls.
"""

from __future__ import annotations

from pathlib import Path

from etslink.workbook import write_workbook

YEARS = range(2025, 2031)
# system: (name, baseline 2025 [MtCO2e], cap 2025 [MtCO2e], cap cut per year [MtCO2e],
#          MAC slope [EUR per tCO2e per MtCO2e])
SYSTEMS = {
    "EU": ("EU ETS (incl. NO, IS, LI)", 1500.0, 1400.0, 45.0, 0.2),
    "CH": ("Swiss ETS", 5.0, 4.8, 0.15, 12.0),
    "CA": ("California", 320.0, 300.0, 12.0, 0.5),
    "QC": ("Quebec", 56.0, 53.0, 1.5, 2.5),
}


def tables() -> dict[str, list[dict[str, object]]]:
    """Return the example's input tables."""
    return {
        "settings": [
            {"key": "scenario_name", "value": "Illustrative linked markets (round numbers)"},
            {"key": "currency", "value": "EUR"},
            {"key": "base_year", "value": 2025},
            {"key": "discount_rate", "value": 0.03},
        ],
        "systems": [{"system": s, "name": v[0], "banking": "yes"} for s, v in SYSTEMS.items()],
        "emissions": [
            {
                "system": s,
                "year": y,
                "baseline_MtCO2e": base,
                "cap_MtCO2e": round(cap - cut * (y - 2025), 3),
            }
            for s, (_, base, cap, cut, _) in SYSTEMS.items()
            for y in YEARS
        ],
        "mac_linear": [
            {
                "system": s,
                "year": y,
                "intercept_per_tCO2e": 5.0,
                "slope_per_tCO2e_per_MtCO2e": slope,
            }
            for s, (_, _, _, _, slope) in SYSTEMS.items()
            for y in YEARS
        ],
        "mac_steps": [
            {
                "system": "EU",
                "year": y,
                "option": "coal-to-gas switch",
                "abatement_MtCO2e": 60.0,
                "cost_per_tCO2e": 35.0,
            }
            for y in YEARS
        ],
        "links": [
            {"from_system": "CH", "to_system": "EU", "direction": "two-way", "first_year": 2026},
            {"from_system": "CA", "to_system": "QC", "direction": "two-way"},
        ],
        "offsets": [
            *(
                {"offset_type": "CDM", "year": y, "supply_MtCO2e": 30.0, "price_per_tCO2e": 3.0}
                for y in YEARS
            ),
            *(
                {"offset_type": "CDM", "year": y, "supply_MtCO2e": 30.0, "price_per_tCO2e": 9.0}
                for y in YEARS
            ),
            *(
                {"offset_type": "WCI", "year": y, "supply_MtCO2e": 15.0, "price_per_tCO2e": 14.0}
                for y in YEARS
            ),
        ],
        "offset_rules": [
            {
                "system": "EU",
                "offset_type": "CDM",
                "max_share_of_emissions": 0.02,
                "last_year": 2027,
            },
            {"system": "CA", "offset_type": "WCI", "max_share_of_emissions": 0.04},
            {"system": "QC", "offset_type": "WCI", "max_share_of_emissions": 0.08},
        ],
        "price_controls": [
            {
                "system": s,
                "year": y,
                "floor_price_per_tCO2e": round(16.0 * 1.05 ** (y - 2025), 2),
                "ceiling_price_per_tCO2e": 65.0,
                "ceiling_reserve_MtCO2e": 10.0,
            }
            for s in ("CA", "QC")
            for y in YEARS
        ],
    }


if __name__ == "__main__":
    write_workbook(Path(__file__).with_name("example.xlsx"), tables())
