"""`ModelData`: the frozen, typed sets and parameters that the formulation reads."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

SystemYear = tuple[str, int]


@dataclass(frozen=True)
class LinearMac:
    """Linear MAC of one system-year: MAC(a) = intercept + slope * a [CUR per tCO2e]."""

    intercept_per_tCO2e: float
    slope_per_tCO2e_per_MtCO2e: float
    max_abatement_MtCO2e: float


@dataclass(frozen=True)
class AbatementStep:
    """One stepwise abatement option of a system-year."""

    option: str
    abatement_MtCO2e: float
    cost_per_tCO2e: float


@dataclass(frozen=True)
class Link:
    """A link whose one transfer variable is measured in `from_system` allowances.

    A one-way link carries transfers t >= 0 from `from_system` to `to_system`; a two-way link
    carries a net transfer t of either sign (t < 0 moves -r*t allowances of `to_system` the
    other way, worth -t tonnes in `from_system`, the reciprocal exchange rate).
    """

    from_system: str
    to_system: str
    two_way: bool
    exchange_rate: float
    max_transfer_MtCO2e: float | None
    years: tuple[int, ...]
    fee_per_tCO2e: float = 0.0
    max_share_of_cap: float | None = None
    in_counterfactual: bool = False
    design: str = ""
    """A candidate design's id (explore), so that designs of one pair have distinct names."""

    @property
    def name(self) -> str:
        """Return a readable id such as "CA<->QC" or "EU->CH" ("EU<->UK (late)" for a design)."""
        arrow = "<->" if self.two_way else "->"
        design = f" ({self.design})" if self.design else ""
        return f"{self.from_system}{arrow}{self.to_system}{design}"

    def one_way(self) -> tuple[Link, ...]:
        """Return the link as one-way links: a two-way link becomes one each way.

        The way back has the reciprocal exchange rate and the same limits and fee (each
        per allowance of the direction's exporter).
        """
        if not self.two_way:
            return (self,)
        back = replace(
            self,
            from_system=self.to_system,
            to_system=self.from_system,
            two_way=False,
            exchange_rate=1 / self.exchange_rate,
        )
        return replace(self, two_way=False), back


@dataclass(frozen=True)
class OffsetOffer:
    """One step of an offset credit supply curve."""

    offset_type: str
    year: int
    step: int
    supply_MtCO2e: float
    price_per_tCO2e: float


@dataclass(frozen=True)
class OffsetRule:
    """A system accepts a credit type in some years, within optional limits."""

    system: str
    offset_type: str
    max_share_of_emissions: float | None
    max_MtCO2e: float | None
    years: tuple[int, ...]


@dataclass(frozen=True)
class PriceControl:
    """Floor and ceiling of one system-year [CUR per tCO2e]; reserve [MtCO2e], None = none."""

    floor_per_tCO2e: float | None
    ceiling_per_tCO2e: float | None
    ceiling_reserve_MtCO2e: float | None


@dataclass(frozen=True)
class SupplyStep:
    """A price-triggered step of one system-year's supply [MtCO2e, CUR per tCO2e].

    A positive quantity is released once the price reaches the trigger; a negative quantity
    is withheld while the price is below it.
    """

    system: str
    year: int
    trigger_per_tCO2e: float
    quantity_MtCO2e: float


@dataclass(frozen=True)
class ReserveRule:
    """Rules of a quantity-triggered reserve (e.g. the EU MSR) in some years of one system.

    Quantities in MtCO2e; `intake_rate` a fraction of the previous year's TNAC.
    """

    system: str
    years: tuple[int, ...]
    intake_threshold_MtCO2e: float
    intake_rate: float
    intake_capped_at_excess: bool = False
    release_threshold_MtCO2e: float | None = None
    release_MtCO2e: float = 0.0
    holdings_limit_MtCO2e: float | None = None
    initial_holdings_MtCO2e: float = 0.0
    tnac_includes_linked: bool = False


@dataclass(frozen=True)
class IntensityStandard:
    """An intensity-based system's standard in one year (a tradable performance standard).

    Output Q [Munits] is decided: allowances issued = benchmark x Q [MtCO2e], emissions =
    intensity x Q - abatement, and moving Q away from `output_baseline_Munits` costs
    output_cost_slope / 2 x (Q - Q0)^2 [M CUR].
    """

    output_baseline_Munits: float
    emission_intensity_tCO2e_per_unit: float
    benchmark_tCO2e_per_unit: float
    output_cost_slope_per_unit_per_Munits: float

    @property
    def baseline_MtCO2e(self) -> float:
        """Return the emissions at the output baseline: intensity x Q0 [MtCO2e]."""
        return self.emission_intensity_tCO2e_per_unit * self.output_baseline_Munits


@dataclass(frozen=True)
class BorderAdjustment:
    """A carbon border adjustment on one importer's imports from one origin in one year.

    `embedded_MtCO2e` are the emissions embedded in the covered imports; `phase_in` the share
    charged; `origin` a system id or a region that is not a system.
    """

    importer: str
    origin: str
    year: int
    embedded_MtCO2e: float
    phase_in: float = 1.0
    deduct_origin_price: bool = True
    exempt_when_linked: bool = True


@dataclass(frozen=True)
class Observation:
    """What a market did in one system-year, to hold the model against (sheet `observed`).

    `value` is a price [CUR per tCO2e, money of the year] or a quantity [MtCO2e]; `weight`
    is its weight in a calibration (0 = shown, not fitted).
    """

    system: str
    year: int
    quantity: str
    value: float
    weight: float = 1.0
    source: str = ""


class Forest:
    """Systems joined into groups one link at a time (union-find)."""

    def __init__(self, systems: tuple[str, ...]) -> None:
        self.parent = {s: s for s in systems}

    def root(self, system: str) -> str:
        """Return the representative of the system's group."""
        while self.parent[system] != system:
            system = self.parent[system]
        return system

    def join(self, a: str, b: str) -> bool:
        """Join the groups of a and b; return False if they were already one group."""
        root_a, root_b = self.root(a), self.root(b)
        self.parent[root_a] = root_b
        return root_a != root_b


@dataclass(frozen=True)
class UncertainInput:
    """One row of sheet uncertainty: how a draw perturbs an input (see uncertainty.py)."""

    parameter: str
    target: str
    years: tuple[int, ...] | None
    distribution: str
    apply: str
    mean: float
    sd: float | None
    low: float | None
    high: float | None
    mode: float | None
    group: str | None


class Frozen(Mapping[Any, Any]):
    """A read-only mapping that pickles (so that ModelData can be sent to sweep workers)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[Any, Any]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: Any) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Frozen({self._items!r})"


def frozen(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """Return a read-only copy of a mapping (ModelData holds no dict that could change)."""
    return Frozen(mapping)


@dataclass(frozen=True)
class ModelData:
    """Everything one case of the model needs, in model units (MtCO2e, CUR per tCO2e)."""

    scenario_name: str
    currency: str
    base_year: int
    discount_rate: float
    systems: tuple[str, ...]
    system_names: Mapping[str, str]
    banking: Mapping[str, bool]
    borrowing_limit_MtCO2e: Mapping[str, float]
    initial_bank_MtCO2e: Mapping[str, float]
    baseline_MtCO2e: Mapping[SystemYear, float]
    cap_MtCO2e: Mapping[SystemYear, float]
    mac_linear: Mapping[SystemYear, LinearMac]
    mac_steps: Mapping[SystemYear, tuple[AbatementStep, ...]]
    links: tuple[Link, ...] = ()
    offset_offers: tuple[OffsetOffer, ...] = ()
    offset_rules: tuple[OffsetRule, ...] = ()
    price_controls: Mapping[SystemYear, PriceControl] = field(default_factory=lambda: frozen({}))
    supply_steps: tuple[SupplyStep, ...] = ()
    foresight_years: int | None = None
    foresight_schedule: tuple[tuple[str, int, int], ...] = ()
    """Rows of sheet `foresight`: (system or "*", first year, years), by first year."""
    transfer_timing: str = "earliest"
    reserve_rules: tuple[ReserveRule, ...] = ()
    uncertainty: tuple[UncertainInput, ...] = ()
    draws: int = 100
    seed: int = 0
    observations: tuple[Observation, ...] = ()
    intensity: Mapping[SystemYear, IntensityStandard] = field(default_factory=lambda: frozen({}))
    """The intensity standards of intensity-based system-years (their cap is 0: the
    allowances issued are a term of the model)."""
    border_adjustments: tuple[BorderAdjustment, ...] = ()
    vintages: Mapping[int, ModelData] = field(default_factory=lambda: frozen({}))
    """With rows announced later (`announced_year`): the inputs as known in each year from
    which they differ, keyed by that year (the first model year: as known from the start).
    The fields above are the rules in force: for each year, those known in that year."""

    @cached_property
    def system_years(self) -> tuple[SystemYear, ...]:
        """Return every (system, year) in which a system takes part, sorted."""
        return tuple(sorted(self.baseline_MtCO2e))

    def years_of(self, system: str) -> tuple[int, ...]:
        """Return the sorted years in which `system` takes part."""
        return self._years.get(system, ())

    @cached_property
    def _years(self) -> Mapping[str, tuple[int, ...]]:
        years: dict[str, list[int]] = defaultdict(list)
        for s, y in self.system_years:
            years[s].append(y)
        return frozen({s: tuple(ys) for s, ys in years.items()})

    def discount_factor(self, year: int) -> float:
        """Return the present-value factor of money of `year`: (1 + rate)^-(year - base)."""
        return float((1.0 + self.discount_rate) ** -(year - self.base_year))

    def link_of(self) -> Mapping[tuple[str, int], Link]:
        """Return the link row in force for each (link name, year)."""
        return self._link_index

    @cached_property
    def _link_index(self) -> Mapping[tuple[str, int], Link]:
        return frozen({(link.name, y): link for link in self.links for y in link.years})

    def offset_rule_of(self) -> dict[tuple[str, str, int], OffsetRule]:
        """Return the rule in force for each (system, offset type, year)."""
        return {(r.system, r.offset_type, y): r for r in self.offset_rules for y in r.years}

    @cached_property
    def digest(self) -> str:
        """Return a SHA-256 of every input (the key of a sweep worker's models)."""
        fields = (getattr(self, f.name) for f in dataclasses.fields(self))
        return hashlib.sha256(repr(tuple(fields)).encode()).hexdigest()

    def linked_with(self, system: str, year: int) -> tuple[str, ...]:
        """Return the systems linked with `system` in `year` (itself included), in sheet order.

        Linked directly or through others, by the links active that year.
        """
        forest = Forest(self.systems)
        for link in self.links:
            if year in link.years:
                forest.join(link.from_system, link.to_system)
        root = forest.root(system)
        return tuple(s for s in self.systems if forest.root(s) == root)

    def without_links(self) -> ModelData:
        """Return the same data with every link removed (offsets stay), in every vintage."""
        vintages = {t: v.without_links() for t, v in self.vintages.items()}
        return replace(self, links=(), vintages=frozen(vintages))

    def counterfactual(self) -> ModelData:
        """Return the data of the second case: only the links that exist today, if any.

        Links marked `in_counterfactual` stay (the status quo); without such links it is
        autarky.
        """
        kept = tuple(link for link in self.links if link.in_counterfactual)
        vintages = {t: v.counterfactual() for t, v in self.vintages.items()}
        return replace(self, links=kept, vintages=frozen(vintages))

    @property
    def second_case(self) -> str:
        """Return the second case's name: `counterfactual` if links stay in it, else `autarky`."""
        kept = any(link.in_counterfactual for link in self.links)
        return "counterfactual" if kept else "autarky"

    def horizon(self, system: str, year: int) -> int | None:
        """Return the years the plan made in `year` sees for `system` (None: to the end).

        The sheet `foresight`'s latest row for the system from `year` or before, else its
        latest row for every system (*), else the setting `foresight_years`.
        """
        for who in (system, "*"):
            rows = [r for r in self.foresight_schedule if r[0] == who and r[1] <= year]
            if rows:
                return max(rows, key=lambda r: r[1])[2]
        return self.foresight_years

    def known_in(self, year: int) -> ModelData:
        """Return the inputs as known in `year`: the plan made then decides with them."""
        known = [t for t in self.vintages if t <= year]
        return self.vintages[max(known)] if known else self


def years_between(first: int | None, last: int | None, years: set[int]) -> tuple[int, ...]:
    """Return the sorted years within first-last (blank ends: the first or last of `years`)."""
    low = first if first is not None else min(years, default=0)
    high = last if last is not None else max(years, default=0)
    return tuple(sorted(y for y in years if low <= y <= high))


FROM_THE_START = -(10**9)
"""The announcement year of a row whose `announced_year` is blank: known from the start."""


def announced(r: Mapping[str, Any]) -> int:
    """Return the year a row was announced in (`FROM_THE_START` when blank)."""
    value = r.get("announced_year")
    return FROM_THE_START if value is None else int(value)


def in_force(
    rows: list[dict[str, Any]], known_in: int | None, years_of: Mapping[str, set[int]]
) -> list[tuple[dict[str, Any], tuple[int, ...]]]:
    """Return each row with the years in which it is the rule, as known in `known_in`.

    For each system and year: the row covering the year with the largest announcement
    up to `known_in` (None: up to that year itself, the rule in force). Rows cover a
    `year`, or `first_year` to `last_year` (default: the system's years).
    """
    chosen: dict[tuple[str, int], dict[str, Any]] = {}
    for r in rows:
        years: tuple[int, ...]
        if "year" in r:
            years = (r["year"],)
        else:
            years = years_between(r["first_year"], r["last_year"], set(years_of[r["system"]]))
        for y in years:
            limit = y if known_in is None else known_in
            key = (r["system"], y)
            if announced(r) <= limit and (
                key not in chosen or announced(r) > announced(chosen[key])
            ):
                chosen[key] = r
    pieces: dict[int, tuple[dict[str, Any], list[int]]] = {}
    for (_, y), r in sorted(chosen.items(), key=lambda item: item[0]):
        pieces.setdefault(id(r), (r, []))[1].append(y)
    return [(r, tuple(years)) for r, years in pieces.values()]


@dataclass(frozen=True)
class Rows:
    """The typed records an instrument reads its `ModelData` fields from (`Instrument.read`).

    Attributes:
        tables: Every sheet's records by name; `emissions` holds the rows known in
            `known_in`, with each intensity year's baseline (intensity x output baseline)
            and cap (0).
        years_of: The years each system takes part in.
        baseline: Each system-year's baseline emissions [MtCO2e].
        known_in: The year whose knowledge the rules are read with (None: the rules in
            force, each year's as known in that year).
    """

    tables: Mapping[str, list[dict[str, Any]]]
    years_of: Mapping[str, set[int]]
    baseline: Mapping[SystemYear, float]
    known_in: int | None
