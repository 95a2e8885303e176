"""Every model input by name, the index set that keys it, and what a sweep's draws move.

Each input's values come from `ModelData`; `SWEPT` says which inputs each uncertain input
of a sweep moves. The model (instruments/parameters.py) makes these inputs Params or plain
numbers; a sweep's draws (uncertainty.py) move them as arrays in the order of `VALUES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etslink.core.data import ModelData

SWEPT = {
    "baseline": ("baseline_MtCO2e", "mac_max_abatement_MtCO2e", "step_abatement_MtCO2e"),
    "cap": ("cap_MtCO2e",),
    "mac_slope": ("mac_slope_per_tCO2e_per_MtCO2e",),
    "mac_intercept": ("mac_intercept_per_tCO2e",),
    "step_cost": ("step_cost_per_tCO2e",),
    "offset_supply": ("offer_supply_MtCO2e",),
    "offset_price": ("offer_price_per_tCO2e",),
    "benchmark": ("benchmark_tCO2e_per_unit",),
    "output_baseline": (
        "output_baseline_Munits",
        "baseline_MtCO2e",
        "mac_max_abatement_MtCO2e",
        "step_abatement_MtCO2e",
    ),
}
"""The Params each uncertain input changes (a drawn baseline also moves abatement room; a
drawn output baseline Q0 moves the baseline mu Q0 of its intensity year, and so that room)."""


REVISED = ("baseline_MtCO2e", "cap_MtCO2e", "mac_max_abatement_MtCO2e")
"""The Params that differ between the vintages of rows announced later (`announced_year` on
sheet emissions; a blank maximum abatement follows the baseline): each plan moves them to
the rules known when it is made."""


def swept_parameters(d: ModelData) -> frozenset[str]:
    """Return the names of the Params that the data's uncertainty rows change."""
    return frozenset(name for row in d.uncertainty for name in SWEPT[row.parameter])


def _steps(d: ModelData, field: str) -> dict[Any, float]:
    return {
        (s, y, step.option): getattr(step, field)
        for (s, y), steps in d.mac_steps.items()
        for step in steps
    }


def _offers(d: ModelData, field: str) -> dict[Any, float]:
    return {(o.offset_type, o.year, o.step): getattr(o, field) for o in d.offset_offers}


VALUES: dict[str, Callable[[ModelData], dict[Any, float]]] = {
    "baseline_MtCO2e": lambda d: dict(d.baseline_MtCO2e),
    "cap_MtCO2e": lambda d: dict(d.cap_MtCO2e),
    "mac_intercept_per_tCO2e": lambda d: {
        k: m.intercept_per_tCO2e for k, m in d.mac_linear.items()
    },
    "mac_slope_per_tCO2e_per_MtCO2e": lambda d: {
        k: m.slope_per_tCO2e_per_MtCO2e for k, m in d.mac_linear.items()
    },
    "mac_max_abatement_MtCO2e": lambda d: {
        k: m.max_abatement_MtCO2e for k, m in d.mac_linear.items()
    },
    "step_abatement_MtCO2e": lambda d: _steps(d, "abatement_MtCO2e"),
    "step_cost_per_tCO2e": lambda d: _steps(d, "cost_per_tCO2e"),
    "offer_supply_MtCO2e": lambda d: _offers(d, "supply_MtCO2e"),
    "offer_price_per_tCO2e": lambda d: _offers(d, "price_per_tCO2e"),
    "benchmark_tCO2e_per_unit": lambda d: {
        k: i.benchmark_tCO2e_per_unit for k, i in d.intensity.items()
    },
    "output_baseline_Munits": lambda d: {
        k: i.output_baseline_Munits for k, i in d.intensity.items()
    },
}
"""Each parameter's values by index, from the data."""


INDEX = {
    "baseline_MtCO2e": "system_years",
    "cap_MtCO2e": "system_years",
    "mac_intercept_per_tCO2e": "linear_macs",
    "mac_slope_per_tCO2e_per_MtCO2e": "linear_macs",
    "mac_max_abatement_MtCO2e": "linear_macs",
    "step_abatement_MtCO2e": "abatement_steps",
    "step_cost_per_tCO2e": "abatement_steps",
    "offer_supply_MtCO2e": "offset_offers",
    "offer_price_per_tCO2e": "offset_offers",
    "benchmark_tCO2e_per_unit": "intensity_years",
    "output_baseline_Munits": "intensity_years",
}
"""Each mutable parameter and the set it is indexed by."""
