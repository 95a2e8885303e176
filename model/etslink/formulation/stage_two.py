"""(E14) The smallest transfers among the least-cost solutions: the second stage.

It reads the variable declarations: what stage one DECIDED is fixed, what is REDECIDED here
(transfers, banks, which system uses which credit) is chosen again to minimise the total
transfers, then copied back. See docs/formulation.md, (E14).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

import pyomo.environ as pyo

from etslink.core.data import AbatementStep, Forest, ModelData, OffsetOffer
from etslink.formulation import VARIABLES
from etslink.instruments.declarations import Role, Values

LATER_YEAR_WEIGHT = 1e-4
"""(E14) Each year after the first weighs a transfer this much more (less with
transfer_timing "latest"): among transfers of the same total the earliest (latest) are
chosen, so the choice is unique and one linked group's does not depend on what else is in
the model (a reserve reads the banks it leaves)."""
DECIDED_OPTION = "decided"
"""Label of the one abatement option of each system-year in the second stage."""
DECIDED_STEP = 0
"""Step number of the one supply step of each credit market in the second stage (first-stage
steps count from 1, so no key of the second stage's decided quantities is one of stage one's)."""
PRICE_TOLERANCE_per_tCO2e = 1e-6
"""An allowance price below this [CUR per tCO2e, base-year money] may leave a balance slack."""


def groups_needing_stage_two(d: ModelData, prices: dict[tuple[str, int], float]) -> list[set[str]]:
    """Return the groups of linked systems whose transfers, banks or credit use may not be unique.

    Systems are grouped by links and by credit markets they share (the indirect link). Given
    stage one's abatement and purchases, a group's flows are unique when it has no banking
    system, no cycle of links or shared markets in any year, and every balance binds (a
    positive price). Otherwise the second stage can change the answer.

    Args:
        d: The case's data.
        prices: Stage one's allowance prices by system-year [CUR per tCO2e, base-year money].
    """
    edges = _edges_by_year(d)
    whole = Forest(d.systems)
    cyclic: set[str] = set()
    for year_edges in edges.values():
        forest = Forest(d.systems)
        for a, b in year_edges:
            whole.join(a, b)
            if not forest.join(a, b):
                cyclic.add(a)
    groups: dict[str, set[str]] = {}
    for s in d.systems:
        groups.setdefault(whole.root(s), set()).add(s)
    slack = {s for (s, _), p in prices.items() if p < PRICE_TOLERANCE_per_tCO2e}
    banks = {s for s in d.systems if d.banking[s] and len(d.years_of(s)) > 1}
    return [g for g in groups.values() if len(g) > 1 and g & (banks | cyclic | slack)]


def _edges_by_year(d: ModelData) -> dict[int, list[tuple[str, str]]]:
    """Return the pairs of systems joined in each year by a link or a shared credit market."""
    edges: dict[int, list[tuple[str, str]]] = {}
    for link in d.links:
        for y in link.years:
            edges.setdefault(y, []).append((link.from_system, link.to_system))
    users: dict[tuple[str, int], list[str]] = {}
    for (s, o, y), _ in d.offset_rule_of().items():
        users.setdefault((o, y), []).append(s)
    for (_, y), systems in users.items():
        edges.setdefault(y, []).extend(zip(systems, systems[1:], strict=False))
    return edges


def stage_two_data(first: Values, d: ModelData) -> ModelData:
    """Return the data of (E14): the solved first stage's costly choices as fixed amounts.

    Each system-year abates what the first stage abated, by one option at zero cost; each
    credit market offers what the first stage bought, at zero cost; every link is one-way
    (a two-way link becomes one each way, with the reciprocal rate), so that each transfer is
    non-negative and its size is the variable itself.
    """
    abated, bought = _restated(first)
    return replace(
        d,
        mac_linear={},
        mac_steps={key: (AbatementStep(DECIDED_OPTION, a, 0.0),) for key, a in abated.items()},
        offset_offers=tuple(
            OffsetOffer(o, y, DECIDED_STEP, q, 0.0) for (o, y), q in bought.items()
        ),
        links=tuple(one for link in d.links for one in link.one_way()),
    )


def _restated(first: Values) -> tuple[dict[Any, float], dict[Any, float]]:
    """Return what the first stage abated per system-year and bought per credit market."""
    abated = {key: max(0.0, a) for key, a in first.values("abatement_MtCO2e").items()}
    bought: dict[tuple[str, int], float] = {}
    for (o, y, _), q in first.values("offsets_bought_MtCO2e").items():
        bought[o, y] = bought.get((o, y), 0.0) + max(0.0, q)
    return abated, bought


def decided_values(m: pyo.ConcreteModel, first: Values) -> dict[str, dict[Any, float]]:
    """Return the value at which (E14) holds each DECIDED variable of its model `m`.

    The first stage's value where it has the same key; else the amount stage_two_data
    restated: the system-year's abatement for its one decided option, the market's
    purchases for its one decided step.
    """
    abated, bought = _restated(first)
    restated = {
        "abatement_step_MtCO2e": lambda key: abated[key[:2]],
        "offsets_bought_MtCO2e": lambda key: bought[key[:2]],
    }
    values = {}
    for declared in VARIABLES:
        if declared.role is Role.DECIDED:
            decided = first.values(declared.name)
            values[declared.name] = {
                key: decided[key] if key in decided else restated[declared.name](key)
                for key in getattr(m, declared.name)
            }
    return values


class Solution(Values, Protocol):
    """Values that can be replaced, and the model they solve (engine.Solution)."""

    @property
    def model(self) -> pyo.ConcreteModel:
        """Return the solved Pyomo model."""
        ...

    def set_values(self, name: str, values: Mapping[Any, float]) -> None:
        """Replace values of a variable component, by key."""
        ...


def add_smallest_transfers(m: pyo.ConcreteModel, first: Solution, timing: str = "earliest") -> None:
    """Make the model of stage_two_data into (E14): the smallest transfers, same costs.

    Among transfers of the same total, the earliest or the latest (`timing`, the setting
    transfer_timing).

    Every DECIDED variable is held at the first stage's value where the first stage has the
    same key, else at its upper bound (the decided amount that stage_two_data restated), and
    the cost objective (E12) gives way to the total of the one-way, non-negative transfers.
    Mutable Params that the first stage was solved with (a reserve's supply, drawn inputs)
    take the first stage's values.
    """
    take_parameters(m, first)
    for name, values in decided_values(m, first).items():
        for key, var in getattr(m, name).items():
            value = _within(values[key], var.lb, var.ub)
            var.setlb(value)
            var.setub(value)
    m.total_cost.deactivate()
    first_year = min((year for _, year in m.link_years), default=0)
    later = LATER_YEAR_WEIGHT if timing == "earliest" else -LATER_YEAR_WEIGHT
    m.total_transfer = pyo.Objective(
        expr=pyo.quicksum(
            (1 + later * (year - first_year)) * m.transfer_MtCO2e[link, year]
            for link, year in m.link_years
        ),
        sense=pyo.minimize,
        doc="(E14) total transfers [MtCO2e of the exporters' allowances]",
    )


def take_parameters(m: pyo.ConcreteModel, first: Solution) -> None:
    """Give the mutable Params of `m` the values the first stage was solved with."""
    for param in m.component_objects(pyo.Param):
        if param.mutable:
            source = getattr(first.model, param.name)
            for key, entry in param.items():
                entry.set_value(source[key].value)


def _within(value: float, lower: float | None, upper: float | None) -> float:
    """Return value moved into [lower, upper] (stage one's values may be off by solver noise)."""
    if lower is not None:
        value = max(value, lower)
    return value if upper is None else min(value, upper)


def copy_back(second: Values, first: Solution, d: ModelData) -> None:
    """Replace the first stage's REDECIDED values by the second stage's.

    Banks and credit uses have the same keys in both stages; each link's transfer (B3) is
    recombined from its one-way flows, t = f - g / r.
    """
    for declared in VARIABLES:
        if declared.role is Role.REDECIDED:
            first.set_values(declared.name, second.values(declared.name))
    flows = second.values("transfer_MtCO2e")
    transfers = {}
    for link in d.links:
        forward, *back = link.one_way()
        for year in link.years:
            value = flows[forward.name, year]
            if back:
                value -= flows[back[0].name, year] / link.exchange_rate
            transfers[link.name, year] = value
    first.set_values("transfer_MtCO2e", transfers)
