"""Build inputs/example.xlsx from the sourced data in inputs/data/ (see docs/example.md).

Run: python inputs/build_example.py [OUTPUT.xlsx] [--fitted]

Every number comes from a CSV file in inputs/data/ whose rows cite sources.csv. The script
converts all money to EUR at 2019 ECB rates, derives the years the sources leave out (straight
lines between reported caps, reserve prices growing 5% plus inflation), and writes the EU's
caps and reserve rules as they were announced over time (the 2018 reform, the Fit-for-55
proposal of July 2021, the revision adopted in 2023). Each group's MAC starts through its lead
system's observed 2019 point; then `etslink calibrate` fits the MAC and baseline factors and
the foresight horizon twice: to the observations up to 2020 (the fit's out-of-sample test on
2021-2024), and to all of them (the example shipped). It also refits the factors with one
mechanism taken out at a time (what each contributes to the fit), and writes the variant
without the reserve's invalidation next to the workbook (<OUTPUT>_no_invalidation.xlsx) and
the results to inputs/data/calibration_*.csv.

With --fitted, the calibrations are not run again: the workbooks are built from the fitted
values in inputs/data/calibration_result.csv (seconds instead of minutes); the tests do this.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

import etslink
from buildkit import Table, number, percent, read_csv, reserve_rows, write_csv
from etslink.inputs.workbook import write_workbook

DATA = Path(__file__).with_name("data")
WCI_GROWTH = 1.075  # S21: 5% plus inflation (2.5%, assumed) a year
DISCOUNT_RATE = 0.075  # S37: nominal; the same 5% real plus 2.5% inflation
WCI_SYSTEMS = ("CA", "QC", "ON")
SCENARIO = "Linked carbon markets 2018-2040: EU-CH, California-Quebec(-Ontario), Tokyo-Saitama"
CAP_ANNOUNCEMENTS = (2021, 2023)
"""Years in which the plans learn a new EU cap path (eu_rules_announced.csv): the Fit-for-55
proposal of July 2021 (S88, S90) and the revision adopted in April-May 2023 (S91-S94); before,
the plans see the 2018 reform's 2.2% a year continuing (S85, S87)."""
REVISED_FROM = 2024
"""First year whose EU cap the announcements change."""
IN_SAMPLE_LAST = 2020
"""Last year of the observations the out-of-sample calibration fits."""
FREE_PARAMETERS = (
    {"parameter": "mac_scale", "target": "EU+CH", "lower": 0.1, "upper": 10},
    {"parameter": "mac_scale", "target": "CA+QC+ON", "lower": 0.1, "upper": 10},
    {"parameter": "baseline_scale", "target": "EU+CH", "lower": 0.8, "upper": 1.2},
    {"parameter": "baseline_scale", "target": "CA+QC+ON", "lower": 0.8, "upper": 1.2},
    {"parameter": "mac_scale", "target": "TK+ST", "lower": 0.1, "upper": 10},
    {"parameter": "foresight_years", "target": "*", "lower": 12, "upper": 22},
)
"""The workbook's `calibration` sheet: what `etslink calibrate` fits (docs/calibrate.md)."""
PRIOR_HORIZON = 11
"""foresight_years of the workbook before calibration (the horizon the example had before it
was calibrated with `etslink calibrate`)."""
NO_INVALIDATION_FROM = 2027
"""First year without invalidation in the variant: the Commission proposed in April 2026 to
stop it (S54, S66); until a change takes effect the rules stay (S54)."""
Scales = dict[tuple[str, str], float]
"""A fitted factor per (parameter, calibration target), e.g. ("mac_scale", "EU+CH")."""


def read(name: str) -> Table:
    """Return the rows of inputs/data/<name>.csv."""
    return read_csv(DATA, name)


def per_eur() -> dict[str, float]:
    """Return units of each currency per EUR (ECB 2019 averages, S36)."""
    return {r["currency"]: float(r["per_EUR"]) for r in read("exchange_rates")}


def to_eur(value: str | float, currency: str) -> float:
    """Return a price converted to EUR."""
    return float(value) / per_eur()[currency]


def system_years(system: Mapping[str, Any]) -> range:
    """Return the years a system takes part in."""
    return range(int(system["first_year"]), int(system["last_year"]) + 1)


def announced_caps(year: int) -> dict[int, float]:
    """Return the EU's caps [MtCO2e] by year as the rules announced in `year` set them."""
    return {
        int(r["years"]): float(r["value"])
        for r in read("eu_rules_announced")
        if r["rule"] == "cap" and int(r["announced_year"]) == year
    }


def caps() -> dict[tuple[str, int], float]:
    """Return the caps known from the start by (system, year) [MtCO2e].

    caps.csv's reported or derived rows, straight lines in between; the EU from 2021 as the
    2018 reform set it (the 2.2% a year continuing, S85, S87).
    """
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
    return out | {("EU", y): cap for y, cap in announced_caps(2018).items()}


def baseline(system: Mapping[str, Any], year: int) -> float:
    """Return the no-carbon-price emissions (S38, S39) [MtCO2e]."""
    trend = float(system["baseline_trend_per_year"])
    return round(float(system["baseline_2018_MtCO2e"]) * (1 + trend) ** (year - 2018), 3)


def prior_factors() -> dict[str, float]:
    """Return each group's MAC slope factor before calibration [EUR per tCO2e per MtCO2e].

    The lead's linear MAC through zero passes through its observed 2019 point (S40): the
    observed price at the abatement baseline - observed emissions. `etslink calibrate`
    scales it from there.
    """
    systems = {r["system"]: r for r in read("systems")}
    out = {}
    for r in read("calibration"):
        year = int(r["reference_year"])
        abated = baseline(systems[r["lead_system"]], year) - float(r["observed_emissions_MtCO2e"])
        out[r["group"]] = to_eur(r["observed_price"], r["currency"]) / abated
    return out


def slope(system: Mapping[str, Any], factor: float, lead_baseline: float) -> float:
    """Return the MAC slope: the group's factor scaled by 1/baseline (S40)."""
    return factor * lead_baseline / float(system["baseline_2018_MtCO2e"])


def price_controls(years: range) -> Table:
    """Return CA/QC/ON floors and ceilings in EUR, grown by WCI_GROWTH after the last given."""
    given = {int(r["year"]): r for r in read("price_controls")}
    floor = ceiling = 0.0
    rows = []
    for y in years:
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
    """Return the reserve's rules by period and announcement (sheet msr, S55-S60, S86-S89).

    With `invalidation_until`, no holdings are invalidated after that year in any rule (the
    variant of the Commission's 2026 proposal): a period running past it is split there.
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


def emissions(systems: Table, scales: Scales, announced: bool) -> Table:
    """Return sheet emissions: baselines and caps known from the start, then the EU's news.

    Args:
        systems: The systems' rows (systems.csv).
        scales: Fitted baseline factors by ("baseline_scale", target).
        announced: Whether the EU's caps change as announced (CAP_ANNOUNCEMENTS); if not,
            the caps in force are known from the start.
    """
    cap = caps()
    later = {a: announced_caps(a) for a in CAP_ANNOUNCEMENTS}
    final = later[CAP_ANNOUNCEMENTS[-1]]
    rows = []
    for r in systems:
        factor = scale(scales, "baseline_scale", r["system"])
        for y in system_years(r):
            known = cap[r["system"], y]
            if r["system"] == "EU" and not announced and y >= REVISED_FROM:
                known = final[y]
            base = round(baseline(r, y) * factor, 3)
            rows.append(
                {"system": r["system"], "year": y, "baseline_MtCO2e": base, "cap_MtCO2e": known}
            )
            if r["system"] == "EU" and announced and y >= REVISED_FROM:
                rows += [
                    {
                        "system": "EU",
                        "year": y,
                        "baseline_MtCO2e": base,
                        "cap_MtCO2e": later[a][y],
                        "announced_year": a,
                    }
                    for a in CAP_ANNOUNCEMENTS
                ]
    return rows


def scale(scales: Scales, parameter: str, system: str) -> float:
    """Return the fitted factor of `parameter` that applies to `system` (1 if none)."""
    for (name, target), value in scales.items():
        if name == parameter and system in target.split("+"):
            return value
    return 1.0


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
    scales: Scales,
    horizon: int | None,
    *,
    announced: bool = True,
    eu_last: int | None = None,
    wci_bank: bool = True,
    fitted_until: int | None = None,
    invalidation_until: int | None = None,
) -> dict[str, Table]:
    """Return the workbook's tables with the given fitted factors.

    Args:
        scales: Fitted factors by (parameter, target): mac_scale multiplies the prior MAC
            slopes (`prior_factors`), baseline_scale the baselines, as in the workbook
            `etslink calibrate` writes.
        horizon: foresight_years, or None for perfect foresight.
        announced: The EU's rules as announced (False: those in force known from 2018).
        eu_last: Last year of the EU and Switzerland (None: systems.csv's, 2040).
        wci_bank: Whether the WCI starts with its private bank (S100; False: none).
        fitted_until: Observations after this year get weight 0 (shown, not fitted).
        invalidation_until: Last year of the reserve's invalidation (None: the rules as they
            are; see `reserve`).
    """
    systems = read("systems")
    for r in systems:
        if eu_last is not None and r["group"] == "EU-CH":
            r["last_year"] = str(eu_last)
        if not wci_bank and r["group"] == "WCI":
            r["initial_bank_MtCO2e"] = "0"
    leads = {r["group"]: r["lead_system"] for r in read("calibration")}
    base = {r["system"]: float(r["baseline_2018_MtCO2e"]) for r in systems}
    factors = prior_factors()
    last_year = {r["system"]: int(r["last_year"]) for r in systems}
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
        "emissions": emissions(systems, scales, announced),
        "mac_linear": [
            {
                "system": r["system"],
                "year": y,
                "intercept_per_tCO2e": 0.0,
                "slope_per_tCO2e_per_MtCO2e": slope(r, factors[r["group"]], base[leads[r["group"]]])
                * scale(scales, "mac_scale", r["system"]),
            }
            for r in systems
            for y in system_years(r)
        ],
        "links": [
            {k: number(v) for k, v in r.items() if k != "source_id" and v != ""}
            for r in read("links")
        ],
        "offsets": offsets(),
        "offset_rules": offset_rules(),
        "price_controls": price_controls(range(2018, last_year["CA"] + 1)),
        "msr": [
            r for r in reserve(invalidation_until) if r["first_year"] <= last_year[r["system"]]
        ],
        "uncertainty": [
            {
                k: (float(v) if k in ("mean", "sd") else v or None)
                for k, v in r.items()
                if k != "source_id"
            }
            for r in read("uncertainty")
        ],
        "observed": observed_sheet(fitted_until),
        "calibration": list(FREE_PARAMETERS),
    }
    if not announced:
        out["msr"] = in_force(out["msr"])
    for r in out["msr"]:
        r["last_year"] = min(r["last_year"], last_year[r["system"]])
    return out


def in_force(rows: Table) -> Table:
    """Return the reserve's rules in force, as if known from the start.

    The latest announcement's rows, and the earlier rows of the years it does not govern
    (msr.csv's periods).
    """
    latest = max(r.get("announced_year", 0) for r in rows)
    governed = {
        y
        for r in rows
        if r.get("announced_year") == latest
        for y in range(r["first_year"], r["last_year"] + 1)
    }
    return [
        {k: v for k, v in r.items() if k != "announced_year"}
        for r in rows
        if r.get("announced_year") == latest
        or ("announced_year" not in r and r["first_year"] not in governed)
    ]


def observed_sheet(fitted_until: int | None = None) -> Table:
    """Return the `observed` sheet: inputs/data/observed.csv, prices in EUR.

    Prices are converted at the 2019 rates that convert the workbook's other money (S36),
    so that model and observation share one currency; each row names its sources. Rows
    after `fitted_until` get weight 0: the fit shows them but does not fit them.
    """
    return [
        {
            "system": r["system"],
            "year": int(r["year"]),
            "quantity": r["quantity"],
            "value": to_eur(r["value"], r["currency"]) if r["currency"] else float(r["value"]),
            "weight": 0.0
            if fitted_until is not None and int(r["year"]) > fitted_until
            else float(r["weight"]),
            "source": f"{r['status']}; inputs/data/sources.csv {r['source_id'].replace(';', ', ')}",
        }
        for r in read("observed")
    ]


def calibrated(workbook_tables: Mapping[str, Table], folder: Path) -> etslink.CalibrationResult:
    """Return `etslink calibrate`'s fit of the workbook the tables make (on 2 workers)."""
    path = folder / "uncalibrated.xlsx"
    path.unlink(missing_ok=True)
    write_workbook(path, dict(workbook_tables))
    return etslink.calibrate(path, workers=2)


def fitted_scales(result: etslink.CalibrationResult) -> tuple[Scales, int | None]:
    """Return a calibration's fitted factors and its foresight horizon."""
    scales = {
        (r.parameter, r.target): float(r.fitted)
        for r in result.parameters.itertuples()
        if r.parameter != "foresight_years"
    }
    return scales, result.settings.get("foresight_years")


MECHANISMS: dict[str, dict[str, Any]] = {
    "as built": {},
    "the EU's rules known from 2018 (the 2023 revision's caps and reserve)": {"announced": False},
    "the EU to 2030 only": {"eu_last": 2030},
    "no WCI bank in 2018": {"wci_bank": False},
}
"""The variants refitted to weigh what each mechanism adds to the fit (docs/example.md)."""


def mechanism_rows(horizon: int | None, folder: Path, progress: Callable[[str], None]) -> Table:
    """Return the fit of each variant of MECHANISMS, its factors refitted at `horizon`."""
    rows = []
    for name, change in MECHANISMS.items():
        variant = tables({}, horizon, **change)
        variant["calibration"] = [p for p in FREE_PARAMETERS if p["parameter"] != "foresight_years"]
        result = calibrated(variant, folder)
        rows.append({"variant": name} | misfits(result.fit, "difference_after"))
        rows[-1]["objective"] = round(result.record["calibration"]["objective_after"], 3)
        progress(f"mechanisms: {rows[-1]}")
    return rows


def misfits(fit: pd.DataFrame, column: str) -> dict[str, float]:
    """Return the largest |difference| [%] of the EU's and California's prices and the EU's TNAC.

    From the fit table's `column` (model / observed - 1), over the observed years.
    """
    out = {}
    for label, quantity, system in (
        ("EU_price", "price", "EU"),
        ("CA_price", "price", "CA"),
        ("EU_tnac", "bank", "EU"),
    ):
        rows = fit[(fit["quantity"] == quantity) & (fit["system"] == system)]
        out[f"largest_{label}_difference_percent"] = round(100 * rows[column].abs().max(), 1)
    return out


def fit_rows(shipped: pd.DataFrame, early: pd.DataFrame) -> Table:
    """Return every observation against the shipped model and the one fitted to 2020.

    Args:
        shipped: The `fit` table of the shipped example's run.
        early: The `fit` table of the run of the model fitted to 2020.
    """
    rows = []
    for r, e in zip(shipped.itertuples(index=False), early.itertuples(index=False), strict=True):
        rows.append(
            {
                "quantity": r.quantity,
                "system": r.system,
                "year": r.year,
                "observed": round(r.observed, 2),
                "model": round(r.model, 2),
                "difference_percent": percent(r.model, r.observed),
                "model_fitted_to_2020": round(e.model, 2),
                "difference_fitted_to_2020_percent": percent(e.model, e.observed),
                "fitted": "no"
                if r.weight == 0
                else ("yes" if r.year <= IN_SAMPLE_LAST else "in the full fit only"),
            }
        )
    return rows


def no_invalidation(with_rules: pd.DataFrame, without: pd.DataFrame) -> Table:
    """Return the EU's prices 2024-2040 with and without the reserve's invalidation.

    Args:
        with_rules: The `prices` table of the shipped example's run.
        without: The `prices` table of the variant's run.
    """
    prices = {}
    for label, frame in (("with", with_rules), ("without", without)):
        eu = frame[(frame["case"] == "linked") & (frame["system"] == "EU")]
        prices[label] = dict(zip(eu["year"], eu["price_EUR_per_tCO2e"], strict=True))
    return [
        {
            "year": y,
            "price_EU": round(prices["with"][y], 2),
            "price_EU_no_invalidation": round(prices["without"][y], 2),
            "difference_percent": percent(prices["without"][y], prices["with"][y]),
        }
        for y in sorted(prices["with"])
        if y >= 2024
    ]


def read_fitted() -> dict[str, tuple[Scales, int | None]]:
    """Return the shipped fits' factors and horizons by fit (calibration_result.csv)."""
    out: dict[str, tuple[Scales, int | None]] = {}
    for r in read("calibration_result"):
        scales, _ = out.setdefault(r["fit"], ({}, None))
        if r["parameter"] == "foresight_years":
            out[r["fit"]] = (scales, int(float(r["fitted"])))
        else:
            scales[r["parameter"], r["target"]] = float(r["fitted"])
    return out


def result_rows(fit: str, result: etslink.CalibrationResult) -> Table:
    """Return the rows of calibration_result.csv for one calibration."""
    c = result.record["calibration"]
    return [
        {
            "fit": fit,
            "parameter": r.parameter,
            "target": r.target,
            "fitted": f"{r.fitted:.6g}",
            "objective_before": round(c["objective_before"], 4),
            "objective_after": round(c["objective_after"], 4),
        }
        for r in result.parameters.itertuples()
    ]


def main(
    output: Path,
    results: Path = DATA,
    fitted: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> None:
    """Calibrate (unless `fitted`), write the workbooks and the calibration's results.

    Args:
        output: Where the example workbook goes (its variant and the model fitted to 2020
            go next to it).
        results: Folder of the calibration_*.csv files written.
        fitted: Build from calibration_result.csv's factors instead of calibrating.
        progress: Called with a line of progress.
    """
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if fitted:
            fits = read_fitted()
        else:
            early = calibrated(tables({}, PRIOR_HORIZON, fitted_until=IN_SAMPLE_LAST), folder)
            progress(f"fitted to {IN_SAMPLE_LAST}: {early.record['calibration']['fitted']}")
            full = calibrated(tables({}, PRIOR_HORIZON), folder)
            progress(f"fitted to all years: {full.record['calibration']['fitted']}")
            fits = {"to 2020": fitted_scales(early), "all years": fitted_scales(full)}
            write_csv(
                results,
                "calibration_result",
                result_rows("to 2020", early) + result_rows("all years", full),
            )
            write_csv(results, "calibration_foresight", horizon_rows(early, full))
            write_csv(
                results,
                "calibration_mechanisms",
                mechanism_rows(fits["all years"][1], folder, progress),
            )
        scales, horizon = fits["all years"]
        write_workbook(output, tables(scales, horizon))
        variant = output.with_name(f"{output.stem}_no_invalidation.xlsx")
        write_workbook(
            variant, tables(scales, horizon, invalidation_until=NO_INVALIDATION_FROM - 1)
        )
        early_scales, early_horizon = fits["to 2020"]
        in_sample = folder / "fitted_to_2020.xlsx"
        write_workbook(in_sample, tables(early_scales, early_horizon, fitted_until=IN_SAMPLE_LAST))
        shipped = etslink.run(output)
        write_csv(results, "calibration_fit", fit_rows(shipped.fit, etslink.run(in_sample).fit))
        rows = no_invalidation(shipped.prices, etslink.run(variant).prices)
        write_csv(results, "calibration_no_invalidation", rows)


def horizon_rows(early: etslink.CalibrationResult, full: etslink.CalibrationResult) -> Table:
    """Return the best objective at each foresight horizon tried, in both calibrations."""
    by_horizon = {}
    for fit, result in (("to 2020", early), ("all years", full)):
        for r in result.horizons.itertuples(index=False):
            column = f"objective_{fit.replace(' ', '_')}"
            by_horizon.setdefault(int(r.foresight_years), {})[column] = round(r.objective, 4)
    return [{"foresight_years": h} | v for h, v in sorted(by_horizon.items())]


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--fitted"]
    main(
        Path(arguments[0]) if arguments else Path(__file__).with_name("example.xlsx"),
        fitted="--fitted" in sys.argv,
        progress=lambda message: sys.stderr.write(f"{message}\n"),
    )
