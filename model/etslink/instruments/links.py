"""Links: one transfer variable per link-year, in the exporting system's allowances."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from etslink.core.data import Forest, Link, ModelData
from etslink.instruments.declarations import (
    BalanceColumn,
    CostItem,
    Held,
    HeldRow,
    Instrument,
    LEVEL_TOLERANCE_MtCO2e,
    Payee,
    Priced,
    Restriction,
    Role,
    Side,
    SystemYear,
    Term,
    Values,
    Variable,
    cleaned,
    level,
    solved,
)

VARIABLES = (Variable("transfer_MtCO2e", "B3", Role.REDECIDED),)


def _ends(d: ModelData, key: tuple[str, int], reverse: bool = False) -> tuple[str, str, int]:
    """Return (exporter, importer, year) of a link-year, or of its reverse direction."""
    link = d.link_of()[key]
    ends = (link.to_system, link.from_system) if reverse else (link.from_system, link.to_system)
    return (*ends, key[1])


_SHARE_MEANING = (
    "value of one more tonne of compliance allowed through the link, as a share of the "
    "importer's cap (= importer's price - exporter's price / exchange rate)"
)
RESTRICTIONS = (
    Restriction(
        "transfer_limit",
        "E4",
        "value of one more from_system allowance allowed into to_system "
        "(= exchange_rate * to price - from price)",
        locate=_ends,
        level=lambda sol, d, key: level(sol, "transfer_MtCO2e", key),
        gap_words="the transfer limit",
    ),
    Restriction(
        "reverse_transfer_limit",
        "E5",
        "value of one more allowance of system allowed into counterpart on a two-way link",
        locate=lambda d, key: _ends(d, key, reverse=True),
        level=lambda sol, d, key: level(
            sol, "transfer_MtCO2e", key, sign=-d.link_of()[key].exchange_rate
        ),
        gap_words="the transfer limit",
    ),
    Restriction(
        "transfer_share_limit",
        "E16",
        _SHARE_MEANING,
        locate=_ends,
        level=lambda sol, d, key: level(
            sol, "transfer_MtCO2e", key, sign=d.link_of()[key].exchange_rate
        ),
        gap_words="the share-of-cap limit",
    ),
    Restriction(
        "reverse_transfer_share_limit",
        "E17",
        _SHARE_MEANING,
        locate=lambda d, key: _ends(d, key, reverse=True),
        level=lambda sol, d, key: level(sol, "transfer_MtCO2e", key, sign=-1.0),
        gap_words="the share-of-cap limit",
    ),
)


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
            if link.two_way
            and link.exchange_rate == 1
            and link.max_transfer_MtCO2e is None
            and link.max_share_of_cap is None
        ),
        key=lambda link: (not link.in_counterfactual, link.name),
    )  # the counterfactual's links first: its case holds the others at zero
    for year in years:
        forest = Forest(d.systems)
        redundant |= {
            (link.name, year)
            for link in free
            if year in link.years and not forest.join(link.from_system, link.to_system)
        }
    return redundant


def add_links(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add transfers (B3), (E3) net imports, (E4)-(E5) and (E16)-(E17) limits, border fees."""
    links = d.link_of()

    def bounds(m: pyo.ConcreteModel, name: str, y: int) -> tuple[float | None, None]:
        return (None if links[name, y].two_way else 0.0, None)

    m.transfer_MtCO2e = pyo.Var(
        m.link_years,
        bounds=bounds,
        doc="(B3) net transfer along the link [MtCO2e of from_system allowances]",
    )
    for key in redundant_link_years(d):
        m.transfer_MtCO2e[key].setlb(0.0)  # (B3) free later, in the second stage (E14)
        m.transfer_MtCO2e[key].setub(0.0)
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

    _add_share_limits(m, d)
    m.transfer_fees_Mcur = pyo.Expression(
        m.fee_link_years,
        rule=lambda m, name, y: links[name, y].fee_per_tCO2e * m.transfer_MtCO2e[name, y],
        doc="(E12) border fees paid by the importer's firms [M CUR, money of year y]",
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


def _add_share_limits(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Add (E16) and (E17): compliance through a link <= a share of the importer's cap."""
    links = d.link_of()
    m.transfer_share_limit = pyo.Constraint(
        m.share_limited_link_years,
        rule=lambda m, name, y: (
            links[name, y].exchange_rate * m.transfer_MtCO2e[name, y]
            <= links[name, y].max_share_of_cap * m.cap_MtCO2e[links[name, y].to_system, y]
        ),
        doc="(E16) compliance from the link <= share of to_system's cap [MtCO2e]",
    )
    m.reverse_transfer_share_limit = pyo.Constraint(
        m.share_limited_reverse_link_years,
        rule=lambda m, name, y: (
            -m.transfer_MtCO2e[name, y]
            <= links[name, y].max_share_of_cap * m.cap_MtCO2e[links[name, y].from_system, y]
        ),
        doc="(E17) compliance from the link, reverse direction <= share of from_system's cap",
    )


@dataclass(frozen=True)
class Flows:
    """Each direction of each link-year as positions in arrays (built once per link set).

    A flow moves max(coef * t, 0) allowances of its exporter, where t is its link-year's
    transfer variable (B3): coef = 1 forward, -rate backward on a two-way link.
    """

    link_years: tuple[tuple[str, int], ...]
    link_year: np.ndarray
    coef: np.ndarray
    rate: np.ndarray
    exporter: np.ndarray
    importer: np.ndarray

    def quantities(self, transfers: dict[Any, float]) -> np.ndarray:
        """Return each flow's allowances moved [MtCO2e of the exporter's allowances]."""
        t = np.fromiter(
            (transfers.get(k, 0.0) for k in self.link_years), float, len(self.link_years)
        )
        return np.maximum(self.coef * t[self.link_year], 0.0) + 0.0  # + 0.0: no -0.0


@functools.lru_cache(maxsize=16)
def flows_of(links: tuple[Link, ...], keys: tuple[tuple[str, int], ...]) -> Flows:
    """Return the flows of the links, forward then backward per link-year, in link order."""
    position = {key: i for i, key in enumerate(keys)}
    link_years: list[tuple[str, int]] = []
    columns: dict[str, list[float]] = {c: [] for c in ("j", "coef", "rate", "from", "to")}

    def add(*values: float) -> None:
        for column, value in zip(columns.values(), values, strict=True):
            column.append(value)

    for link in links:
        for y in link.years:
            ends = (position[link.from_system, y], position[link.to_system, y])
            add(len(link_years), 1.0, link.exchange_rate, *ends)
            if link.two_way:
                add(len(link_years), -link.exchange_rate, 1 / link.exchange_rate, *ends[::-1])
            link_years.append((link.name, y))
    positions = {c: np.array(columns[c], dtype=int) for c in ("j", "from", "to")}
    return Flows(
        tuple(link_years),
        positions["j"],
        np.array(columns["coef"], dtype=float),
        np.array(columns["rate"], dtype=float),
        positions["from"],
        positions["to"],
    )


def payments(sol: Values, d: ModelData, priced: Priced) -> tuple[Flows, np.ndarray, np.ndarray]:
    """Return the flows, each flow's allowances moved and what its importer paid [M CUR].

    A transfer is paid at the exporter's price, per exporter allowance. Computed once per
    solution (`priced.shared`): the imports, the exports and the transfers table read it.
    """
    if "payments" not in priced.shared:
        flows = flows_of(d.links, d.system_years)
        quantity = flows.quantities(cleaned(sol.values("transfer_MtCO2e")))
        priced.shared["payments"] = (flows, quantity, quantity * priced.prices[flows.exporter])
    found: tuple[Flows, np.ndarray, np.ndarray] = priced.shared["payments"]
    return found


def _fees_paid(sol: Values, d: ModelData, priced: Priced) -> np.ndarray:
    """Return the border fees each system-year's firms pay on imports [M CUR]."""
    fees = np.zeros(len(d.system_years))
    for (name, y), paid in cleaned(sol.values("transfer_fees_Mcur")).items():
        link = d.link_of().get((name, y))  # none in autarky, where every link is off
        if link is not None:
            fees[priced.positions[link.to_system, y]] += paid
    return fees


def _imports(sol: Values, d: ModelData, priced: Priced) -> np.ndarray:
    flows, _, paid = payments(sol, d, priced)
    return np.bincount(flows.importer, paid, minlength=len(d.system_years))


def _exports(sol: Values, d: ModelData, priced: Priced) -> np.ndarray:
    flows, _, paid = payments(sol, d, priced)
    return np.bincount(flows.exporter, paid, minlength=len(d.system_years))


TRANSFER_FEE = "transfer_fee"
"""The `shadow_prices` name of a used border fee, whose shadow price is the fee."""
FEE_MEANING = (
    "border fee per exporter allowance, paid by the importer's firms to its government: "
    "the importer's price exceeds the exporter's (times the rate) by it while the link is used"
)


def _fee_rows(sol: Values, d: ModelData, prices: Mapping[SystemYear, float]) -> list[HeldRow]:
    """Return a row per used link-year with a border fee; its shadow price is the fee."""
    rows = []
    for (name, y), moved in cleaned(sol.values("transfer_MtCO2e")).items():
        link = d.link_of().get((name, y))
        if link is not None and link.fee_per_tCO2e > 0 and moved > LEVEL_TOLERANCE_MtCO2e:
            rows.append((link.from_system, link.to_system, y, moved, link.fee_per_tCO2e))
    return rows


INSTRUMENT = Instrument(
    "links",
    add_links,
    variables=VARIABLES,
    restrictions=RESTRICTIONS,
    held=(Held(TRANSFER_FEE, FEE_MEANING, _fee_rows),),
    terms=(Term("net_imports_MtCO2e", Side.AVAILABLE),),
    objective=("transfer_fees_Mcur",),
    columns=(
        BalanceColumn(
            "net_imports_MtCO2e",
            "compliance that other systems' allowances provide here minus this system's "
            "allowances used elsewhere; exports are negative",
            solved("net_imports_MtCO2e"),
        ),
    ),
    costs=(
        CostItem(
            "transfer_fees_paid",
            1.0,
            Payee.FEES,
            "border fees this system's firms pay on allowances they import",
            _fees_paid,
        ),
        CostItem(
            "transfer_fee_revenue",
            -1.0,
            Payee.FEES,
            "the same fees, received by this system's government (they cancel)",
            _fees_paid,
        ),
        CostItem(
            "allowance_imports",
            1.0,
            Payee.ABROAD,
            "paid for other systems' allowances (transfers.payment)",
            _imports,
        ),
        CostItem(
            "allowance_exports",
            -1.0,
            Payee.ABROAD,
            "received for this system's allowances used elsewhere",
            _exports,
        ),
    ),
)
