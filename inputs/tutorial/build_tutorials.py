"""Build the tutorial workbooks of docs/tutorial.md: one small workbook per idea.

Run: python inputs/tutorial/build_tutorials.py
Two systems A and B with linear MACs through zero (MAC = slope * abatement), a baseline of
100 MtCO2e, and a cap that asks each to abate a round amount, so that every price can be
worked out by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from etslink.inputs.workbook import write_workbook

HERE = Path(__file__).parent
BASELINE = 100.0
Table = list[dict[str, Any]]


def two_systems(
    slopes: dict[str, float],
    need: dict[str, float],
    years: tuple[int, ...] = (2030,),
    **sheets: Table,
) -> dict[str, Table]:
    """Return tables of systems with MAC = slope * a that must abate `need` each year."""
    tables: dict[str, Table] = {
        "settings": [{"key": "currency", "value": "EUR"}],
        "systems": [{"system": s, "name": f"System {s}"} for s in slopes],
        "emissions": [
            {"system": s, "year": y, "baseline_MtCO2e": BASELINE, "cap_MtCO2e": BASELINE - need[s]}
            for s in slopes
            for y in years
        ],
        "mac_linear": [
            {"system": s, "year": y, "slope_per_tCO2e_per_MtCO2e": c}
            for s, c in slopes.items()
            for y in years
        ],
    }
    tables.update(sheets)
    return tables


SLOPES, NEED = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}

TUTORIALS: dict[str, dict[str, Table]] = {
    "1_two_way": two_systems(SLOPES, NEED, links=[{"from_system": "A", "to_system": "B"}]),
    "2_one_way": two_systems(
        SLOPES, NEED, links=[{"from_system": "A", "to_system": "B", "direction": "one-way"}]
    ),
    "3_transfer_limit": two_systems(
        SLOPES, NEED, links=[{"from_system": "A", "to_system": "B", "max_transfer_MtCO2e": 2}]
    ),
    "4_exchange_rate": two_systems(
        SLOPES, NEED, links=[{"from_system": "A", "to_system": "B", "exchange_rate": 2}]
    ),
    "5_indirect_offsets": two_systems(
        SLOPES,
        NEED,
        offsets=[{"offset_type": "CDM", "year": 2030, "supply_MtCO2e": 15, "price_per_tCO2e": 1}],
        offset_rules=[{"system": "A", "offset_type": "CDM"}, {"system": "B", "offset_type": "CDM"}],
    ),
    "6_banking": {
        **two_systems({"A": 2.0}, {"A": 0.0}, years=(2030, 2031, 2032)),
        "settings": [{"key": "currency", "value": "EUR"}, {"key": "discount_rate", "value": 0.05}],
        "emissions": [
            {"system": "A", "year": y, "baseline_MtCO2e": BASELINE, "cap_MtCO2e": BASELINE - need}
            for y, need in ((2030, 0.0), (2031, 10.0), (2032, 20.0))
        ],
    },
    "7_price_ceiling": two_systems(
        {"B": 8.0},
        {"B": 10.0},
        price_controls=[{"system": "B", "year": 2030, "ceiling_price_per_tCO2e": 50}],
    ),
    "8_reserve": {
        **two_systems({"A": 2.0}, {"A": 30.0}, years=(2030, 2031, 2032)),
        "systems": [{"system": "A", "name": "System A", "initial_bank_MtCO2e": 69}],
        "msr": [
            {
                "system": "A",
                "first_year": 2030,
                "intake_threshold_MtCO2e": 25,
                "intake_rate": 0.24,
            }
        ],
    },
    "9_supply_steps": two_systems(
        SLOPES,
        NEED,
        supply_steps=[
            {"system": "A", "year": 2030, "trigger_price_per_tCO2e": 30, "quantity_MtCO2e": -8},
            {"system": "B", "year": 2030, "trigger_price_per_tCO2e": 50, "quantity_MtCO2e": 2},
        ],
    ),
}
TUTORIALS["10_foresight"] = {
    **TUTORIALS["6_banking"],
    "settings": [
        {"key": "currency", "value": "EUR"},
        {"key": "discount_rate", "value": 0.05},
        {"key": "foresight_years", "value": 1},
    ],
}

TUTORIALS["11_border_fee"] = two_systems(
    SLOPES, NEED, links=[{"from_system": "A", "to_system": "B", "transfer_fee_per_tCO2e": 5}]
)
TUTORIALS["12_share_of_cap"] = two_systems(
    SLOPES, NEED, links=[{"from_system": "A", "to_system": "B", "max_transfer_share_of_cap": 0.05}]
)
TUTORIALS["13_explore"] = two_systems({**SLOPES, "C": 4.0}, {**NEED, "C": 10.0})
TUTORIALS["14_floor_across_a_link"] = two_systems(
    SLOPES,
    NEED,
    links=[{"from_system": "A", "to_system": "B"}],
    price_controls=[{"system": "B", "year": 2030, "floor_price_per_tCO2e": 40}],
)

TUTORIALS["15_calibrate"] = {
    **TUTORIALS["6_banking"],
    "observed": [
        {"system": "A", "year": y, "quantity": "price", "value": v, "source": "made up"}
        for y, v in ((2030, 25.0), (2031, 30.0), (2032, 35.0))
    ],
    "calibration": [{"parameter": "mac_scale", "target": "A", "lower": 0.1, "upper": 10}],
}

TUTORIALS["16_announced_cut"] = {
    **TUTORIALS["6_banking"],
    "emissions": [
        *TUTORIALS["6_banking"]["emissions"],
        {
            "system": "A",
            "year": 2032,
            "baseline_MtCO2e": BASELINE,
            "cap_MtCO2e": BASELINE - 30.0,
            "announced_year": 2031,
        },
    ],
}

TUTORIALS["17_border_adjustment"] = two_systems(
    SLOPES,
    NEED,
    links=[{"from_system": "A", "to_system": "B"}],
    border_adjustments=[
        {"importer": "B", "origin": "A", "year": 2030, "embedded_MtCO2e": 5, "phase_in": 0.5},
        {"importer": "B", "origin": "ROW", "year": 2030, "embedded_MtCO2e": 2},
    ],
)

TUTORIALS["18_intensity"] = {
    **two_systems({"A": 2.0, "B": 0.5}, NEED, links=[{"from_system": "A", "to_system": "B"}]),
    "systems": [
        {"system": "A", "name": "System A (intensity-based)", "cap_type": "intensity"},
        {"system": "B", "name": "System B"},
    ],
    "emissions": [
        {"system": "A", "year": 2030},
        {"system": "B", "year": 2030, "baseline_MtCO2e": BASELINE, "cap_MtCO2e": BASELINE - 10},
    ],
    "intensity": [
        {
            "system": "A",
            "year": 2030,
            "output_baseline_Munits": 100,
            "emission_intensity_tCO2e_per_unit": 1.0,
            "benchmark_tCO2e_per_unit": 0.8,
            "output_cost_slope_per_unit_per_Munits": 2,
        }
    ],
}


def main() -> None:
    """Write every tutorial workbook next to this script."""
    for name, tables in TUTORIALS.items():
        write_workbook(HERE / f"{name}.xlsx", tables)


if __name__ == "__main__":
    main()
