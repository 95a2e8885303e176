"""Build inputs/explore.xlsx from the sourced data in inputs/data/explore/ (docs/explore.md).

Run: python inputs/build_explore.py [OUTPUT.xlsx]

Eight systems (EU, UK, California, Quebec, Washington, Korea, New Zealand, China's national
ETS), 2026-2035, with the links in force (California-Quebec) and the candidate links on the
table (EU-UK, Washington with California-Quebec, and two hypothetical ones: Korea-China and
New Zealand-EU). Every number comes from a CSV file in inputs/data/explore/ whose rows cite
its sources.csv (X1-X72). The script converts money to EUR at the ECB's 2025 averages and
calibrates one MAC slope factor per group (`calibrate`); it writes the workbook under each
assumed cap scenario of caps_alternatives.csv to inputs/explore_caps/, under each reading
of China as intensity-based (CHINA_READINGS) to inputs/explore_china/, the calibration's
results to inputs/data/explore/calibration_*.csv and the readings' to china_*.csv there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
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
from etslink.outputs.results import CaseResults

DATA = Path(__file__).with_name("data") / "explore"
FIRST_YEAR, LAST_YEAR = 2026, 2035
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


CHINA, CHINA_INDUSTRY = "CN", "CNI"
"""China's national ETS read as intensity-based: power keeps the id CN (the system KR-CN
links) and steel, cement and aluminium become CNI, linked with CN at rate 1 (one market)."""
ABSOLUTE = "absolute"
"""The workbook's reading of China: one system with an assumed absolute cap (X50)."""
CHINA_READINGS = ("benchmark_caps", "intensity", "intensity_to_2035")
"""The readings of China besides the workbook's (ABSOLUTE), written to inputs/explore_china/.

`intensity` is China as announced (X64, X66): power intensity-based to 2029, steel, cement
and aluminium in 2026. `intensity_to_2035`: the caps do not come. `benchmark_caps`: every
sector capped from 2026 at what its standard issues at baseline output, the same allowances
without the output response, which tells the instrument's effect from that of the path."""
BENCHMARK_YEAR = 2024
"""The year of the latest sourced benchmarks (X61, X62)."""


@dataclass(frozen=True)
class Standard:
    """A sector of China's national ETS read as a tradable performance standard (E18, E19).

    Output is in million units: TWh for power, Mt of CO2 emitted at the 2024 intensity for
    steel, cement and aluminium (one unit emitted one tonne in 2024).

    Attributes:
        system: System id.
        name: Display name.
        output_Munits: Output baseline Q0 [Munits], the 2024 output held (X46: trend 0).
        intensity: Emissions per unit without a carbon price, mu [tCO2e per unit].
        benchmark_2024: Allowances issued per unit in 2024, r [tCO2e per unit].
        benchmark_change: Change of the benchmark per year [fraction].
        output_cost_slope: d [EUR per unit per Munits].
        first_cap_year: The first year of an absolute cap, where the announced caps come.
    """

    system: str
    name: str
    output_Munits: float
    intensity: float
    benchmark_2024: float
    benchmark_change: float
    output_cost_slope: float
    first_cap_year: int

    def benchmark(self, year: int) -> float:
        """Return the benchmark r [tCO2e per unit] in a year."""
        return self.benchmark_2024 * (1 + self.benchmark_change) ** (year - BENCHMARK_YEAR)

    def baseline_MtCO2e(self) -> float:
        """Return the emissions at baseline output, mu x Q0 [MtCO2e]."""
        return self.intensity * self.output_Munits

    def capped(self, year: int, reading: str) -> bool:
        """Return whether the sector has an absolute cap in a year of a reading of China."""
        first = {"benchmark_caps": FIRST_YEAR, "intensity": self.first_cap_year}.get(reading)
        return first is not None and year >= first


def china_figure(sector: str, quantity: str, year: int | None = None) -> float:
    """Return a figure of china_intensity_sourced.csv (of the year, where given)."""
    (value,) = (
        float(r["value"])
        for r in read("china_intensity_sourced")
        if (r["sector"], r["quantity"]) == (sector, quantity)
        and (year is None or int(r["year"]) == year)
    )
    return value


def baseline_uplift() -> float:
    """Return China's 2025 baseline over its observed emissions: 1.02 (X46: the price's effect)."""
    observed = next(r for r in read("calibration") if r["group"] == CHINA)
    return baseline(CHINA, 2025) / float(observed["observed_emissions_MtCO2e"])


def power_benchmark_change() -> float:
    """Return the power benchmarks' change per year (X61): -0.5%.

    The mean over the classes of each plan's second year against its first (2022 on 2021,
    2024 on 2023); from 2022 to 2023 the basis changed (generation, not supply).
    """
    value = {
        (r["sector"], int(r["year"])): float(r["value"])
        for r in read("china_intensity_sourced")
        if r["quantity"] == "benchmark_tCO2_per_MWh"
    }
    classes = {sector for sector, _ in value}
    changes = [
        value[c, second] / value[c, first] - 1
        for c in sorted(classes)
        for first, second in ((2021, 2022), (2023, 2024))
    ]
    return sum(changes) / len(changes)


def output_cost_slope(price: float, elasticity: float, output_Munits: float) -> float:
    """Return d [EUR per unit per Munits] of linear demand through (Q0, price).

    With the demand elasticity e at that point a cost t per unit lowers output by
    t |e| Q0 / price, which is t / d: d = price / (|e| Q0). `price` is in EUR per unit.
    """
    return price / (abs(elasticity) * output_Munits)


def china_standards() -> tuple[Standard, Standard]:
    """Return China's power and industry standards from china_intensity_sourced.csv.

    Power (X59-X61, X68, X69): 2024 thermal generation, mu = 2024 emissions per MWh x the
    baseline uplift, r = the large coal units' 2024 benchmark falling as in 2021-2024, d from
    the coal power base price and the households' demand elasticity; capped from 2030 as
    announced. Industry (X54, X62-X64, X66, X67, X70, X71): 2024 emissions as output, r = 1
    in 2024 (allowances = emissions) falling at power's rate (assumed), d from the rebar
    price per tonne of CO2 and the steel demand elasticity; capped from 2027 (assumed).
    """
    uplift, change = baseline_uplift(), power_benchmark_change()
    generation = china_figure("power", "generation_TWh", BENCHMARK_YEAR)
    emitted = china_figure("power", "covered_emissions_MtCO2", BENCHMARK_YEAR)
    power_price = to_eur(china_figure("power", "output_price_CNY_per_MWh"), "CNY")
    power = Standard(
        CHINA,
        "China national ETS: power",
        generation,
        uplift * emitted / generation,
        china_figure(
            "power_coal_conventional_above_300MW", "benchmark_tCO2_per_MWh", BENCHMARK_YEAR
        ),
        change,
        output_cost_slope(power_price, china_figure("power", "demand_elasticity"), generation),
        int(china_figure("all", "absolute_cap_from")),
    )
    industry = "steel_cement_aluminium"
    output = china_figure(industry, "covered_emissions_MtCO2", BENCHMARK_YEAR)
    steel_price = to_eur(china_figure("steel", "price_CNY_per_t"), "CNY")
    unit_price = steel_price / china_figure("steel", "intensity_tCO2_per_t")
    return power, Standard(
        CHINA_INDUSTRY,
        "China national ETS: steel, cement, aluminium",
        output,
        uplift,
        china_figure(industry, "benchmark_to_intensity_ratio", BENCHMARK_YEAR),
        change,
        output_cost_slope(unit_price, china_figure("steel", "demand_elasticity"), output),
        int(china_figure(industry, "absolute_cap_from")),
    )


def read_china(workbook: dict[str, Table], reading: str) -> dict[str, Table]:
    """Return the workbook with China read as `reading` (ABSOLUTE or one of CHINA_READINGS).

    CN's rows become two systems (china_standards), linked two-way at rate 1, intensity-based
    in the years the reading does not cap. A capped year's cap is what the standard would
    issue at baseline output, r x Q0 (assumed; X64: higher output no longer raises allocation).
    The CBAM on Chinese steel falls on CNI, at the same price.
    """
    if reading == ABSOLUTE:
        return workbook
    out = {
        name: [dict(r) for r in rows if r.get("system") != CHINA] for name, rows in workbook.items()
    }
    for standard in china_standards():
        for name, rows in standard_rows(standard, workbook, reading).items():
            out.setdefault(name, []).extend(rows)
    out.setdefault("links", []).append(
        {"from_system": CHINA, "to_system": CHINA_INDUSTRY, "direction": "two-way"}
    )
    for row in out.get("border_adjustments", []):
        if row["origin"] == CHINA:
            row["origin"] = CHINA_INDUSTRY
    for row in out["settings"]:
        if row["key"] == "scenario_name":
            row["value"] = f"{row['value']}, China: {reading}"
    return {name: rows for name, rows in out.items() if rows}


def standard_rows(standard: Standard, workbook: dict[str, Table], reading: str) -> dict[str, Table]:
    """Return a sector's rows of sheets systems, emissions, intensity and mac_linear.

    The sector takes CN's systems row and MAC with the slope scaled to its baseline, so that
    the same price abates the same share of baseline emissions (as `slope`).
    """
    china = next(r for r in workbook["systems"] if r["system"] == CHINA)
    intensity = [y for y in years(CHINA) if not standard.capped(y, reading)]
    scale = baseline(CHINA, FIRST_YEAR) / standard.baseline_MtCO2e()
    return {
        "systems": [
            china
            | {"system": standard.system, "name": standard.name}
            | ({"cap_type": "intensity"} if intensity else {})
        ],
        "emissions": [china_year(standard, y, reading) for y in years(CHINA)],
        "intensity": [intensity_row(standard, y) for y in intensity],
        "mac_linear": [
            mac
            | {
                "system": standard.system,
                "slope_per_tCO2e_per_MtCO2e": mac["slope_per_tCO2e_per_MtCO2e"] * scale,
            }
            for mac in workbook["mac_linear"]
            if mac["system"] == CHINA
        ],
    }


def china_year(standard: Standard, year: int, reading: str) -> dict[str, Any]:
    """Return a sector's emissions row: blank in an intensity year, else baseline and cap."""
    capped = standard.capped(year, reading)
    return {
        "system": standard.system,
        "year": year,
        "baseline_MtCO2e": round(standard.baseline_MtCO2e(), 3) if capped else None,
        "cap_MtCO2e": round(standard.benchmark(year) * standard.output_Munits, 3)
        if capped
        else None,
    }


def intensity_row(standard: Standard, year: int) -> dict[str, Any]:
    """Return a sector's row of sheet intensity in a year."""
    return {
        "system": standard.system,
        "year": year,
        "output_baseline_Munits": standard.output_Munits,
        "emission_intensity_tCO2e_per_unit": round(standard.intensity, 6),
        "benchmark_tCO2e_per_unit": round(standard.benchmark(year), 6),
        "output_cost_slope_per_unit_per_Munits": float(f"{standard.output_cost_slope:.6g}"),
    }


COMPARED = {"KR": ("KR",), CHINA: (CHINA, CHINA_INDUSTRY)}
"""The systems of the KR-CN candidate, China as one whether read as one system or two."""
OUTPUT_COLUMNS = ("power_output_moved_TWh", "industry_output_moved_Munits")
"""china_readings.csv's columns of China's output moved, in the order of china_standards."""


def china_comparison(factors: dict[str, dict[str, float]]) -> Table:
    """Return KR-CN against the status quo under each reading of China (china_readings.csv).

    Only Korea and China are solved: no other system is linked with them, so their results
    are those of the whole workbook. Per reading (ABSOLUTE: the workbook as it is), case
    and system: prices [EUR per tCO2e], compliance cost and its fall (the gain) and money
    paid abroad [MEUR, PV 2026], emissions [MtCO2e] and China's output moved away from
    its baseline [Munits] over 2026-2035.

    Args:
        factors: Per reading the slope factor of each group (calibrate).
    """
    candidate = [
        {k: v for k, v in r.items() if k != "candidate"}
        for r in links("candidates")
        if r["candidate"] == f"KR-{CHINA}"
    ]
    rows = []
    for reading, found in factors.items():
        workbook = read_china(tables(found, set(COMPARED)), reading)
        linked = workbook | {"links": [*workbook.get("links", []), *candidate]}
        cases = {"status quo": linked_case(workbook), f"KR-{CHINA}": linked_case(linked)}
        rows += case_rows(reading, cases)
    return rows


def case_rows(reading: str, cases: dict[str, CaseResults]) -> Table:
    """Return the rows of china_comparison for one reading: per case and system."""
    rows = []
    costs = {case: compliance_costs(results) for case, results in cases.items()}
    for case, results in cases.items():
        prices = results.prices.set_index(["system", "year"])["price_EUR_per_tCO2e"]
        for system, members in COMPARED.items():
            rows.append(
                {
                    "reading": reading,
                    "case": case,
                    "system": system,
                    "price_2026_EUR_per_tCO2e": round(prices[system, FIRST_YEAR], 2),
                    "price_2030_EUR_per_tCO2e": round(prices[system, 2030], 2),
                    "price_2035_EUR_per_tCO2e": round(prices[system, LAST_YEAR], 2),
                    "compliance_cost_pv_MEUR": round(costs[case][system], 2),
                    "gain_pv_MEUR": round(costs["status quo"][system] - costs[case][system], 2),
                    "paid_abroad_pv_MEUR": round(paid_abroad(results, members), 2),
                    "emissions_MtCO2e": round(member_sum(results.balances, members), 2),
                    **output_moved(results, members),
                }
            )
    return rows


def compliance_costs(results: CaseResults) -> dict[str, float]:
    """Return per compared system its compliance cost [MEUR, PV 2026]."""
    return {
        s: member_sum(results.costs, members, "compliance_cost_pv_MEUR")
        for s, members in COMPARED.items()
    }


def member_sum(table: Any, members: tuple[str, ...], column: str = "emissions_MtCO2e") -> float:
    """Return the sum of a column over the rows of the members' system-years."""
    return float(table.loc[table["system"].isin(members), column].sum())


def paid_abroad(results: CaseResults, members: tuple[str, ...]) -> float:
    """Return what the members pay other systems for allowances [MEUR, PV 2026]."""
    discount = dict(zip(results.costs["year"], results.costs["discount_factor"], strict=True))
    flows = results.transfers
    bought = flows[flows["to_system"].isin(members) & ~flows["from_system"].isin(members)]
    return float(sum(r.payment_MEUR * discount[r.year] for r in bought.itertuples()))


def output_moved(results: CaseResults, members: tuple[str, ...]) -> dict[str, float | str]:
    """Return China's output minus its baseline [Munits] summed over its intensity years.

    Power in TWh, steel, cement and aluminium in Mt of CO2 at 2024 intensity; blank for a
    system or reading without intensity years.
    """
    standards = china_standards()
    baseline_output = {s.system: s.output_Munits for s in standards}
    moved: dict[str, float] = {}
    for r in results.intensity.itertuples():
        if r.system in members:
            change = r.output_Munits - baseline_output[r.system]
            moved[r.system] = moved.get(r.system, 0.0) + change
    return {
        column: round(moved[s.system], 2) if s.system in moved else ""
        for s, column in zip(standards, OUTPUT_COLUMNS, strict=True)
    }


def solution(workbook_tables: dict[str, Table]) -> Figures:
    """Return the status quo's prices [EUR per tCO2e] and emissions [MtCO2e]."""
    case = linked_case(workbook_tables)
    out = {("price", r.system, r.year): r.price_EUR_per_tCO2e for r in case.prices.itertuples()}
    for r in case.balances.itertuples():
        out["emissions", r.system, r.year] = r.emissions_MtCO2e
    return out


def calibrate(steps: list[int] | None = None, reading: str | None = None) -> dict[str, float]:
    """Return per group the slope factor at which its lead's 2026 price is the target.

    The intercept follows from the factor (the MAC passes through the observed 2025 point).
    The groups are not linked to each other in the status quo, so one model of them all
    takes every group's next trial factor at once. With a `reading` of China (one of
    CHINA_READINGS) only China's group is calibrated, with China read so.

    Raises:
        RuntimeError: A group's lead reaches its target at no factor in FACTOR_BRACKET.
    """
    goal = targets() if reading is None else {CHINA: targets()[CHINA]}

    def mismatch(factors: dict[str, float]) -> dict[str, float]:
        found = solution(read_china(tables(factors, set(goal)), reading or ABSOLUTE))
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


def china_calibration(factors: dict[str, dict[str, float]]) -> Table:
    """Return China's calibration under each reading (china_calibration.csv).

    The columns of calibration_result.csv for China: the slope factor, the intercept it
    implies and the 2026 price that the calibration targets and the model gives.
    """
    goal = targets()[CHINA]
    rows = []
    for reading, found in factors.items():
        model = solution(read_china(tables(found, {CHINA}), reading))["price", CHINA, FIRST_YEAR]
        rows.append(
            {
                "reading": reading,
                "slope_factor_EUR_per_tCO2e_per_MtCO2e": f"{found[CHINA]:.6g}",
                "intercept_EUR_per_tCO2e": f"{intercept(CHINA, found[CHINA]):.4g}",
                "target_price_2026_EUR_per_tCO2e": round(goal["target"], 2),
                "model_price_2026_EUR_per_tCO2e": round(model, 2),
            }
        )
    return rows


def china_parameters() -> Table:
    """Return the standards of the intensity readings (china_parameters.csv)."""
    return [
        {
            "system": s.system,
            "name": s.name,
            "output_baseline_Munits": s.output_Munits,
            "emission_intensity_tCO2e_per_unit": round(s.intensity, 4),
            "benchmark_2026_tCO2e_per_unit": round(s.benchmark(FIRST_YEAR), 4),
            "benchmark_2035_tCO2e_per_unit": round(s.benchmark(LAST_YEAR), 4),
            "benchmark_change_percent_per_year": round(100 * s.benchmark_change, 2),
            "output_cost_slope_EUR_per_unit_per_Munits": f"{s.output_cost_slope:.4g}",
            "first_cap_year_as_announced": s.first_cap_year,
        }
        for s in china_standards()
    ]


def main(
    output: Path, results: Path = DATA, progress: Callable[[str], None] = lambda _: None
) -> None:
    """Calibrate; write the workbook, its variants and the calibration's and variants' results.

    The cap scenarios go to <output stem>_caps/ next to the workbook, the readings of China
    to <output stem>_china/, the results to `results`.
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
    china = {reading: factors | calibrate(reading=reading) for reading in CHINA_READINGS}
    china_factors = {ABSOLUTE: factors, **china}
    china_folder = output.with_name(f"{output.stem}_china")
    china_folder.mkdir(exist_ok=True)
    for reading, found in china.items():
        write_workbook(china_folder / f"{reading}.xlsx", read_china(tables(found), reading))
    write_csv(results, "china_parameters", china_parameters())
    write_csv(results, "china_calibration", china_calibration(china_factors))
    write_csv(results, "china_readings", china_comparison(china_factors))
    progress(f"wrote {output}, {folder} and {china_folder}")


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("explore.xlsx"),
        progress=lambda message: sys.stderr.write(f"{message}\n"),
    )
