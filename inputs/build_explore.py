"""Build inputs/explore.xlsx from the sourced data in inputs/data/explore/ (docs/explore.md).

Run: python inputs/build_explore.py [OUTPUT.xlsx]

Eight systems (EU, UK, California, Quebec, Washington, Korea, New Zealand, China's national
ETS), 2026-2035, with the links in force (California-Quebec) and the candidate links on the
table (EU-UK, Washington with California-Quebec, and two hypothetical ones: Korea-China and
New Zealand-EU). Every number comes from a CSV file in inputs/data/explore/ whose rows cite
its sources.csv (X1-X51). The script converts money to EUR at the ECB's 2025 averages and
calibrates one MAC slope factor per group (`calibrate`); it writes the workbook under each
assumed cap scenario of caps_alternatives.csv to inputs/explore_caps/ and the calibration's
results to inputs/data/explore/calibration_*.csv.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
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
from etslink.inputs.workbook import write_workbook

DATA = Path(__file__).with_name("data") / "explore"
FIRST_YEAR = 2026
FACTOR_BRACKET = (1e-4, 1e3)
"""Slope factors [EUR per tCO2e per MtCO2e] searched for every group's."""
Figures = dict[tuple[str, str, int], float]
"""Prices [EUR per tCO2e] and emissions [MtCO2e] by (quantity, system, year)."""


def read(name: str) -> Table:
    """Return the rows of inputs/data/explore/<name>.csv."""
    return read_csv(DATA, name)


def settings() -> dict[str, str]:
    """Return the settings (scenario_name, currency, base_year, discount_rate)."""
    return {r["key"]: r["value"] for r in read("settings")}


def discount_rate() -> float:
    """Return the discount rate per year (X45)."""
    return float(settings()["discount_rate"])


def to_eur(value: str | float, currency: str) -> float:
    """Return an amount converted to EUR at the ECB's 2025 average rate (X44)."""
    rates = {r["currency"]: float(r["per_EUR"]) for r in read("exchange_rates")}
    return float(value) / rates[currency]


def systems() -> dict[str, dict[str, str]]:
    """Return the rows of systems.csv by system id."""
    return {r["system"]: r for r in read("systems")}


def baseline(system: str, year: int) -> float:
    """Return the no-carbon-price emissions [MtCO2e] (X46): the 2026 value and its trend."""
    row = systems()[system]
    trend = float(row["baseline_trend_per_year"])
    return float(row["baseline_2026_MtCO2e"]) * (1 + trend) ** (year - FIRST_YEAR)


def targets() -> dict[str, dict[str, Any]]:
    """Return per group its lead, observed point and target price in the first model year.

    Keys: lead, year (the observed year, 2025), observed (price [EUR per tCO2e]), abatement
    (baseline minus observed emissions that year [MtCO2e], None where emissions were not
    found) and target: the observed price carried to 2026 at the discount rate, the price
    path of a market whose firms bank allowances (Hotelling), which the EU's early-2026
    price bears out (X51: 81.03 against 75 x 1.075 = 80.63).
    """
    out = {}
    for r in read("calibration"):
        year, price = int(r["reference_year"]), to_eur(r["observed_price"], r["currency"])
        emissions = r["observed_emissions_MtCO2e"]
        out[r["group"]] = {
            "lead": r["lead_system"],
            "year": year,
            "observed": price,
            "abatement": baseline(r["lead_system"], year) - float(emissions) if emissions else None,
            "target": price * (1 + discount_rate()) ** (FIRST_YEAR - year),
        }
    return out


def intercept(group: str, factor: float) -> float:
    """Return the group's MAC intercept [EUR per tCO2e].

    The lead's MAC passes through its observed (abatement, price) point; through zero where
    the observed emissions were not found.
    """
    goal = targets()[group]
    if goal["abatement"] is None:
        return 0.0
    return max(0.0, goal["observed"] - factor * goal["abatement"])


def slope(system: str, factor: float) -> float:
    """Return the MAC slope [EUR per tCO2e per MtCO2e]: the factor scaled by lead/own baseline.

    Within a group, a system with a smaller baseline has a proportionally steeper MAC: the
    same price abates the same share of baseline emissions.
    """
    lead = targets()[systems()[system]["group"]]["lead"]
    return factor * baseline(lead, FIRST_YEAR) / baseline(system, FIRST_YEAR)


def years(system: str) -> range:
    """Return the years the system takes part in."""
    row = systems()[system]
    return range(int(row["first_year"]), int(row["last_year"]) + 1)


def price_controls() -> Table:
    """Return floors and ceilings in EUR (sheet price_controls)."""
    rows = []
    for r in read("price_controls"):
        row: dict[str, Any] = {"system": r["system"], "year": int(r["year"])}
        for column in ("floor_price", "ceiling_price"):
            if r[column]:
                row[f"{column}_per_tCO2e"] = round(to_eur(r[column], r["currency"]), 2)
        rows.append(row)
    return rows


def supply_steps() -> Table:
    """Return the price-triggered supply in EUR (sheet supply_steps)."""
    return [
        {
            "system": r["system"],
            "year": int(r["year"]),
            "trigger_price_per_tCO2e": round(
                to_eur(r["trigger_price_per_tCO2e"], r["currency"]), 2
            ),
            "quantity_MtCO2e": float(r["quantity_MtCO2e"]),
        }
        for r in read("supply_steps")
    ]


def links(name: str) -> Table:
    """Return the rows of links.csv or candidates.csv as workbook rows."""
    keep = ("from_system", "to_system", "direction", "exchange_rate", "max_transfer_MtCO2e")
    keep += ("first_year", "last_year")
    rows = []
    for r in read(name):
        row = {"candidate": r["candidate_id"]} if "candidate_id" in r else {}
        rows.append(row | {k: number(r[k]) for k in keep if r.get(k)})
    return rows


def tables(factors: dict[str, float], groups: set[str] | None = None) -> dict[str, Table]:
    """Return the workbook's tables for the given MAC slope factor of each group.

    Args:
        factors: Slope factor of each group [EUR per tCO2e per MtCO2e] (those of `groups`).
        groups: Only these groups' systems, without candidate links (the calibration).
    """
    kept = [s for s, r in systems().items() if groups is None or r["group"] in groups]
    caps = {(r["system"], int(r["year"])): float(r["cap_MtCO2e"]) for r in read("caps")}
    setting = settings()
    out = {
        "settings": [
            {"key": k, "value": number(setting[k])}
            for k in ("scenario_name", "currency", "base_year", "discount_rate")
        ],
        "systems": [
            {k: systems()[s][k] for k in ("system", "name", "banking")}
            | {k: float(systems()[s][k]) for k in ("borrowing_limit_MtCO2e", "initial_bank_MtCO2e")}
            for s in kept
        ],
        "emissions": [
            {
                "system": s,
                "year": y,
                "baseline_MtCO2e": round(baseline(s, y), 3),
                "cap_MtCO2e": caps[s, y],
            }
            for s in kept
            for y in years(s)
        ],
        "mac_linear": [
            {
                "system": s,
                "year": y,
                "intercept_per_tCO2e": intercept(group, factors[group]),
                "slope_per_tCO2e_per_MtCO2e": slope(s, factors[group]),
            }
            for s in kept
            for group in [systems()[s]["group"]]
            for y in years(s)
        ],
        "links": [r for r in links("links") if r["from_system"] in kept],
        "candidate_links": links("candidates") if groups is None else [],
        "price_controls": [r for r in price_controls() if r["system"] in kept],
        "supply_steps": [r for r in supply_steps() if r["system"] in kept],
        "msr": [r for r in reserve_rows(DATA) if r["system"] in kept],
        "border_adjustments": border_adjustments(kept) if groups is None else [],
    }
    return {name: rows for name, rows in out.items() if rows}


UK_CBAM_PHASE_OUT_YEARS = 9
"""The UK phases out free allocation to CBAM sectors over nine years from 2027 (X57); the
yearly factors were not found, so the UK's phase-in is assumed linear: k/9 in the k-th year."""


def border_adjustments(kept: list[str]) -> Table:
    """Return the border_adjustments sheet (border_adjustments_sourced.csv).

    The EU CBAM on imports from the UK, China and Korea, and the UK CBAM on imports from the
    EU from 2027. Embedded emissions are held at their latest sourced level in every year (assumed);
    the EU's phase-in is reported (X52), the UK's assumed linear over nine years.
    """
    rows = read("border_adjustments_sourced")
    embedded = {
        (r["importer"], r["origin"]): float(r["value"])
        for r in rows
        if r["quantity"] == "embedded_MtCO2e" and r["origin"] != "all"
    }
    eu_phase = {int(r["year"]): float(r["value"]) for r in rows if r["quantity"] == "phase_in"}
    out = []
    for (importer, origin), quantity in embedded.items():
        if importer not in kept or origin not in kept:
            continue
        for year in years(importer):
            if importer == "EU":
                phase = eu_phase[year]
            else:
                step = year - 2026  # 2027 is the first year of the UK CBAM (X57)
                if step < 1:
                    continue
                phase = min(step / UK_CBAM_PHASE_OUT_YEARS, 1.0)
            out.append(
                {
                    "importer": importer,
                    "origin": origin,
                    "year": year,
                    "embedded_MtCO2e": quantity,
                    "phase_in": round(phase, 6),
                }
            )
    return out


def solution(workbook_tables: dict[str, Table]) -> Figures:
    """Return the status quo's prices [EUR per tCO2e] and emissions [MtCO2e]."""
    case = linked_case(workbook_tables)
    out = {("price", r.system, r.year): r.price_EUR_per_tCO2e for r in case.prices.itertuples()}
    for r in case.balances.itertuples():
        out["emissions", r.system, r.year] = r.emissions_MtCO2e
    return out


def calibrate(steps: list[int] | None = None) -> dict[str, float]:
    """Return per group the slope factor at which its lead's 2026 price is the target.

    The intercept follows from the factor (the MAC passes through the observed 2025 point).
    The groups are not linked to each other in the status quo, so one model of them all
    takes every group's next trial factor at once.

    Raises:
        RuntimeError: A group's lead reaches its target at no factor in FACTOR_BRACKET.
    """
    goal = targets()

    def mismatch(factors: dict[str, float]) -> dict[str, float]:
        found = solution(tables(factors, set(goal)))
        return {g: found["price", t["lead"], FIRST_YEAR] / t["target"] - 1 for g, t in goal.items()}

    factors = search_factors(dict.fromkeys(goal, FACTOR_BRACKET), mismatch, steps)
    missing = [g for g, f in factors.items() if f is None]
    if missing:
        msg = f"no slope factor reaches the target price of {', '.join(missing)}"
        raise RuntimeError(msg)
    return {g: f for g, f in factors.items() if f is not None}


def calibration_report(case: Figures, factors: dict[str, float]) -> tuple[Table, Table]:
    """Return the calibration's result per group and the model against observed figures."""
    result = [
        {
            "group": g,
            "lead_system": t["lead"],
            "slope_factor_EUR_per_tCO2e_per_MtCO2e": f"{factors[g]:.6g}",
            "intercept_EUR_per_tCO2e": f"{intercept(g, factors[g]):.4g}",
            "observed_price_2025_EUR_per_tCO2e": round(t["observed"], 2),
            "target_price_2026_EUR_per_tCO2e": round(t["target"], 2),
            "model_price_2026_EUR_per_tCO2e": round(case["price", t["lead"], FIRST_YEAR], 2),
        }
        for g, t in targets().items()
    ]
    checks = [
        {
            "quantity": r["quantity"],
            "system": r["system"],
            "year": int(r["year"]),
            "unit": "EUR per tCO2e" if r["quantity"] == "price" else "MtCO2e",
            "observed": round(observed, 2),
            "model": round(case[r["quantity"], r["system"], int(r["year"])], 2),
            "difference_percent": percent(
                case[r["quantity"], r["system"], int(r["year"])], observed
            ),
        }
        for r in read("checks")
        if (r["quantity"], r["system"], int(r["year"])) in case
        for observed in [to_eur(r["value"], r["currency"]) if r["currency"] else float(r["value"])]
    ]
    return result, checks


def cap_scenarios(workbook: dict[str, Table]) -> dict[str, dict[str, Table]]:
    """Return the workbook under each scenario of caps_alternatives.csv (assumed caps).

    The MACs stay those calibrated on the central caps: a variant asks what the same
    markets do with other caps, so its 2026 prices move with them.
    """
    variants: dict[str, dict[str, Table]] = {}
    for r in read("caps_alternatives"):
        variant = variants.setdefault(
            r["scenario"],
            {name: [dict(row) for row in rows] for name, rows in workbook.items()},
        )
        for row in variant["emissions"]:
            if (row["system"], row["year"]) == (r["system"], int(r["year"])):
                row["cap_MtCO2e"] = float(r["cap_MtCO2e"])
    for scenario, variant in variants.items():
        for row in variant["settings"]:
            if row["key"] == "scenario_name":
                row["value"] = f"{row['value']}, caps: {scenario}"
    return variants


def main(
    output: Path, results: Path = DATA, progress: Callable[[str], None] = lambda _: None
) -> None:
    """Calibrate; write the workbook, its cap scenarios and the calibration's results.

    The scenarios go to <output stem>_caps/ next to the workbook, the results to `results`.
    """
    steps: list[int] = []
    factors = calibrate(steps)
    progress(f"calibrated in {steps[0]} solves: {factors}")
    workbook = tables(factors)
    write_workbook(output, workbook)
    folder = output.with_name(f"{output.stem}_caps")
    folder.mkdir(exist_ok=True)
    for scenario, variant in cap_scenarios(workbook).items():
        write_workbook(folder / f"{scenario}.xlsx", variant)
    result, checks = calibration_report(solution(workbook), factors)
    write_csv(results, "calibration_result", result)
    write_csv(results, "calibration_check", checks)
    progress(f"wrote {output} and {folder}")


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("explore.xlsx"),
        progress=lambda message: sys.stderr.write(f"{message}\n"),
    )
