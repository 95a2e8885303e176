"""Turn solved models into result tables; the only place where duals become prices."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from etslink.formulation import HOLDINGS, RESTRICTIONS
from etslink.inputs.data import Link, ModelData
from etslink.instruments.reserve import ReserveYear
from etslink.outputs.columns import Columns
from etslink.solving.cases import CASES
from etslink.solving.engine import Solution
from etslink.solving.stages import SolveOutcome

SHADOW_TOLERANCE_per_tCO2e = 1e-4
"""Shadow prices below this [CUR per tCO2e] count as zero (restriction not binding); HiGHS's
QP duals are exact to about 1e-5 relative."""
LEVEL_TOLERANCE_MtCO2e = 1e-9
"""Quantities below this [MtCO2e] are solver noise and reported as 0."""


def year_money(dual: float, d: ModelData, year: int) -> float:
    """Return the shadow price [CUR per tCO2e, money of `year`] of a `<=` restriction.

    Price = -dual / discount factor: the dual of a `<=` row in a minimisation is <= 0 and is
    in base-year money because the objective is discounted.
    """
    return float(-dual / d.discount_factor(year)) + 0.0


def _clean(x: float) -> float:
    """Return x, or 0.0 when it is solver noise below LEVEL_TOLERANCE_MtCO2e."""
    return 0.0 if abs(x) < LEVEL_TOLERANCE_MtCO2e else float(x)


def _values(sol: Solution, name: str) -> dict[Any, float]:
    """Return a component's values by key, solver noise reported as 0."""
    return {key: _clean(x) for key, x in sol.values(name).items()}


MSR_COLUMNS = [f.name for f in dataclasses.fields(ReserveYear)]
"""Columns of the `msr` sheet (after `case`): the reserve's operations per system-year."""


@dataclass
class CaseResults:
    """Result tables of one case (see docs/workbook.md for every column)."""

    case: str
    outcome: SolveOutcome
    prices: pd.DataFrame
    balances: pd.DataFrame
    transfers: pd.DataFrame
    costs: pd.DataFrame
    shadow_prices: pd.DataFrame
    offset_prices: pd.DataFrame
    offset_use: pd.DataFrame
    msr: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MSR_COLUMNS))


@dataclass
class Results:
    """Results of the linked and autarky cases of one run."""

    data: ModelData
    cases: dict[str, CaseResults]
    gains: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def columns(self) -> Columns:
        """Return the currency-aware column names."""
        return Columns(self.data.currency)

    def table(self, name: str) -> pd.DataFrame:
        """Return one per-case table for all cases, with a leading `case` column."""
        frames = [getattr(self.cases[c], name).assign(case=c) for c in CASES if c in self.cases]
        table = pd.concat(frames, ignore_index=True)
        return table[["case", *[c for c in table.columns if c != "case"]]]

    def price(self, case: str, system: str, year: int) -> float:
        """Return the allowance price [CUR per tCO2e, money of `year`]."""
        p = self.cases[case].prices
        row = p[(p["system"] == system) & (p["year"] == year)]
        return float(row[self.columns.price].iloc[0])

    def total_cost_pv(self, case: str) -> float:
        """Return the case's total compliance cost of all systems [M CUR, base-year money]."""
        return float(self.cases[case].costs[self.columns.money("compliance_cost", pv=True)].sum())


@dataclass
class ExploreTables:
    """The sheets of explore.xlsx but `run` (see docs/explore.md for every column)."""

    candidates: pd.DataFrame
    combinations: pd.DataFrame
    combination_gains: pd.DataFrame
    combination_prices: pd.DataFrame
    status_quo: pd.DataFrame
    status_quo_prices: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)

    def sheets(self) -> dict[str, pd.DataFrame]:
        """Return the sheets in workbook order."""
        return {
            "candidates": self.candidates,
            "combinations": self.combinations,
            "combination_gains": self.combination_gains,
            "combination_prices": self.combination_prices,
            "status_quo": self.status_quo,
            "status_quo_prices": self.status_quo_prices,
        }


@dataclass(frozen=True)
class _Flows:
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
def _flows(links: tuple[Link, ...], keys: tuple[tuple[str, int], ...]) -> _Flows:
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
    return _Flows(
        tuple(link_years),
        positions["j"],
        np.array(columns["coef"], dtype=float),
        np.array(columns["rate"], dtype=float),
        positions["from"],
        positions["to"],
    )


def _prices(sol: Solution, d: ModelData, discount: np.ndarray) -> np.ndarray:
    """Return the allowance price of each system-year [CUR per tCO2e, money of the year]."""
    duals = sol.duals("compliance")
    dual = np.fromiter((duals.get(k, 0.0) for k in d.system_years), float, len(discount))
    return -dual / discount + 0.0


def _offset_prices(sol: Solution, d: ModelData) -> dict[tuple[str, int], float]:
    duals = sol.duals("offset_market")
    return {(o, y): year_money(duals.get((o, y), 0.0), d, y) for o, y in sol.model.offset_markets}


def _offset_use(
    sol: Solution, offset_prices: dict[tuple[str, int], float], cols: Columns
) -> pd.DataFrame:
    """Return credits used per system, type and year, and what they cost at market price."""
    used = _values(sol, "offset_use_MtCO2e")
    rows = [
        (s, o, y, used.get((s, o, y), 0.0), used.get((s, o, y), 0.0) * offset_prices[o, y])
        for s, o, y in sol.model.offset_uses
    ]
    columns = ["system", "offset_type", "year", "quantity_MtCO2e", cols.money("payment")]
    return pd.DataFrame(rows, columns=columns)


def _transfers(
    flows: _Flows, quantity: np.ndarray, payment: np.ndarray, d: ModelData, cols: Columns
) -> pd.DataFrame:
    """Return each direction of each link-year: allowances moved and what the importer paid."""
    keys = d.system_years
    return pd.DataFrame(
        {
            "from_system": [keys[i][0] for i in flows.exporter],
            "to_system": [keys[i][0] for i in flows.importer],
            "year": [keys[i][1] for i in flows.exporter],
            "quantity_MtCO2e": quantity,
            "exchange_rate": flows.rate,
            "compliance_MtCO2e": quantity * flows.rate,
            cols.money("payment"): payment,
        }
    )


_BALANCE_ITEMS = (
    ("abatement_MtCO2e", "abatement_MtCO2e"),
    ("emissions_MtCO2e", "emissions_MtCO2e"),
    ("net_imports_MtCO2e", "net_imports_MtCO2e"),
    ("offsets_used_MtCO2e", "offsets_used_MtCO2e"),
    ("bank_MtCO2e", "bank_end_MtCO2e"),
    ("unsold_MtCO2e", "unsold_at_floor_MtCO2e"),
    ("ceiling_sales_MtCO2e", "ceiling_sales_MtCO2e"),
    ("supply_steps_MtCO2e", "supply_steps_MtCO2e"),
)
"""Model components read per system-year into `balances`, and their column names."""


def _balances(sol: Solution, d: ModelData) -> pd.DataFrame:
    """Return each system-year's allowance balance [MtCO2e].

    The bank of a system's last year is what it leaves unused (the balance's surplus).
    """
    items = {column: _values(sol, name) for name, column in _BALANCE_ITEMS}
    surplus = {key: _clean(x) for key, x in sol.slacks("compliance").items()}
    rows = []
    for s, y in d.system_years:
        row: dict[str, Any] = {
            "system": s,
            "year": y,
            "baseline_MtCO2e": d.baseline_MtCO2e[s, y],
            "cap_MtCO2e": d.cap_MtCO2e[s, y],
        }
        row |= {column: values.get((s, y), 0.0) for column, values in items.items()}
        if y == d.years_of(s)[-1]:
            row["bank_end_MtCO2e"] = surplus.get((s, y), 0.0)
        row["surplus_MtCO2e"] = surplus.get((s, y), 0.0)
        rows.append(row)
    columns = ["system", "year", "baseline_MtCO2e", "cap_MtCO2e"]
    columns += [c for _, c in _BALANCE_ITEMS] + ["surplus_MtCO2e"]
    return pd.DataFrame(rows, columns=columns)


COST_ITEMS = (
    ("abatement_cost", 1.0),
    ("offset_purchases", 1.0),
    ("ceiling_purchases", 1.0),
    ("supply_step_purchases", 1.0),
    ("transfer_fees_paid", 1.0),
    ("transfer_fee_revenue", -1.0),
    ("allowance_imports", 1.0),
    ("allowance_exports", -1.0),
)
"""Cost items per system-year, in `costs` column order, and their sign in the compliance
cost: money received (exports, the importer's own fee revenue) counts negative."""


def _cost_items(
    sol: Solution, d: ModelData, priced: _Priced, discount: np.ndarray, cols: Columns
) -> dict[str, np.ndarray]:
    """Return the compliance cost items per system-year [M CUR, money of the year].

    They are the columns of `costs` after system and year.
    """
    keys = d.system_years
    position = {key: i for i, key in enumerate(keys)}
    offsets = np.zeros(len(keys))
    for (s, o, y), used in _values(sol, "offset_use_MtCO2e").items():
        offsets[position[s, y]] += used * priced.offset_prices[o, y]
    ceiling = np.zeros(len(keys))
    for key, sold in _values(sol, "ceiling_sales_MtCO2e").items():
        ceiling[position[key]] = sold * (d.price_controls[key].ceiling_per_tCO2e or 0.0)
    released = np.zeros(len(keys))
    for (s, y, k), quantity in _values(sol, "released_MtCO2e").items():
        released[position[s, y]] += quantity * d.supply_steps[k].trigger_per_tCO2e
    fees = np.zeros(len(keys))
    for (name, y), paid in _values(sol, "transfer_fees_Mcur").items():
        link = d.link_of().get((name, y))  # none in autarky, where every link is off
        if link is not None:
            fees[position[link.to_system, y]] += paid
    exporter, importer = priced.flows.exporter, priced.flows.importer
    abatement = sol.values("abatement_cost_Mcur")
    items = (
        np.fromiter((abatement[k] for k in keys), float, len(keys)),
        offsets,
        ceiling,
        released,
        fees,
        fees,
        np.bincount(importer, priced.payment, minlength=len(keys)),
        np.bincount(exporter, priced.payment, minlength=len(keys)),
    )
    signs = np.array([sign for _, sign in COST_ITEMS])
    net = signs @ np.vstack(items)
    table = {cols.money(item): values for (item, _), values in zip(COST_ITEMS, items, strict=True)}
    table[cols.money("compliance_cost")] = net
    table[cols.money("compliance_cost", pv=True)] = net * discount
    table["discount_factor"] = discount
    return table


def _costs(d: ModelData, items: dict[str, np.ndarray]) -> pd.DataFrame:
    """Return the `costs` table: system, year and the cost items of `_cost_items`."""
    keys = d.system_years
    return pd.DataFrame({"system": [s for s, _ in keys], "year": [y for _, y in keys], **items})


def _restriction_rows(sol: Solution, d: ModelData) -> list[dict[str, Any]]:
    """Return a row per row of each declared restriction, with its year-money shadow price."""
    rows = []
    for declared in RESTRICTIONS:
        duals = sol.duals(declared.name)
        for key in getattr(sol.model, declared.name):
            shadow = year_money(duals.get(key, 0.0), d, key[-1])
            if declared.always_reported or abs(shadow) > SHADOW_TOLERANCE_per_tCO2e:
                system, counterpart, year = declared.locate(d, key)
                rows.append(
                    {
                        "restriction": declared.name,
                        "system": system,
                        "counterpart": counterpart,
                        "year": year,
                        "level_MtCO2e": _clean(declared.level(sol, d, key)),
                        "shadow": shadow,
                        "meaning": declared.meaning,
                    }
                )
    return rows


def _holding_rows(sol: Solution, prices: dict[tuple[str, int], float]) -> list[dict[str, Any]]:
    """Return a row per active floor or ceiling; its shadow price is the price it holds."""
    rows = []
    for holding in HOLDINGS:
        for (s, y), level in _values(sol, holding.variable).items():
            if level > LEVEL_TOLERANCE_MtCO2e:
                rows.append(
                    {
                        "restriction": holding.restriction,
                        "system": s,
                        "counterpart": "",
                        "year": y,
                        "level_MtCO2e": level,
                        "shadow": prices[s, y],
                        "meaning": holding.meaning,
                    }
                )
    return rows


FEE_MEANING = (
    "border fee per exporter allowance, paid by the importer's firms to its government: "
    "the importer's price exceeds the exporter's (times the rate) by it while the link is used"
)


def _fee_rows(sol: Solution, d: ModelData) -> list[dict[str, Any]]:
    """Return a row per used link-year with a border fee; its shadow price is the fee."""
    rows = []
    for (name, y), moved in _values(sol, "transfer_MtCO2e").items():
        link = d.link_of().get((name, y))
        if link is not None and link.fee_per_tCO2e > 0 and moved > LEVEL_TOLERANCE_MtCO2e:
            rows.append(
                {
                    "restriction": "transfer_fee",
                    "system": link.from_system,
                    "counterpart": link.to_system,
                    "year": y,
                    "level_MtCO2e": moved,
                    "shadow": link.fee_per_tCO2e,
                    "meaning": FEE_MEANING,
                }
            )
    return rows


def _shadow_prices(
    sol: Solution, d: ModelData, prices: dict[tuple[str, int], float], cols: Columns
) -> pd.DataFrame:
    """Return every binding restriction (and every credit market) with its shadow price."""
    columns = ["restriction", "system", "counterpart", "year", "level_MtCO2e", "shadow", "meaning"]
    rows = _restriction_rows(sol, d) + _holding_rows(sol, prices) + _fee_rows(sol, d)
    return pd.DataFrame(rows, columns=columns).rename(columns={"shadow": cols.shadow})


@dataclass
class _Priced:
    """What both a full case and a sweep draw read: prices, money flows and cost items."""

    prices: np.ndarray
    offset_prices: dict[tuple[str, int], float]
    flows: _Flows
    quantity: np.ndarray
    payment: np.ndarray
    costs: dict[str, np.ndarray] = field(default_factory=dict)
    """The columns of `costs` after system and year (see `_cost_items`)."""


def _priced(sol: Solution, d: ModelData, cols: Columns) -> _Priced:
    discount = np.fromiter((d.discount_factor(y) for _, y in d.system_years), float)
    prices = _prices(sol, d, discount)
    flows = _flows(d.links, d.system_years)
    quantity = flows.quantities(_values(sol, "transfer_MtCO2e"))
    payment = quantity * prices[flows.exporter]
    priced = _Priced(prices, _offset_prices(sol, d), flows, quantity, payment)
    priced.costs = _cost_items(sol, d, priced, discount, cols)
    return priced


def extract_case(case: str, sol: Solution, d: ModelData, outcome: SolveOutcome) -> CaseResults:
    """Return the result tables of one solved case."""
    cols = Columns(d.currency)
    priced = _priced(sol, d, cols)
    offset_prices = priced.offset_prices
    prices = dict(zip(d.system_years, priced.prices.tolist(), strict=True))
    return CaseResults(
        case=case,
        outcome=outcome,
        prices=pd.DataFrame(
            [{"system": s, "year": y, cols.price: p} for (s, y), p in prices.items()]
        ),
        balances=_balances(sol, d),
        transfers=_transfers(priced.flows, priced.quantity, priced.payment, d, cols),
        costs=_costs(d, priced.costs),
        shadow_prices=_shadow_prices(sol, d, prices, cols),
        offset_prices=pd.DataFrame(
            [{"offset_type": o, "year": y, cols.price: p} for (o, y), p in offset_prices.items()],
            columns=["offset_type", "year", cols.price],
        ),
        offset_use=_offset_use(sol, offset_prices, cols),
        msr=pd.DataFrame([dataclasses.astuple(r) for r in outcome.reserve], columns=MSR_COLUMNS),
    )


GAIN_ITEMS = ("compliance_cost", "allowance_imports", "allowance_exports", "offset_purchases")
"""Cost items summed, discounted, per system and case on the `gains` sheet."""


def gains(results: Results) -> pd.DataFrame:
    """Return per system the discounted cost items of each case, the gain and money abroad.

    Money paid abroad is allowance imports plus offset credit purchases [M CUR, PV].
    """
    cols = results.columns
    out = pd.DataFrame({"system": list(results.data.systems)})
    for case in CASES:
        costs = results.cases[case].costs
        for item in GAIN_ITEMS:
            discounted = (
                (costs[cols.money(item)] * costs["discount_factor"]).groupby(costs["system"]).sum()
            )
            out[cols.case_money(case, item)] = out["system"].map(discounted)
        out[cols.case_money(case, "paid_abroad")] = (
            out[cols.case_money(case, "allowance_imports")]
            + out[cols.case_money(case, "offset_purchases")]
        )
    autarky = out[cols.case_money("autarky", "compliance_cost")]
    gain = autarky - out[cols.case_money("linked", "compliance_cost")]
    out[cols.money("gain_from_linking", pv=True)] = gain
    out["gain_percent_of_autarky_cost"] = 100 * gain / autarky.where(autarky.abs() > 0)
    return out


def extract_draw(sol: Solution, d: ModelData) -> pd.DataFrame:
    """Return one sweep draw's rows: price, abatement and compliance cost per system-year.

    Needs the duals of (E11) and (E6) and the primal values of abatement, transfers, credit
    use and ceiling sales; nothing else.
    """
    cols = Columns(d.currency)
    priced = _priced(sol, d, cols)
    keys = d.system_years
    return pd.DataFrame(
        {
            "system": [s for s, _ in keys],
            "year": [y for _, y in keys],
            cols.price: priced.prices,
            cols.money("abatement_cost"): priced.costs[cols.money("abatement_cost")],
            cols.money("compliance_cost", pv=True): priced.costs[
                cols.money("compliance_cost", pv=True)
            ],
        }
    )
