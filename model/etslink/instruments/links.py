"""Links: one transfer variable per link-year, in the exporting system's allowances."""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from etslink.core.checking import Checker, Periods, Record, Tables, model_years, span
from etslink.core.data import Forest, Link, ModelData, Rows, years_between
from etslink.core.sheet import Column, Sheet, first_last_columns
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

LINKS = Sheet(
    "links",
    "Which allowances may be surrendered where.",
    (
        Column(
            "from_system", "text", "The system whose allowances move.", required=True, ref="system"
        ),
        Column(
            "to_system",
            "text",
            "The system that accepts them for compliance.",
            required=True,
            ref="system",
        ),
        Column(
            "direction",
            "choice",
            "one-way: to_system accepts from_system's units; two-way: both accept each other's.",
            default="two-way",
            choices=("one-way", "two-way"),
        ),
        Column(
            "exchange_rate",
            "number",
            "Tonnes of compliance in to_system per allowance of from_system; a two-way link "
            "uses the reciprocal in the reverse direction.",
            unit="tCO2e per allowance",
            default=1.0,
            minimum=0.0,
            exclusive_minimum=True,
        ),
        Column(
            "max_transfer_MtCO2e",
            "number",
            "Per year and per direction, in from_system allowances; blank = unlimited.",
            unit="MtCO2e",
            default_doc="unlimited",
            minimum=0.0,
        ),
        *first_last_columns("the link is active"),
        Column(
            "transfer_fee_per_tCO2e",
            "number",
            "Border fee per allowance moved (in the exporting system's allowances), in either "
            "direction of a two-way link, paid by the importing system's firms to its own "
            "government: the importer's price exceeds the exporter's by it when the link is "
            "used.",
            unit="CUR per tCO2e",
            default=0.0,
            minimum=0.0,
        ),
        Column(
            "max_transfer_share_of_cap",
            "number",
            "Per year and direction: compliance the link may provide (in the importing "
            "system's tonnes) as a fraction of the importing system's cap that year (5% = "
            "0.05; at most 1); blank = no such limit.",
            unit="fraction",
            default_doc="no limit",
            minimum=0.0,
            maximum=1.0,
        ),
        Column(
            "in_counterfactual",
            "yesno",
            "yes: the link exists today and stays in the second case, which is then the "
            "status quo (`counterfactual`) instead of `autarky`: gains are those of the new "
            "links against it. Only on sheet links.",
            default=False,
            default_doc="no",
        ),
    ),
    examples=(("A", "B", "two-way", 1, None, 2030, 2030, 0, None, "no"),),
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


def arcs(record: Record) -> list[tuple[str, str]]:
    """Return the directions (exporter, importer) in which a link row moves allowances."""
    a, b = record["from_system"], record["to_system"]
    return [(a, b)] + ([(b, a)] if record["direction"] == "two-way" else [])


def check_link_rows(checker: Checker, rows: list[Record], sheet: str = "links") -> None:
    """No link to itself; one row per pair and direction in any year.

    Designs of one link (candidate_links with a `design_of`) may each take the same pair:
    a design's rows are checked among themselves.
    """
    periods = Periods()
    designs = Periods()
    for record in rows:
        a, b = record["from_system"], record["to_system"]
        if a is None or b is None:
            continue
        if a == b:
            checker.flag(
                checker.raw[sheet],
                record["_row"],
                "to_system",
                f"the link goes from {a} to itself",
                "enter the other system in to_system",
            )
            continue
        design = record.get("design_of")
        for arc in arcs(record):
            if design:
                other = designs.clash((arc, design, record.get("candidate")), record)
            else:
                other = periods.clash(arc, record)
            if other is not None:
                checker.flag(
                    checker.raw[sheet],
                    record["_row"],
                    "from_system",
                    f"{arc[0]} to {arc[1]} is already linked on row {other} in some "
                    "of the same years",
                    "keep one row per pair and direction, or give "
                    "the rows years that do not overlap",
                )


@dataclass(frozen=True)
class MintingCycle:
    """A cycle of links round which allowances multiply: its year, path, rows and factor."""

    year: int
    path: tuple[str, ...]
    rows: tuple[int, ...]
    factor: float

    def describe(self) -> str:
        """Return e.g. "in 2030 allowances can go round A -> B -> A ... multiply to 1.5"."""
        return (
            f"in {self.year} allowances can go round {' -> '.join(self.path)} and the "
            f"exchange rates multiply to {self.factor:.4g}"
        )


def minting_cycle(rows: list[Record], years_of: dict[str, set[int]]) -> MintingCycle | None:
    """Return the first cycle of link rows that mints allowances (Bellman-Ford, per year).

    Args:
        rows: Typed link rows (sheet links, or links with candidates added).
        years_of: The years of each system on sheet emissions.
    """
    for year in sorted({y for ys in years_of.values() for y in ys}):
        edges = [
            edge
            for r in rows
            if year in years_of[r["from_system"]] & years_of[r["to_system"]]
            and span(r)[0] <= year <= span(r)[1]
            for edge in _moves(r)
        ]
        cycle = _negative_cycle(edges)
        if cycle:
            return MintingCycle(
                year,
                (cycle[0][0], *(to for _, to, _, _ in cycle)),
                tuple(sorted({row for _, _, _, row in cycle})),
                math.exp(-sum(w for _, _, w, _ in cycle)),
            )
    return None


def _moves(r: Record) -> list[tuple[str, str, float, int]]:
    """Return the directed moves of a link row: (from, to, -log(rate), row)."""
    rate = math.log(r["exchange_rate"])
    moves = [(r["from_system"], r["to_system"], -rate, r["_row"])]
    if r["direction"] == "two-way":
        moves.append((r["to_system"], r["from_system"], rate, r["_row"]))
    return moves


def _negative_cycle(
    edges: list[tuple[str, str, float, int]],
) -> list[tuple[str, str, float, int]]:
    """Return the edges of a cycle of negative total weight (rates multiplying above 1)."""
    nodes = {n for a, b, _, _ in edges for n in (a, b)}
    distance = dict.fromkeys(nodes, 0.0)
    before: dict[str, tuple[str, str, float, int]] = {}
    changed: str | None = None
    for _ in range(len(nodes)):
        changed = None
        for edge in edges:
            a, b, w, _ = edge
            if distance[a] + w < distance[b] - 1e-12:
                distance[b], before[b], changed = distance[a] + w, edge, b
        if changed is None:
            return []
    if changed is None:
        return []
    node = changed
    for _ in range(len(nodes)):  # step back into the cycle
        node = before[node][0]
    cycle, here = [], node
    while True:
        edge = before[here]
        cycle.append(edge)
        here = edge[0]
        if here == node:
            return cycle[::-1]


def _check_link_sheet(checker: Checker, tables: Tables) -> None:
    """No link to itself; one row per pair and direction in any year (sheet links)."""
    check_link_rows(checker, tables["links"])


def _check_minting_cycles(checker: Checker, tables: Tables) -> None:
    """A cycle of links along which allowances may move must not multiply them.

    Each row lets allowances move from_system -> to_system at its rate (and back at the
    reciprocal on a two-way link). A directed cycle of active links whose rates multiply to
    more than 1 would mint allowances by passing them round: an error (Bellman-Ford on
    -log(rate), per year).
    """
    years_of = model_years(tables)
    found = minting_cycle(tables["links"], years_of)
    if found:
        checker.flag(
            checker.raw["links"],
            found.rows[0],
            "exchange_rate",
            f"{found.describe()} (rows {', '.join(map(str, found.rows))}): passing them "
            "round would create allowances",
            "make the rates round the cycle multiply to 1 (a two-way link uses the "
            "reciprocal rate back), or make one of the links one-way in the other direction",
        )


def _warn_rate_cycles(checker: Checker, tables: Tables) -> None:
    """Warn when exchange rates round a cycle of links do not multiply to 1.

    Passing allowances round such a cycle would create (or destroy) allowances.
    """
    potential: dict[str, float] = {}
    adjacent: dict[str, list[tuple[str, float, int]]] = defaultdict(list)
    for r in tables["links"]:
        rate = math.log(r["exchange_rate"])  # one unit of from counts as rate in to
        adjacent[r["from_system"]].append((r["to_system"], rate, r["_row"]))
        adjacent[r["to_system"]].append((r["from_system"], -rate, r["_row"]))
    for start in sorted(adjacent):
        if start in potential:
            continue
        potential[start], stack = 0.0, [start]
        while stack:
            here = stack.pop()
            for there, rate, row in adjacent[here]:
                if there not in potential:
                    potential[there] = potential[here] + rate
                    stack.append(there)
                elif abs(potential[there] - potential[here] - rate) > 1e-9:
                    factor = math.exp(abs(potential[here] + rate - potential[there]))
                    checker.warn(
                        checker.raw["links"],
                        row,
                        "exchange_rate",
                        f"round a cycle of links through {here} and {there} the "
                        f"exchange rates multiply to {factor:.4g}, not 1, so passing "
                        "allowances round it creates or destroys allowances",
                        "check the exchange rates of the links in the cycle",
                    )
                    return


def links_of_row(r: Mapping[str, Any], years_of: Mapping[str, set[int]]) -> tuple[Link, ...]:
    """Return a link row as a link; a two-way link with a fee as one link each way.

    A fee is paid on every allowance moved, in either direction, so such a link needs both
    flows as variables; one net transfer per link serves the others.
    """
    shared = years_of[r["from_system"]] & years_of[r["to_system"]]
    link = Link(
        r["from_system"],
        r["to_system"],
        r["direction"] == "two-way",
        r["exchange_rate"],
        r["max_transfer_MtCO2e"],
        years_between(r["first_year"], r["last_year"], shared),
        r.get("transfer_fee_per_tCO2e") or 0.0,
        r.get("max_transfer_share_of_cap"),
        bool(r.get("in_counterfactual")),
    )
    return link.one_way() if link.fee_per_tCO2e > 0 else (link,)


def _read(rows: Rows) -> dict[str, Any]:
    """Return the links of sheet links (a two-way link with a fee as one each way)."""
    return {
        "links": tuple(
            link for r in rows.tables["links"] for link in links_of_row(r, rows.years_of)
        )
    }


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
    sheets=(LINKS,),
    checks=(
        _check_link_sheet,
        _check_minting_cycles,
    ),
    warnings=(_warn_rate_cycles,),
    read=_read,
)
