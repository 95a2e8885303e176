"""Mutable parameters: the inputs a sweep draws anew, changed in place between draws."""

from __future__ import annotations

import pyomo.environ as pyo

from etslink.core.data import ModelData
from etslink.core.values import INDEX, VALUES


def add_parameters(m: pyo.ConcreteModel, d: ModelData, mutable: frozenset[str]) -> None:
    """Add every input by name [units in the name]: a mutable Param if in `mutable`.

    Only swept inputs are Params, which the engine follows through the model (see
    engine.CompiledCase.refresh); the others are plain numbers by index, which cost nothing
    to build and nothing to walk.
    """
    for name, values_of in VALUES.items():
        if name in mutable:
            param = pyo.Param(
                getattr(m, INDEX[name]),
                initialize=values_of(d),
                mutable=True,
                within=pyo.Any,  # validated data: a domain check per draw costs time
                doc=f"input {name}",
            )
            setattr(m, name, param)
        else:
            setattr(m, name, values_of(d))
