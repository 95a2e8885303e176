"""Sparse index sets: only the combinations that exist in the data."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import pyomo.environ as pyo

from etslink.core.data import ModelData


def _set(items: Iterable[tuple[Any, ...]], dimen: int, doc: str) -> pyo.Set:
    return pyo.Set(initialize=sorted(set(items)), dimen=dimen, ordered=True, doc=doc)


K = TypeVar("K")
V = TypeVar("V")


def grouped(
    index: Iterable[Any], key: Callable[..., K], value: Callable[..., V]
) -> dict[K, list[V]]:
    """Return {key(*item): [value(*item), ...]} over the items of an index set."""
    groups: dict[K, list[V]] = {}
    for item in index:
        groups.setdefault(key(*item), []).append(value(*item))
    return groups


def add_sets(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add every index set of the model."""
    _add_system_sets(m, d)
    _add_link_sets(m, d)
    _add_offset_sets(m, d)
    _add_price_control_sets(m, d)


def _add_system_sets(m: pyo.ConcreteModel, d: ModelData) -> None:
    m.system_years = _set(list(d.system_years), 2, "systems and the years they take part in")
    m.linear_macs = _set(list(d.mac_linear), 2, "system-years with a linear MAC")
    m.abatement_steps = _set(
        [(s, y, step.option) for (s, y), steps in d.mac_steps.items() for step in steps],
        3,
        "stepwise abatement options (system, year, option)",
    )
    m.intensity_years = _set(list(d.intensity), 2, "intensity-based system-years")
    m.bank_years = _set(
        [(s, y) for s in d.systems if d.banking[s] for y in d.years_of(s)[:-1]],
        2,
        "system-years whose unused allowances are carried to the system's next year",
    )


def _add_link_sets(m: pyo.ConcreteModel, d: ModelData) -> None:
    m.link_years = _set(
        [(link.name, y) for link in d.links for y in link.years],
        2,
        "links and the years they are active",
    )
    m.limited_link_years = _set(
        [
            (link.name, y)
            for link in d.links
            if link.max_transfer_MtCO2e is not None
            for y in link.years
        ],
        2,
        "link-years with a transfer limit",
    )
    m.share_limited_link_years = _set(
        [
            (link.name, y)
            for link in d.links
            if link.max_share_of_cap is not None
            for y in link.years
        ],
        2,
        "link-years with a limit as a share of the importer's cap",
    )
    m.share_limited_reverse_link_years = _set(
        [
            (link.name, y)
            for link in d.links
            if link.two_way and link.max_share_of_cap is not None
            for y in link.years
        ],
        2,
        "two-way link-years with a share-of-cap limit in the reverse direction",
    )
    m.fee_link_years = _set(
        [(link.name, y) for link in d.links if link.fee_per_tCO2e > 0 for y in link.years],
        2,
        "link-years with a border fee (one-way: a two-way link with a fee is one each way)",
    )
    m.limited_reverse_link_years = _set(
        [
            (link.name, y)
            for link in d.links
            if link.two_way and link.max_transfer_MtCO2e is not None
            for y in link.years
        ],
        2,
        "two-way link-years with a transfer limit in the reverse direction",
    )


def _add_offset_sets(m: pyo.ConcreteModel, d: ModelData) -> None:
    m.offset_offers = _set(
        [(o.offset_type, o.year, o.step) for o in d.offset_offers],
        3,
        "offset supply steps (type, year, step)",
    )
    markets = {(o.offset_type, o.year) for o in d.offset_offers}
    m.offset_markets = _set(list(markets), 2, "offset credit markets (type, year)")
    rule_of = {u: r for u, r in d.offset_rule_of().items() if u[1:] in markets}
    m.offset_uses = _set(rule_of, 3, "which system may use which credit in which year")
    m.offset_share_limits = _set(
        [u for u, r in rule_of.items() if r.max_share_of_emissions is not None],
        3,
        "offset uses limited to a share of emissions",
    )
    m.offset_quantity_limits = _set(
        [u for u, r in rule_of.items() if r.max_MtCO2e is not None],
        3,
        "offset uses limited to a quantity",
    )


def _add_price_control_sets(m: pyo.ConcreteModel, d: ModelData) -> None:
    controls = d.price_controls.items()
    m.floor_years = _set(
        [k for k, c in controls if c.floor_per_tCO2e is not None],
        2,
        "system-years with a price floor",
    )
    m.ceiling_years = _set(
        [k for k, c in controls if c.ceiling_per_tCO2e is not None],
        2,
        "system-years with a price ceiling",
    )
    steps = list(enumerate(d.supply_steps))
    m.supply_releases = _set(
        [(st.system, st.year, k) for k, st in steps if st.quantity_MtCO2e > 0],
        3,
        "price-triggered releases (system, year, step)",
    )
    m.supply_withholdings = _set(
        [(st.system, st.year, k) for k, st in steps if st.quantity_MtCO2e < 0],
        3,
        "price-triggered withholdings (system, year, step)",
    )
    m.ceiling_reserve_years = _set(
        [
            k
            for k, c in controls
            if c.ceiling_per_tCO2e is not None and c.ceiling_reserve_MtCO2e is not None
        ],
        2,
        "system-years with a finite ceiling reserve",
    )
