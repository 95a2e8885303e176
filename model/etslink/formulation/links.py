"""Links: one transfer variable per link-year, in the exporting system's allowances."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pyomo.environ as pyo

from etslink.data import AbatementStep, Forest, Link, ModelData, OffsetOffer


def redundant_link_years(d: ModelData) -> set[tuple[str, int]]:
    """Return the link-years that close a cycle of free links (two-way, rate 1, no limit).

    Within a group of systems joined by free links, only the net positions matter, and a
    spanning tree of the group's links can carry any of them. The other free link-years are
    redundant; they would only make the QP degenerate (see docs/formulation.md, B3).
    """
    redundant = set()
    years = sorted({y for link in d.links for y in link.years})
    free = sorted(
        (
            link
            for link in d.links
            if link.two_way and link.exchange_rate == 1 and link.max_transfer_MtCO2e is None
        ),
        key=lambda link: link.name,
    )
    for year in years:
        forest = Forest(d.systems)
        redundant |= {
            (link.name, year)
            for link in free
            if year in link.years and not forest.join(link.from_system, link.to_system)
        }
    return redundant


def add_links(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add transfers (B3), (E3) net imports, (E4) and (E5) transfer limits."""
    links = d.link_of()

    def bounds(m: pyo.ConcreteModel, name: str, y: int) -> tuple[float | None, None]:
        return (None if links[name, y].two_way else 0.0, None)

    m.transfer_MtCO2e = pyo.Var(
        m.link_years,
        bounds=bounds,
        doc="(B3) net transfer along the link [MtCO2e of from_system allowances]",
    )
    for key in redundant_link_years(d):
        m.transfer_MtCO2e[key].fix(0.0)  # (B3) free later, in the second stage (E14)
    m.transfer_limit = pyo.Constraint(
        m.limited_link_years,
        rule=lambda m, name, y: m.transfer_MtCO2e[name, y] <= links[name, y].max_transfer_MtCO2e,
        doc="(E4) transfer limit, from_system to to_system [MtCO2e]",
    )
    m.reverse_transfer_limit = pyo.Constraint(
        m.limited_reverse_link_years,
        rule=lambda m, name, y: (
            -links[name, y].exchange_rate * m.transfer_MtCO2e[name, y]
            <= links[name, y].max_transfer_MtCO2e
        ),
        doc="(E5) transfer limit, to_system to from_system [MtCO2e]",
    )

    incidence: dict[tuple[str, int], list[tuple[Link, float]]] = {}
    for name, y in m.link_years:
        link = links[name, y]
        incidence.setdefault((link.to_system, y), []).append((link, link.exchange_rate))
        incidence.setdefault((link.from_system, y), []).append((link, -1.0))

    def net_imports(m: pyo.ConcreteModel, s: str, y: int) -> Any:
        return sum(
            coef * m.transfer_MtCO2e[link.name, y] for link, coef in incidence.get((s, y), [])
        )

    m.net_imports_MtCO2e = pyo.Expression(
        m.system_years,
        rule=net_imports,
        doc="(E3) compliance that other systems' allowances provide here, net [MtCO2e]",
    )


DECIDED = "decided"
"""Label of the one abatement option of each system-year in the second stage (E14)."""


def one_way_pair(link: Link) -> tuple[Link, ...]:
    """Return a link as one-way links: a two-way link becomes one each way (E14)."""
    if not link.two_way:
        return (link,)
    forward = replace(link, two_way=False)
    back = Link(
        link.to_system,
        link.from_system,
        False,
        1 / link.exchange_rate,
        link.max_transfer_MtCO2e,
        link.years,
    )
    return forward, back


def stage_two_data(first: pyo.ConcreteModel, d: ModelData) -> ModelData:
    """Return the data of (E14): the solved first stage's costly choices as fixed amounts.

    Each system-year abates what the first stage abated, by one option at zero cost; each
    credit market offers what the first stage bought, at zero cost; every link is one-way
    (a two-way link becomes one each way, with the reciprocal rate), so that each transfer is
    non-negative and its size is the variable itself. What stays free is what does not
    change costs: transfers, banks and which system uses which credit.
    """
    abated = {key: max(0.0, pyo.value(first.abatement_MtCO2e[key])) for key in first.system_years}
    bought = {
        (o, y): sum(
            max(0.0, pyo.value(first.offsets_bought_MtCO2e[o, y, k]))
            for k in first.offset_offers_of[o, y]
        )
        for o, y in first.offset_markets
    }
    return replace(
        d,
        mac_linear={},
        mac_steps={key: (AbatementStep(DECIDED, a, 0.0),) for key, a in abated.items()},
        offset_offers=tuple(OffsetOffer(o, y, 1, q, 0.0) for (o, y), q in bought.items()),
        links=tuple(one for link in d.links for one in one_way_pair(link)),
    )


def add_smallest_transfers(m: pyo.ConcreteModel, first: pyo.ConcreteModel) -> None:
    """Make the model of stage_two_data into (E14): the smallest transfers, same costs.

    Fixes abatement, credits bought, allowances unsold at the floor and sold at the ceiling
    at the first stage's values, and replaces (E12) by the total of the (one-way,
    non-negative) transfers. Banks and transfers are often not unique in linked markets (a
    bank can sit in either system); this picks the least trade among the least-cost solutions.
    """
    for var in m.abatement_step_MtCO2e.values():
        var.fix(var.ub)
    for var in m.offsets_bought_MtCO2e.values():
        var.fix(var.ub)
    for name in ("unsold_MtCO2e", "ceiling_sales_MtCO2e"):
        for key, var in getattr(m, name).items():
            var.fix(pyo.value(getattr(first, name)[key]))
    m.total_cost.deactivate()
    m.total_transfer = pyo.Objective(
        expr=pyo.quicksum(m.transfer_MtCO2e[key] for key in m.link_years),
        sense=pyo.minimize,
        doc="(E14) total transfers [MtCO2e of the exporters' allowances]",
    )


def net_transfer(link: Link, year: int, second: pyo.ConcreteModel) -> float:
    """Return the first stage's transfer variable (B3) from the one-way flows of (E14)."""
    forward, *back = one_way_pair(link)
    value = pyo.value(second.transfer_MtCO2e[forward.name, year])
    if back:
        value -= pyo.value(second.transfer_MtCO2e[back[0].name, year]) / link.exchange_rate
    return float(value)


MOVED_IN_STAGE_TWO = ("bank_MtCO2e", "offset_use_MtCO2e")
"""Variables whose values the second stage (E14) decides, besides the transfers."""
