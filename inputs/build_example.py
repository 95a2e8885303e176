"""Build inputs/example.xlsx from the sourced data in inputs/data/ (see docs/example.md).

Run: python inputs/build_example.py [OUTPUT.xlsx]

Every number comes from a CSV file in inputs/data/ whose rows cite sources.csv. The script
converts all money to EUR at 2019 ECB rates, derives the years the sources leave out (straight
lines between reported caps, reserve prices growing 5% plus inflation), and calibrates one MAC
slope factor per linked group so that the group's lead system matches its observed 2019 price.
It writes the calibration result to inputs/data/calibration_result.csv.
"""

from __future__ import annotations

import csv
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from etslink.pipeline import load_workbook
from etslink.results import extract_case
from etslink.solve import solve_case
from etslink.workbook import write_workbook

DATA = Path(__file__).with_name("data")
YEARS = range(2018, 2031)
WCI_GROWTH = 1.075  # S21: 5% plus inflation (2.5%, assumed) a year
DISCOUNT_RATE = 0.075  # S37: nominal; the same 5% real plus 2.5% inflation
WCI_SYSTEMS = ("CA", "QC", "ON")
CALIBRATION_STEPS = 40
SCENARIO = "Linked carbon markets 2018-2030: EU-CH, California-Quebec(-Ontario), Tokyo-Saitama"
Table = list[dict[str, Any]]


def read(name: str) -> Table:
    """Return the rows of inputs/data/<name>.csv."""
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


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


def tables(factors: dict[str, float]) -> dict[str, Table]:
    """Return the workbook's tables for the given MAC slope factor of each group."""
    systems = read("systems")
    leads = {r["group"]: r["lead_system"] for r in read("calibration")}
    base = {r["system"]: float(r["baseline_2018_MtCO2e"]) for r in systems}
    cap = caps()
    return {
        "settings": [
            {"key": "scenario_name", "value": SCENARIO},
            {"key": "currency", "value": "EUR"},
            {"key": "base_year", "value": 2019},
            {"key": "discount_rate", "value": DISCOUNT_RATE},
            {"key": "draws", "value": 50},
            {"key": "seed", "value": 2019},
        ],
        "systems": [
            {
                k: r[k]
                for k in (
                    "system",
                    "name",
                    "banking",
                    "borrowing_limit_MtCO2e",
                    "initial_bank_MtCO2e",
                )
            }
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
            {k: v for k, v in r.items() if k != "source_id" and v != ""} for r in read("links")
        ],
        "offsets": offsets(),
        "offset_rules": offset_rules(),
        "price_controls": price_controls(),
        "uncertainty": [
            {
                k: (float(v) if k in ("mean", "sd") else v or None)
                for k, v in r.items()
                if k != "source_id"
            }
            for r in read("uncertainty")
        ],
    }


def linked_solution(factors: dict[str, float]) -> dict[tuple[str, str, int], float]:
    """Return the linked case's prices [EUR per tCO2e] and emissions [MtCO2e].

    Keys are (quantity, system, year) with quantity "price" or "emissions".
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "calibration.xlsx"
        write_workbook(path, tables(factors))
        data, _ = load_workbook(path)
    model, outcome = solve_case("linked", data)
    case = extract_case("linked", model, data, outcome)
    out = {("price", r.system, r.year): r.price_EUR_per_tCO2e for r in case.prices.itertuples()}
    out |= {("emissions", r.system, r.year): r.emissions_MtCO2e for r in case.balances.itertuples()}
    return out


def calibrate() -> dict[str, float]:
    """Return per group the slope factor at which the lead system's price is the observed.

    The intercept follows from the factor (the MAC passes through the observed point), so at
    the observed price the lead also abates the observed amount. Bisection on log(factor):
    the lead's price rises with its group's factor; groups are not linked to each other, so
    all are bisected at once.
    """
    goal = targets()
    low = {g: math.log(1e-5) for g in goal}
    high = {g: math.log(1e2) for g in goal}
    for _ in range(CALIBRATION_STEPS):
        middle = {g: (low[g] + high[g]) / 2 for g in goal}
        solution = linked_solution({g: math.exp(v) for g, v in middle.items()})
        for g, t in goal.items():
            if solution["price", t["lead"], t["year"]] < t["price"]:
                low[g] = middle[g]
            else:
                high[g] = middle[g]
    return {g: math.exp((low[g] + high[g]) / 2) for g in goal}


def calibration_report(factors: dict[str, float]) -> Table:
    """Return model vs observed figures: the calibration targets and the other checks."""
    solution = linked_solution(factors)
    observed = []
    for r in read("calibration"):
        system, year = r["lead_system"], int(r["reference_year"])
        price = to_eur(r["observed_price"], r["currency"])
        observed.append(("price", system, year, price, "target"))
        if r["observed_emissions_MtCO2e"]:
            emissions = float(r["observed_emissions_MtCO2e"])
            observed.append(("emissions", system, year, emissions, "target"))
    for r in read("checks"):
        value = float(r["value"])
        if r["quantity"] == "price":
            value = to_eur(value, r["currency"])
        observed.append((r["quantity"], r["system"], int(r["year"]), value, "check"))
    return [
        {
            "quantity": q,
            "system": s,
            "year": y,
            "role": role,
            "unit": "EUR per tCO2e" if q == "price" else "MtCO2e",
            "observed": round(value, 2),
            "model": round(solution[q, s, y], 2),
            # + 0.0: a rounded -0.0 is written as 0.0
            "difference_percent": round(100 * (solution[q, s, y] / value - 1), 1) + 0.0,
        }
        for q, s, y, value, role in observed
    ]


def main(output: Path) -> None:
    """Calibrate, write the workbook and the calibration report."""
    factors = calibrate()
    write_workbook(output, tables(factors))
    with (DATA / "calibration_result.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["group", "slope_factor_EUR_per_tCO2e_per_MtCO2e", "intercept_EUR_per_tCO2e"]
        )
        for group, factor in factors.items():
            writer.writerow([group, f"{factor:.6g}", f"{intercept(group, factor):.4g}"])
    report = calibration_report(factors)
    with (DATA / "calibration_check.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(report[0]))
        writer.writeheader()
        writer.writerows(report)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("example.xlsx"))
