"""(E15) The supply change of a quantity-triggered reserve, taken as given by the market."""

from __future__ import annotations

import pyomo.environ as pyo

from etslink.data import ModelData


def add_reserve_supply(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add (E15) each reserve system-year's release - intake [MtCO2e] as a mutable Param.

    Firms take the reserve's intake and release as given (each is too small to move the
    TNAC), so the supply change enters the allowance balance (E11) as a number; equilibrium.py
    sets it at the fixed point of the reserve's rules and the market's banking.
    """
    systems = {rule.system for rule in d.reserve_rules}
    m.reserve_years = pyo.Set(
        initialize=[(s, y) for s, y in d.system_years if s in systems],
        dimen=2,
        ordered=True,
        doc="system-years of systems with a reserve",
    )
    m.reserve_supply_MtCO2e = pyo.Param(
        m.reserve_years,
        initialize=0.0,
        mutable=True,
        within=pyo.Any,
        doc="(E15) allowances released - taken in by the reserve [MtCO2e]",
    )
