"""Mutable parameters: the inputs a sweep draws anew, changed in place between draws."""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo

from etslink.data import ModelData


def _values(d: ModelData) -> dict[str, dict[Any, float]]:
    """Return each parameter's values by index, from the data."""
    return {
        "baseline_MtCO2e": dict(d.baseline_MtCO2e),
        "cap_MtCO2e": dict(d.cap_MtCO2e),
        "mac_intercept_per_tCO2e": {k: m.intercept_per_tCO2e for k, m in d.mac_linear.items()},
        "mac_slope_per_tCO2e_per_MtCO2e": {
            k: m.slope_per_tCO2e_per_MtCO2e for k, m in d.mac_linear.items()
        },
        "mac_max_abatement_MtCO2e": {k: m.max_abatement_MtCO2e for k, m in d.mac_linear.items()},
        "step_abatement_MtCO2e": {
            (s, y, step.option): step.abatement_MtCO2e
            for (s, y), steps in d.mac_steps.items()
            for step in steps
        },
        "step_cost_per_tCO2e": {
            (s, y, step.option): step.cost_per_tCO2e
            for (s, y), steps in d.mac_steps.items()
            for step in steps
        },
        "offer_supply_MtCO2e": {
            (o.offset_type, o.year, o.step): o.supply_MtCO2e for o in d.offset_offers
        },
        "offer_price_per_tCO2e": {
            (o.offset_type, o.year, o.step): o.price_per_tCO2e for o in d.offset_offers
        },
    }


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
}
"""Each mutable parameter and the set it is indexed by."""


def add_parameters(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add every input a sweep may change as a mutable Param [units in its name]."""
    for name, values in _values(d).items():
        index = getattr(m, INDEX[name])
        setattr(
            m,
            name,
            pyo.Param(
                index, initialize=values, mutable=True, within=pyo.Reals, doc=f"input {name}"
            ),
        )


def set_parameters(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Set every mutable parameter from `d`, which must have the same sets as the model's."""
    for name, values in _values(d).items():
        param = getattr(m, name)
        for key, value in values.items():
            param[key].set_value(value)
