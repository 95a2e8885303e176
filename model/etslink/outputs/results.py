"""Turn solved models into result tables; the only place where duals become prices."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from etslink.core.data import ModelData
from etslink.formulation import BALANCE_COLUMNS, COST_ITEMS, HELD, RESTRICTIONS
from etslink.formulation.compliance import price_pv
from etslink.instruments.border_adjustments import charges
from etslink.instruments.declarations import (
    BalanceColumn,
    Solved,
    by_system_year,
    clean,
    cleaned,
    cleaned_array,
)
from etslink.instruments.links import Flows, payments
from etslink.instruments.reserve import ReserveYear
from etslink.outputs.columns import Columns
from etslink.solving.cases import CASES
from etslink.solving.engine import Solution
from etslink.solving.stages import SolveOutcome

SHADOW_TOLERANCE_per_tCO2e = 1e-4
"""Shadow prices below this [CUR per tCO2e] count as zero (restriction not binding); HiGHS's
QP duals are exact to about 1e-5 relative."""


def year_money(dual: float, d: ModelData, year: int) -> float:
    """Return the shadow price [CUR per tCO2e, money of `year`] of a `<=` restriction.

    The price in base-year money (`price_pv`) divided by the year's discount factor.
    """
    return float(price_pv(dual) / d.discount_factor(year)) + 0.0


MSR_COLUMNS = [f.name for f in dataclasses.fields(ReserveYear)]
"""Columns of the `msr` sheet (after `case`): the reserve's operations per system-year."""


def case_name(case: str, d: ModelData) -> str:
    """Return a case's name in the outputs: the second case is `d.second_case`.

    Inside the model it is "autarky"; with links kept in it (`in_counterfactual`) the
    outputs call it "counterfactual".
    """
    return d.second_case if case == "autarky" else case


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
    border_adjustments: pd.DataFrame = field(default_factory=pd.DataFrame)
    intensity: pd.DataFrame = field(default_factory=pd.DataFrame)


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
        frames = [
            getattr(self.cases[c], name).assign(case=case_name(c, self.data))
            for c in CASES
            if c in self.cases
        ]
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


def _prices(sol: Solution, d: ModelData, discount: np.ndarray) -> np.ndarray:
    """Return the allowance price of each system-year [CUR per tCO2e, money of the year]."""
    duals = sol.duals("compliance")
    dual = np.fromiter((duals.get(k, 0.0) for k in d.system_years), float, len(discount))
    return price_pv(dual) / discount + 0.0


def _offset_prices(sol: Solution, d: ModelData) -> dict[tuple[str, int], float]:
    duals = sol.duals("offset_market")
    return {(o, y): year_money(duals.get((o, y), 0.0), d, y) for o, y in sol.model.offset_markets}


def _offset_use(
    sol: Solution, offset_prices: dict[tuple[str, int], float], cols: Columns
) -> pd.DataFrame:
    """Return credits used per system, type and year, and what they cost at market price."""
    used = cleaned(sol.values("offset_use_MtCO2e"))
    rows = [
        (s, o, y, used.get((s, o, y), 0.0), used.get((s, o, y), 0.0) * offset_prices[o, y])
        for s, o, y in sol.model.offset_uses
    ]
    columns = ["system", "offset_type", "year", "quantity_MtCO2e", cols.money("payment")]
    return pd.DataFrame(rows, columns=columns)


def _transfers(
    flows: Flows, quantity: np.ndarray, payment: np.ndarray, d: ModelData, cols: Columns
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


def _balances(sol: Solution, d: ModelData) -> pd.DataFrame:
    """Return each system-year's allowance balance [MtCO2e]: the instruments' columns.

    The surplus is what the balance (E11) leaves neither surrendered nor banked.
    """
    keys = d.system_years
    table: dict[str, Any] = {"system": [s for s, _ in keys], "year": [y for _, y in keys]}
    for column in BALANCE_COLUMNS:
        table[column.name] = _balance_column(sol, d, column)
    surplus = cleaned(sol.slacks("compliance"))
    table["surplus_MtCO2e"] = [surplus.get(key, 0.0) for key in keys]
    return pd.DataFrame(table)


def _balance_column(sol: Solution, d: ModelData, column: BalanceColumn) -> np.ndarray:
    """Return one `balances` column [MtCO2e] in `system_years` order, solver noise as 0."""
    return cleaned_array(by_system_year(d, column.read(sol, d)))


def _cost_items(
    sol: Solution, d: ModelData, priced: _Priced, discount: np.ndarray, cols: Columns
) -> dict[str, np.ndarray]:
    """Return the compliance cost items per system-year [M CUR, money of the year].

    They are the columns of `costs` after system and year: the instruments' cost items, then
    their total (money received counts negative), discounted, and the discount factor.
    """
    items = [item.value(sol, d, priced) for item in COST_ITEMS]
    net = np.array([item.sign for item in COST_ITEMS]) @ np.vstack(items)
    table = {cols.money(item.name): values for item, values in zip(COST_ITEMS, items, strict=True)}
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
                        "level_MtCO2e": clean(declared.level(sol, d, key)),
                        "shadow": shadow,
                        "meaning": declared.meaning,
                    }
                )
    return rows


def _held_rows(sol: Solution, d: ModelData, prices: dict[tuple[str, int], float]) -> list[dict]:
    """Return a row per price held at an input level (floor, ceiling, border fee)."""
    columns = ("system", "counterpart", "year", "level_MtCO2e", "shadow")
    return [
        {
            "restriction": held.restriction,
            **dict(zip(columns, row, strict=True)),
            "meaning": held.meaning,
        }
        for held in HELD
        for row in held.rows(sol, d, prices)
    ]


def _shadow_prices(
    sol: Solution, d: ModelData, prices: dict[tuple[str, int], float], cols: Columns
) -> pd.DataFrame:
    """Return every binding restriction (and every credit market) with its shadow price."""
    columns = ["restriction", "system", "counterpart", "year", "level_MtCO2e", "shadow", "meaning"]
    rows = _restriction_rows(sol, d) + _held_rows(sol, d, prices)
    return pd.DataFrame(rows, columns=columns).rename(columns={"shadow": cols.shadow})


@dataclass(frozen=True)
class _SystemYears:
    """Each system-year's position and discount factor: what a case's solutions share."""

    positions: dict[tuple[str, int], int]
    discount: np.ndarray
    """Each system-year's discount factor [base-year money per money of the year]."""

    @classmethod
    def of(cls, d: ModelData) -> _SystemYears:
        """Return the system-years of a case's data."""
        keys = d.system_years
        discount = np.fromiter((d.discount_factor(y) for _, y in keys), float, len(keys))
        return cls({key: i for i, key in enumerate(keys)}, discount)


@dataclass
class _Priced:
    """What both a full case and a sweep draw read: prices and cost items."""

    positions: dict[tuple[str, int], int]
    prices: np.ndarray
    offset_prices: dict[tuple[str, int], float]
    shared: dict[str, Any] = field(default_factory=dict)
    """What an instrument's cost items compute once for this solution (`Priced.shared`)."""
    costs: dict[str, np.ndarray] = field(default_factory=dict)
    """The columns of `costs` after system and year (see `_cost_items`)."""


def _priced(sol: Solution, d: ModelData, cols: Columns, years: _SystemYears) -> _Priced:
    discount = years.discount
    priced = _Priced(years.positions, _prices(sol, d, discount), _offset_prices(sol, d))
    priced.costs = _cost_items(sol, d, priced, discount, cols)
    return priced


def extract_case(case: str, sol: Solution, d: ModelData, outcome: SolveOutcome) -> CaseResults:
    """Return the result tables of one solved case."""
    cols = Columns(d.currency)
    priced = _priced(sol, d, cols, _SystemYears.of(d))
    flows, quantity, payment = payments(sol, d, priced)
    offset_prices = priced.offset_prices
    prices = dict(zip(d.system_years, priced.prices.tolist(), strict=True))
    return CaseResults(
        case=case,
        outcome=outcome,
        prices=pd.DataFrame(
            [{"system": s, "year": y, cols.price: p} for (s, y), p in prices.items()]
        ),
        balances=_balances(sol, d),
        transfers=_transfers(flows, quantity, payment, d, cols),
        costs=_costs(d, priced.costs),
        shadow_prices=_shadow_prices(sol, d, prices, cols),
        offset_prices=pd.DataFrame(
            [{"offset_type": o, "year": y, cols.price: p} for (o, y), p in offset_prices.items()],
            columns=["offset_type", "year", cols.price],
        ),
        offset_use=_offset_use(sol, offset_prices, cols),
        msr=pd.DataFrame([dataclasses.astuple(r) for r in outcome.reserve], columns=MSR_COLUMNS),
        border_adjustments=_border_adjustments(d, prices, cols),
        intensity=_intensity(sol, d),
    )


INTENSITY_COLUMNS = [
    "system",
    "year",
    "output_Munits",
    "allowances_issued_MtCO2e",
    "emissions_MtCO2e",
]
"""Columns of the `intensity` sheet (after `case`)."""


def _intensity(sol: Solution, d: ModelData) -> pd.DataFrame:
    """Return each intensity-based system-year's output, allowances issued and emissions."""
    if not d.intensity:
        return pd.DataFrame(columns=INTENSITY_COLUMNS)
    output = cleaned(sol.values("output_Munits"))
    issued = cleaned(sol.values("allowances_issued_MtCO2e"))
    emissions = cleaned(sol.values("emissions_MtCO2e"))
    rows = [(s, y, output[s, y], issued[s, y], emissions[s, y]) for s, y in sorted(d.intensity)]
    return pd.DataFrame(rows, columns=INTENSITY_COLUMNS)


def _border_adjustments(
    d: ModelData, prices: dict[tuple[str, int], float], cols: Columns
) -> pd.DataFrame:
    """Return each border adjustment's charge [CUR per tCO2e] and payment [M CUR]."""
    rows = [
        (
            c.row.importer,
            c.row.origin,
            c.row.year,
            c.row.embedded_MtCO2e,
            c.charge_per_tCO2e,
            c.paid_Mcur,
            "yes" if c.exempt else "no",
        )
        for c in charges(d, prices)
    ]
    columns = [
        "importer",
        "origin",
        "year",
        "embedded_MtCO2e",
        cols.per_tonne("charge"),
        cols.money("paid"),
        "exempt_linked",
    ]
    return pd.DataFrame(rows, columns=columns)


GAIN_ITEMS = ("compliance_cost", "allowance_imports", "allowance_exports", "offset_purchases")
"""Cost items summed, discounted, per system and case on the `gains` sheet."""
PAID_ABROAD_ITEMS = ("allowance_imports", "offset_purchases")
"""The cost items that are money paid abroad: allowances bought from other systems' firms
and offset credits."""


def paid_abroad(costs: Mapping[str, Any], name: Callable[[str], str]) -> Any:
    """Return money paid abroad [M CUR]: the sum of the PAID_ABROAD_ITEMS columns of `costs`.

    Args:
        costs: Cost items by column name (a table, or arrays), in money of the year or PV.
        name: The column name of a cost item, e.g. `Columns.money`.
    """
    first, *others = (costs[name(item)] for item in PAID_ABROAD_ITEMS)
    return sum(others, start=first)


def gains(results: Results) -> pd.DataFrame:
    """Return per system the discounted cost items of each case, the gain and money abroad.

    Money paid abroad is allowance imports plus offset credit purchases [M CUR, PV].
    """
    cols = results.columns
    out = pd.DataFrame({"system": list(results.data.systems)})
    for case in CASES:
        costs = results.cases[case].costs
        name = case_name(case, results.data)
        for item in GAIN_ITEMS:
            discounted = (
                (costs[cols.money(item)] * costs["discount_factor"]).groupby(costs["system"]).sum()
            )
            out[cols.case_money(name, item)] = out["system"].map(discounted)
        out[cols.case_money(name, "paid_abroad")] = paid_abroad(
            out, functools.partial(cols.case_money, name)
        )
    if results.data.border_adjustments:
        _border_gains(results, out)
    second = results.data.second_case
    alone = out[cols.case_money(second, "compliance_cost")]
    gain = alone - out[cols.case_money("linked", "compliance_cost")]
    out[cols.money("gain_from_linking", pv=True)] = gain
    out[f"gain_percent_of_{second}_cost"] = 100 * gain / alone.where(alone.abs() > 0)
    return out


def emissions_moved(balances: pd.DataFrame, second: str) -> pd.Series:
    """Return each system's emissions over all years, linked minus the second case [MtCO2e].

    Args:
        balances: A `balances` table of both cases, with its `case` column.
        second: The second case's name: `autarky`, or `counterfactual`.
    """
    totals = balances.groupby(["case", "system"], sort=False)["emissions_MtCO2e"].sum()
    return totals["linked"] - totals[second]


def gains_by_year(results: Results) -> pd.DataFrame:
    """Return per system and year the compliance cost of each case and the gain.

    In that year's money [M CUR] and discounted (`_pv`), and what the linked case pays
    abroad: the `gains` sheet's totals year by year, for windows and nominal sums.
    """
    cols = results.columns
    second = results.data.second_case
    cost = cols.money("compliance_cost")
    linked, alone = results.cases["linked"].costs, results.cases["autarky"].costs
    out = linked[["system", "year"]].copy()
    out[cols.money(f"{second}_compliance_cost")] = alone[cost].to_numpy()
    out[cols.money("linked_compliance_cost")] = linked[cost].to_numpy()
    gain = alone[cost].to_numpy() - linked[cost].to_numpy()
    out[cols.money("gain_from_linking")] = gain
    out[cols.money("gain_from_linking", pv=True)] = gain * linked["discount_factor"].to_numpy()
    out[cols.money("linked_paid_abroad")] = paid_abroad(linked, cols.money).to_numpy()
    return out


def _border_gains(results: Results, out: pd.DataFrame) -> None:
    """Add per case what each system's exporters pay at borders and what it collects.

    `<case>_border_adjustments_paid_pv` (as origin) and `_revenue_pv` (as importer) [M CUR,
    base-year money]; they are not part of the compliance cost, so not of the gain.
    """
    cols = results.columns
    for case in CASES:
        table = results.cases[case].border_adjustments
        discount = table["year"].map(results.data.discount_factor)
        paid = table[cols.money("paid")] * discount
        for item, by in (("paid", "origin"), ("revenue", "importer")):
            total = paid.groupby(table[by]).sum()
            column = cols.case_money(case_name(case, results.data), f"border_adjustments_{item}")
            out[column] = out["system"].map(total).fillna(0.0)


DRAW_BALANCES = ("emissions_MtCO2e", "net_imports_MtCO2e")
"""The `balances` columns a sweep draw's rows carry [MtCO2e]."""


def draw_results(cols: Columns) -> tuple[str, ...]:
    """Return the result columns of a sweep draw's rows, in order (see `DrawReader.read`)."""
    return (
        cols.price,
        cols.money("abatement_cost"),
        cols.money("compliance_cost", pv=True),
        *DRAW_BALANCES,
        cols.money("paid_abroad", pv=True),
    )


class DrawReader:
    """Reads the sweep rows of one case's solutions; what all of them share is found once."""

    def __init__(self, d: ModelData) -> None:
        """Find the case's system-years, their discount factors and the column names.

        Args:
            d: The case's data (its draws move only the numbers of the solution).
        """
        self.data = d
        self.cols = Columns(d.currency)
        self.years = _SystemYears.of(d)
        self.names = draw_results(self.cols)
        """The result columns of a draw's rows, in order."""
        self.balances = {
            c.name: c.read.component
            for c in BALANCE_COLUMNS
            if c.name in DRAW_BALANCES and isinstance(c.read, Solved)
        }
        """The component each DRAW_BALANCES column reads, by column name."""
        self._positions: dict[str, np.ndarray] = {}

    def read(self, sol: Solution) -> dict[str, np.ndarray]:
        """Return a solution's results per system-year, in `system_years` order.

        By column name (`names`): the allowance price [CUR per tCO2e, money of the year],
        the abatement cost [M CUR, money of the year], the compliance cost [M CUR, base-year
        money], emissions and net imports [MtCO2e] as on the `balances` sheet, and the
        money paid abroad [M CUR, base-year money]. Needs the duals of (E11) and (E6), the
        primal values of abatement, transfers, credit use and ceiling sales, and emissions
        (E1) and net imports (E3); nothing else.
        """
        priced = _priced(sol, self.data, self.cols, self.years)
        price, abatement, cost, *_, abroad = self.names
        return {
            price: priced.prices,
            abatement: priced.costs[abatement],
            cost: priced.costs[cost],
            **{name: self._balance(sol, name) for name in self.balances},
            abroad: paid_abroad(priced.costs, self.cols.money) * self.years.discount,
        }

    def _balance(self, sol: Solution, name: str) -> np.ndarray:
        """Return a `balances` column [MtCO2e] as `_balance_column` does, without a dict.

        Its component's values as an array, put in `system_years` order by positions found
        at the first draw (the same at every solution of the case); 0 where it has no key.
        """
        keys, values = sol.array(self.balances[name])
        positions = self._positions.get(name)
        if positions is None:
            position = {key: i for i, key in enumerate(keys)}
            wanted = [position.get(key, -1) for key in self.data.system_years]
            positions = self._positions[name] = np.array(wanted, dtype=np.int64)
        return cleaned_array(np.where(positions >= 0, values[positions], 0.0))


def extract_draw(sol: Solution, d: ModelData) -> pd.DataFrame:
    """Return one sweep draw's rows per system-year: the columns of `draw_results`."""
    keys = d.system_years
    return pd.DataFrame(
        {"system": [s for s, _ in keys], "year": [y for _, y in keys], **DrawReader(d).read(sol)}
    )
