"""Build inputs/example.xlsx from the sourced data in inputs/data/ (see docs/example.md).

Run: python inputs/build_example.py [OUTPUT.xlsx]

Every number comes from a CSV file in inputs/data/ whose rows cite sources.csv. The script
converts all money to EUR at 2019 ECB rates, derives the years the sources leave out (straight
lines between reported caps, reserve prices growing 5% plus inflation), and calibrates one MAC
slope factor per linked group so that the group's lead system matches its observed 2019 price.
For the EU-CH group, whose EU runs the Market Stability Reserve, it calibrates the factor under
each candidate foresight horizon and keeps the horizon whose EU prices 2019-2024 come closest
to the observed ones among those that pass its checks (`choose_horizon`). It writes the
variant without the reserve's invalidation next to the workbook
(<OUTPUT>_no_invalidation.xlsx) and the calibration's results to
inputs/data/calibration_*.csv.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from buildkit import (
    Table,
    linked_case,
    number,
    percent,
    read_csv,
    reserve_rows,
    search_factors,
    write_csv,
)
from etslink.api import run
from etslink.inputs.workbook import write_workbook
from etslink.outputs.results import CaseResults

DATA = Path(__file__).with_name("data")
YEARS = range(2018, 2031)
WCI_GROWTH = 1.075  # S21: 5% plus inflation (2.5%, assumed) a year
DISCOUNT_RATE = 0.075  # S37: nominal; the same 5% real plus 2.5% inflation
WCI_SYSTEMS = ("CA", "QC", "ON")
SCENARIO = "Linked carbon markets 2018-2030: EU-CH, California-Quebec(-Ontario), Tokyo-Saitama"
RESERVE_GROUP = "EU-CH"
HORIZONS: tuple[int | None, ...] = (None, 3, 5, 7, 9, 11)
"""Candidate foresight_years for the calibration (None = perfect foresight): see
docs/example.md, "The reserve and the market's foresight"."""
FIT_YEARS = range(2019, 2025)
"""Years of observed EU prices the horizon is chosen on (2018 is before the reserve)."""
FACTOR_BRACKET = (1e-3, 1e3)
"""Slope factors [EUR per tCO2e per MtCO2e] searched for every group's."""
NEAR = 1.01
"""The EU-CH factor in the model of all groups is searched within this ratio of the one
found for the group alone (they agree: see `choose_horizon`)."""
RESERVE_GAP_MtCO2e = 1e-3
"""Largest gap between the reserve's reported operations and the balances' supply change
that a candidate horizon's solution may show (see `reserve_gap`)."""
NO_INVALIDATION_FROM = 2027
"""First year without invalidation in the variant: the Commission proposed in April 2026 to
stop it (S54, S66); until a change takes effect the rules stay (S54)."""
FREE_PARAMETERS = (
    {"parameter": "mac_scale", "target": "EU+CH", "lower": 0.05, "upper": 20},
    {"parameter": "mac_scale", "target": "CA+QC+ON", "lower": 0.05, "upper": 20},
    {"parameter": "baseline_scale", "target": "CA+QC+ON", "lower": 0.7, "upper": 1.3},
    {"parameter": "foresight_years", "target": "*", "lower": 3, "upper": 11},
)
"""The workbook's `calibration` sheet, for `etslink calibrate inputs/example.xlsx` to try
(docs/calibrate.md); `etslink run` ignores it. Tokyo and Saitama have no observations."""
Figures = dict[tuple[str, str, int], float]
"""Prices [EUR per tCO2e], emissions and TNAC [MtCO2e] by (quantity, system, year)."""


def read(name: str) -> Table:
    """Return the rows of inputs/data/<name>.csv."""
    return read_csv(DATA, name)


def per_eur() -> dict[str, float]:
    """Return units of each currency per EUR (ECB 2019 averages, S36)."""
    return {r["currency"]: float(r["per_EUR"]) for r in read("exchange_rates")}


def to_eur(value: str | float, currency: str) -> float:
    """Return a price converted to EUR."""
    return float(value) / per_eur()[currency]


def system_years(system: dict[str, Any]) -> range:
    """Return the years a system takes part in."""
    return range(int(system["first_year"]), int(system["last_year"]) + 1)


def caps() -> dict[tuple[str, int], float]:
    """Return caps by (system, year): reported or derived rows, straight lines in between."""
    given: dict[str, dict[int, float]] = {}
    for r in read("caps"):
        given.setdefault(r["system"], {})[int(r["year"])] = float(r["cap_MtCO2e"])
    out = {}
    for system, points in given.items():
        years = sorted(points)
        for y0, y1 in zip(years, years[1:], strict=False):
            for y in range(y0, y1 + 1):
                out[system, y] = round(
                    points[y0] + (points[y1] - points[y0]) * (y - y0) / (y1 - y0), 3
                )
        out[system, years[0]] = points[years[0]]
    return out


def baseline(system: dict[str, Any], year: int) -> float:
    """Return the no-carbon-price emissions (S38, S39) [MtCO2e]."""
    trend = float(system["baseline_trend_per_year"])
    return round(float(system["baseline_2018_MtCO2e"]) * (1 + trend) ** (year - 2018), 3)


def intercept(group: str, factor: float) -> float:
    """Return the group's MAC intercept [EUR per tCO2e] (S40).

    The lead's MAC passes through its observed (abatement, price) point of the reference year.
    """
    target = targets()[group]
    if target["abatement"] is None:
        return 0.0
    return max(0.0, target["price"] - factor * target["abatement"])


def slope(system: dict[str, Any], factor: float, lead_baseline: float) -> float:
    """Return the MAC slope: the group's factor scaled by 1/baseline (S40)."""
    return factor * lead_baseline / float(system["baseline_2018_MtCO2e"])


def targets() -> dict[str, dict[str, Any]]:
    """Return per group the lead system, year, observed price [EUR] and abatement [Mt]."""
    systems = {r["system"]: r for r in read("systems")}
    out = {}
    for r in read("calibration"):
        year = int(r["reference_year"])
        emissions = r["observed_emissions_MtCO2e"]
        out[r["group"]] = {
            "lead": r["lead_system"],
            "year": year,
            "price": to_eur(r["observed_price"], r["currency"]),
            "abatement": (baseline(systems[r["lead_system"]], year) - float(emissions))
            if emissions
            else None,
        }
    return out


def price_controls() -> Table:
    """Return CA/QC/ON floors and ceilings in EUR, grown by WCI_GROWTH after the last given."""
    given = {int(r["year"]): r for r in read("price_controls")}
    floor = ceiling = 0.0
    rows = []
    for y in YEARS:
        row = given.get(y, {})
        floor = float(row["floor_price"]) if row.get("floor_price") else floor * WCI_GROWTH
        ceiling = (
            float(row["ceiling_price"]) if row.get("ceiling_price") else (ceiling * WCI_GROWTH)
        )
        for system in WCI_SYSTEMS:
            if system != "ON" or y == 2018:
                rows.append(
                    {
                        "system": system,
                        "year": y,
                        "floor_price_per_tCO2e": round(to_eur(floor, "USD"), 2),
                        "ceiling_price_per_tCO2e": round(to_eur(ceiling, "USD"), 2),
                    }
                )
    return rows


def offsets() -> Table:
    """Return the credit supply steps per year."""
    return [
        {
            "offset_type": r["offset_type"],
            "year": y,
            "supply_MtCO2e": float(r["supply_MtCO2e"]),
            "price_per_tCO2e": round(to_eur(r["price"], r["currency"]), 2),
        }
        for r in read("offsets")
        for y in range(int(r["first_year"]), int(r["last_year"]) + 1)
    ]


def offset_rules() -> Table:
    """Return one rule per system, credit type and period of constant limits."""
    return [
        {
            "system": r["system"],
            "offset_type": r["offset_type"],
            "max_share_of_emissions": float(r["max_share_of_emissions"]),
            "first_year": int(r["first_year"]),
            "last_year": int(r["last_year"]),
        }
        for r in read("offset_rules")
    ]


def reserve(invalidation_until: int | None = None) -> Table:
    """Return the reserve's rules by period (sheet msr, S55-S60).

    With `invalidation_until`, no holdings are invalidated after that year (the variant of
    the Commission's 2026 proposal): the period running past it is split there.
    """
    rows = reserve_rows(DATA)
    if invalidation_until is None:
        return rows
    out = []
    for row in rows:
        if row["last_year"] > invalidation_until >= row["first_year"]:
            out.append(row | {"last_year": invalidation_until})
            row = row | {"first_year": invalidation_until + 1}
        if row["first_year"] > invalidation_until:
            row = {k: v for k, v in row.items() if k != "holdings_limit_MtCO2e"}
        out.append(row)
    return out


def settings(horizon: int | None, scenario: str = SCENARIO) -> Table:
    """Return the settings rows; `horizon` is foresight_years (None = perfect foresight)."""
    rows: Table = [
        {"key": "scenario_name", "value": scenario},
        {"key": "currency", "value": "EUR"},
        {"key": "base_year", "value": 2019},
        {"key": "discount_rate", "value": DISCOUNT_RATE},
        {"key": "draws", "value": 50},
        {"key": "seed", "value": 2019},
    ]
    if horizon is not None:
        rows.append({"key": "foresight_years", "value": horizon})
    return rows


def tables(
    factors: dict[str, float],
    horizon: int | None,
    groups: Collection[str] | None = None,
    invalidation_until: int | None = None,
) -> dict[str, Table]:
    """Return the workbook's tables for the given MAC slope factor of each group.

    Args:
        factors: Slope factor of each group (those of `groups` at least).
        horizon: foresight_years, or None for perfect foresight.
        groups: Only these linked groups' systems (the calibration solves groups apart).
        invalidation_until: Last year of the reserve's invalidation (None: the rules as they
            are; see `reserve`).
    """
    systems = [r for r in read("systems") if groups is None or r["group"] in groups]
    kept = {r["system"] for r in systems}
    leads = {r["group"]: r["lead_system"] for r in read("calibration")}
    base = {r["system"]: float(r["baseline_2018_MtCO2e"]) for r in read("systems")}
    cap = caps()
    rules = [r for r in offset_rules() if r["system"] in kept]
    credit_types = {r["offset_type"] for r in rules}
    scenario = SCENARIO
    if invalidation_until is not None:
        scenario += f", MSR without invalidation from {invalidation_until + 1}"
    out = {
        "settings": settings(horizon, scenario),
        "systems": [
            {k: r[k] for k in ("system", "name", "banking")}
            | {k: float(r[k]) for k in ("borrowing_limit_MtCO2e", "initial_bank_MtCO2e")}
            for r in systems
        ],
        "emissions": [
            {
                "system": r["system"],
                "year": y,
                "baseline_MtCO2e": baseline(r, y),
                "cap_MtCO2e": cap[r["system"], y],
            }
            for r in systems
            for y in system_years(r)
        ],
        "mac_linear": [
            {
                "system": r["system"],
                "year": y,
                "intercept_per_tCO2e": intercept(r["group"], factors[r["group"]]),
                "slope_per_tCO2e_per_MtCO2e": slope(
                    r, factors[r["group"]], base[leads[r["group"]]]
                ),
            }
            for r in systems
            for y in system_years(r)
        ],
        "links": [
            {k: number(v) for k, v in r.items() if k != "source_id" and v != ""}
            for r in read("links")
            if r["from_system"] in kept
        ],
        "offsets": [r for r in offsets() if r["offset_type"] in credit_types],
        "offset_rules": rules,
        "price_controls": [r for r in price_controls() if r["system"] in kept],
        "msr": [r for r in reserve(invalidation_until) if r["system"] in kept],
        "uncertainty": [
            {
                k: (float(v) if k in ("mean", "sd") else v or None)
                for k, v in r.items()
                if k != "source_id"
            }
            for r in read("uncertainty")
            if r["target"] in kept
        ],
        "observed": [r for r in observed_sheet() if r["system"] in kept],
        "calibration": list(FREE_PARAMETERS) if groups is None else [],
    }
    return {name: rows for name, rows in out.items() if rows}


def solution(case: CaseResults) -> Figures:
    """Return prices [EUR per tCO2e], emissions and TNAC [MtCO2e] by (quantity, system, year)."""
    out = {("price", r.system, r.year): r.price_EUR_per_tCO2e for r in case.prices.itertuples()}
    for r in case.balances.itertuples():
        out["emissions", r.system, r.year] = r.emissions_MtCO2e
        out["tnac", r.system, r.year] = r.bank_end_MtCO2e
    return out


def calibrate(
    groups: Collection[str],
    horizon: int | None,
    steps: list[int] | None = None,
    others: Mapping[str, float] | None = None,
    near: Mapping[str, float] | None = None,
) -> dict[str, float | None]:
    """Return per group the slope factor at which the lead system's price is the observed.

    The intercept follows from the factor (the MAC passes through the observed point), so at
    the observed price the lead also abates the observed amount. The groups are not linked to
    each other, so one model of them all takes each group's next trial factor at once. None
    for a group whose lead does not reach the observed price at any factor searched.

    Args:
        groups: The linked groups to calibrate.
        horizon: foresight_years of the model (None = perfect foresight).
        steps: If given, the number of solves is appended to it.
        others: Further groups in the model, held at these factors.
        near: A group's factor is searched within NEAR of this guess instead of
            FACTOR_BRACKET.
    """
    goal = {g: t for g, t in targets().items() if g in groups}
    guess = near or {}
    held = dict(others or {})

    def mismatch(factors: dict[str, float]) -> dict[str, float]:
        case = solution(linked_case(tables(factors | held, horizon, [*goal, *held])))
        return {g: case["price", t["lead"], t["year"]] / t["price"] - 1 for g, t in goal.items()}

    brackets = {
        g: (guess[g] / NEAR, guess[g] * NEAR) if g in guess else FACTOR_BRACKET for g in goal
    }
    return search_factors(brackets, mismatch, steps)


def observed_sheet() -> Table:
    """Return the `observed` sheet: inputs/data/observed.csv, prices in EUR.

    Prices are converted at the 2019 rates that convert the workbook's other money (S36),
    so that model and observation share one currency; each row names its sources.
    """
    return [
        {
            "system": r["system"],
            "year": int(r["year"]),
            "quantity": r["quantity"],
            "value": to_eur(r["value"], r["currency"]) if r["currency"] else float(r["value"]),
            "source": f"{r['status']}; inputs/data/sources.csv {r['source_id'].replace(';', ', ')}",
        }
        for r in read("observed")
    ]


def observed(quantity: str) -> dict[int, float]:
    """Return the observed EU series of a quantity ("price" or "bank") by year."""
    return {
        int(r["year"]): float(r["value"])
        for r in read("observed")
        if r["system"] == "EU" and r["quantity"] == quantity
    }


def misfit(case: Figures) -> float:
    """Return the largest |model / observed - 1| of the EU prices in FIT_YEARS."""
    prices = observed("price")
    return max(abs(case["price", "EU", y] / prices[y] - 1) for y in FIT_YEARS)


def reserve_gap(case: CaseResults) -> float:
    """Return the largest gap [MtCO2e] between the reserve's operations and the EU's balances.

    At a market equilibrium under the reserve (E11, E15) the release less the intake on the
    msr sheet, which the rules give for the solution's TNAC path, is exactly the supply
    change that closes the EU's allowance balances. A gap means the solution is not one the
    reserve's rules give for its own TNAC path.
    """
    balances = case.balances[case.balances["system"] == "EU"].sort_values("year")
    reserve_rows = case.msr[case.msr["system"] == "EU"].set_index("year")
    carried = float(next(r for r in read("systems") if r["system"] == "EU")["initial_bank_MtCO2e"])
    largest = 0.0
    for r in balances.itertuples():
        owed = r.emissions_MtCO2e + r.bank_end_MtCO2e + r.unsold_at_floor_MtCO2e
        available = (
            r.cap_MtCO2e
            + carried
            + r.net_imports_MtCO2e
            + r.offsets_used_MtCO2e
            + r.ceiling_sales_MtCO2e
            + r.supply_steps_MtCO2e
        )
        operation = reserve_rows.loc[r.year]
        reported = operation.release_MtCO2e - operation.intake_MtCO2e
        largest = max(largest, abs(owed - available - reported))
        carried = r.bank_end_MtCO2e
    return largest


def candidate(horizon: int | None) -> dict[str, Any]:
    """Return one foresight candidate's calibration and fit (EU-CH solved alone).

    Keys: foresight_years, solves, slope factor ("none" where no factor reaches the
    observed 2019 price), the EU prices of FIT_YEARS, the largest deviation [%] and the
    reserve's consistency gap [MtCO2e].
    """
    steps: list[int] = []
    factor = calibrate([RESERVE_GROUP], horizon, steps)[RESERVE_GROUP]
    row: dict[str, Any] = {"foresight_years": horizon or "perfect", "solves": steps[0]}
    if factor is None:
        return row | {"slope_factor_EUR_per_tCO2e_per_MtCO2e": "none"}
    case = linked_case(tables({RESERVE_GROUP: factor}, horizon, [RESERVE_GROUP]))
    found = solution(case)
    return row | {
        "slope_factor_EUR_per_tCO2e_per_MtCO2e": f"{factor:.6g}",
        **{f"price_EU_{y}": round(found["price", "EU", y], 2) for y in FIT_YEARS},
        "largest_deviation_percent": round(100 * misfit(found), 1),
        "reserve_gap_MtCO2e": round(reserve_gap(case), 3),
    }


def choose_horizon(
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[int | None, dict[str, float], Table]:
    """Return the chosen horizon, every group's slope factor under it, and each candidate.

    Each candidate horizon gets the EU-CH factor that gives the EU's observed 2019 price;
    the candidates are ranked by the largest deviation from the observed EU prices
    2019-2024. The first that passes the checks wins: its solution is consistent with the
    reserve's rules (reserve_gap below RESERVE_GAP_MtCO2e), and every group's lead reaches
    its observed 2019 price under it (foresight_years is one setting for all). The other
    groups are calibrated in one model without EU-CH; then the EU-CH factor again in the
    model of all groups, the one shipped. It is the factor found alone, since the smallest
    transfers (E14) are one choice per linked group (the banks of the EU and Switzerland,
    hence the EU's TNAC, do not depend on the other groups); the search checks it.
    """
    rows = []
    for horizon in HORIZONS:
        rows.append(candidate(horizon))
        progress(f"foresight {rows[-1]['foresight_years']}: {rows[-1]}")
    columns = list(max(rows, key=len))
    rows = [{c: r.get(c, "") for c in columns} | {"chosen": "no"} for r in rows]
    ranked = sorted(
        (r for r in rows if r["largest_deviation_percent"] != ""),
        key=lambda r: r["largest_deviation_percent"],
    )
    for row in ranked:
        if row["reserve_gap_MtCO2e"] > RESERVE_GAP_MtCO2e:
            continue
        horizon = None if row["foresight_years"] == "perfect" else int(row["foresight_years"])
        found = calibrate([g for g in targets() if g != RESERVE_GROUP], horizon)
        others = {g: f for g, f in found.items() if f is not None}
        if len(others) < len(found):
            continue
        guess = {RESERVE_GROUP: float(row["slope_factor_EUR_per_tCO2e_per_MtCO2e"])}
        factor = calibrate([RESERVE_GROUP], horizon, others=others, near=guess)[RESERVE_GROUP]
        if factor is None:  # not within NEAR of the factor found alone
            factor = calibrate([RESERVE_GROUP], horizon, others=others)[RESERVE_GROUP]
        if factor is not None:
            row["chosen"] = "yes"
            return horizon, {RESERVE_GROUP: factor} | others, rows
    msg = "no candidate horizon passes the checks; see the lines printed above"
    raise RuntimeError(msg)


def calibration_report(case: Figures) -> Table:
    """Return model vs observed figures: the calibration targets and the other checks."""
    observed_rows = []
    for r in read("calibration"):
        system, year = r["lead_system"], int(r["reference_year"])
        price = to_eur(r["observed_price"], r["currency"])
        observed_rows.append(("price", system, year, price, "target"))
        if r["observed_emissions_MtCO2e"]:
            emissions = float(r["observed_emissions_MtCO2e"])
            observed_rows.append(("emissions", system, year, emissions, "target"))
    for r in read("checks"):
        value = float(r["value"])
        if r["quantity"] == "price":
            value = to_eur(value, r["currency"])
        observed_rows.append((r["quantity"], r["system"], int(r["year"]), value, "check"))
    return [
        {
            "quantity": q,
            "system": s,
            "year": y,
            "role": role,
            "unit": "EUR per tCO2e" if q == "price" else "MtCO2e",
            "observed": round(value, 2),
            "model": round(case[q, s, y], 2),
            "difference_percent": percent(case[q, s, y], value),
        }
        for q, s, y, value, role in observed_rows
    ]


def fit(workbook: Path) -> Table:
    """Return etslink's `fit` of the built workbook: every observation against the model."""
    rows = []
    for r in run(workbook).fit.itertuples(index=False):
        rows.append(
            {
                "quantity": r.quantity,
                "system": r.system,
                "year": r.year,
                "observed": round(r.observed, 2),
                "model": round(r.model, 2),
                "difference_percent": percent(r.model, r.observed),
            }
        )
    return rows


def no_invalidation(with_rules: Figures, without: Figures) -> Table:
    """Return the EU's prices 2024-2030 with and without the reserve's invalidation."""
    return [
        {
            "year": y,
            "price_EU": round(with_rules["price", "EU", y], 2),
            "price_EU_no_invalidation": round(without["price", "EU", y], 2),
            "difference_percent": percent(without["price", "EU", y], with_rules["price", "EU", y]),
        }
        for y in YEARS
        if y >= 2024
    ]


def main(
    output: Path, results: Path = DATA, progress: Callable[[str], None] = lambda _: None
) -> None:
    """Calibrate, write the workbook, its variant, and the calibration's results to `results`."""
    horizon, factors, horizons = choose_horizon(progress)
    full = tables(factors, horizon)
    write_workbook(output, full)
    variant = tables(factors, horizon, invalidation_until=NO_INVALIDATION_FROM - 1)
    write_workbook(output.with_name(f"{output.stem}_no_invalidation.xlsx"), variant)
    case = solution(linked_case(full))
    without = solution(linked_case(variant))
    write_csv(
        results,
        "calibration_result",
        [
            {
                "group": g,
                "slope_factor_EUR_per_tCO2e_per_MtCO2e": f"{factors[g]:.6g}",
                "intercept_EUR_per_tCO2e": f"{intercept(g, factors[g]):.4g}",
            }
            for g in targets()
        ],
    )
    write_csv(results, "calibration_foresight", horizons)
    write_csv(results, "calibration_check", calibration_report(case))
    write_csv(results, "calibration_fit", fit(output))
    write_csv(results, "calibration_no_invalidation", no_invalidation(case, without))


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("example.xlsx"),
        progress=lambda message: sys.stderr.write(f"{message}\n"),
    )
