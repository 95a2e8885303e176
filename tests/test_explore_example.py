"""The explore example: every number traceable, the workbook up to date, and docs/explore.md
quoting what `etslink explore inputs/explore.xlsx` gives."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

import etslink
from conftest import EXAMPLE, csv_rows, load_builder
from etslink.inputs.workbook import write_workbook
from etslink.workflows.run import load_workbook

WORKBOOK = EXAMPLE.with_name("explore.xlsx")
DATA = EXAMPLE.parent / "data" / "explore"
CAPS = EXAMPLE.parent / "explore_caps"
CHINA = EXAMPLE.parent / "explore_china"
ROOT = Path(__file__).resolve().parents[1]
DOCS = " ".join((ROOT / "docs" / "explore.md").read_text().split())
"""docs/explore.md with every run of white space made one space (line breaks move)."""
STATUSES = ("reported", "derived", "assumed")
BUILT = (
    "calibration_result",
    "calibration_check",
    "china_parameters",
    "china_calibration",
    "china_readings",
)
"""The build's outputs in DATA (no source ids)."""
GAIN, EMISSIONS = "gain_pv_MEUR", "emissions_change_MtCO2e"


def _rows(name: str) -> list[dict[str, str]]:
    return csv_rows(DATA, name)


def _builder():
    return load_builder("build_explore")


def _variant(tmp_path: Path, change) -> Path:
    """Write the shipped calibration's workbook with `change(tables)` applied."""
    build = _builder()
    factors = {
        r["group"]: float(r["slope_factor_EUR_per_tCO2e_per_MtCO2e"])
        for r in _rows("calibration_result")
    }
    tables = build.tables(factors)
    change(tables)
    path = tmp_path / "variant.xlsx"
    write_workbook(path, tables)
    return path


@pytest.fixture(scope="module")
def explored():
    return etslink.explore(WORKBOOK)


@pytest.mark.unit
def test_every_data_row_cites_a_documented_source():
    sources = {r["id"]: r for r in _rows("sources")}
    # a source's note says how each figure was got (some mix: "2022 reported; 2023 derived")
    assert all(any(word in r["note"] for word in STATUSES) for r in sources.values())
    for path in DATA.glob("*.csv"):
        if path.stem in ("sources", *BUILT):
            continue
        for row in _rows(path.stem):
            ids = [i for i in row.get("source_id", "").split(";") if i]
            if path.stem == "settings" and row["key"] in ("scenario_name", "base_year"):
                continue  # labels and choices, not figures
            assert ids, (path.name, row)
            assert all(i in sources for i in ids), (path.name, row)


def _assert_same_workbook(built: Path, shipped_path: Path) -> None:
    """Everything equal; calibrated MACs to 1e-6 (the search ends on solver numerics)."""
    new, shipped = load_workbook(built)[0], load_workbook(shipped_path)[0]
    assert dataclasses.replace(new, mac_linear=shipped.mac_linear) == shipped
    for key, mac in shipped.mac_linear.items():
        rebuilt = new.mac_linear[key]
        assert rebuilt.slope_per_tCO2e_per_MtCO2e == pytest.approx(
            mac.slope_per_tCO2e_per_MtCO2e, rel=1e-6
        )
        assert rebuilt.intercept_per_tCO2e == pytest.approx(mac.intercept_per_tCO2e, abs=1e-6)


@pytest.mark.slow
def test_shipped_workbook_is_what_the_data_build(tmp_path):
    """The workbook and the readings of China as the build writes them; the shipped
    calibration results and the readings' results are what the build writes."""
    built = tmp_path / "explore.xlsx"
    _builder().main(built, results=tmp_path)
    _assert_same_workbook(built, WORKBOOK)
    readings = sorted(p.name for p in CHINA.glob("*.xlsx"))
    assert readings == sorted(p.name for p in (tmp_path / "explore_china").glob("*.xlsx"))
    for name in readings:
        _assert_same_workbook(tmp_path / "explore_china" / name, CHINA / name)
    for name in BUILT:
        assert (tmp_path / f"{name}.csv").read_text() == (DATA / f"{name}.csv").read_text()
    shipped_caps = sorted(p.name for p in CAPS.glob("*.xlsx"))
    assert shipped_caps == sorted(p.name for p in (tmp_path / "explore_caps").glob("*.xlsx"))
    for name in shipped_caps:
        variant = load_workbook(tmp_path / "explore_caps" / name)[0]
        assert variant.cap_MtCO2e == load_workbook(CAPS / name)[0].cap_MtCO2e, name


@pytest.mark.solve
def test_each_lead_meets_its_2025_price_carried_to_2026(explored):
    """Observed 2025 price [own currency] / ECB 2025 rate x (1 + discount rate)."""
    rates = {r["currency"]: float(r["per_EUR"]) for r in _rows("exchange_rates")}
    rate = float(next(r["value"] for r in _rows("settings") if r["key"] == "discount_rate"))
    prices = explored.tables.status_quo_prices.set_index(["system", "year"])
    for row in _rows("calibration"):
        target = float(row["observed_price"]) / rates[row["currency"]] * (1 + rate)
        model = prices.loc[(row["lead_system"], 2026), "price_EUR_per_tCO2e"]
        assert model == pytest.approx(target, rel=1e-6), row["group"]


@pytest.mark.solve
def test_candidates_in_separate_markets_add_up(explored):
    """Candidates that share no system gain exactly their sum: one market's second stage
    (E14) does not depend on another's links. With the solver's pick among equal transfers
    the EU-UK link gained 13,444 MEUR more next to KR-CN than alone."""
    systems: dict[str, set[str]] = {}
    for r in explored.candidates.itertuples():
        systems.setdefault(r.candidate, set()).update({r.from_system, r.to_system})
    combos = explored.combinations.set_index("combination")
    separate = 0
    for label, row in combos.iterrows():
        parts = label.split(" + ")
        touched = [s for p in parts for s in systems[p]]
        if len(parts) > 1 and len(touched) == len(set(touched)):
            separate += 1
            assert row["gain_beyond_parts_pv_MEUR"] == pytest.approx(0, abs=1e-3), label
    assert separate >= 5


@pytest.mark.solve
def test_docs_quote_the_calibration():
    for r in _rows("calibration_result"):
        line = (
            f"| {r['group']} | {r['lead_system']} | {r['slope_factor_EUR_per_tCO2e_per_MtCO2e']} "
            f"| {r['intercept_EUR_per_tCO2e']} | {r['observed_price_2025_EUR_per_tCO2e']} "
            f"| {r['model_price_2026_EUR_per_tCO2e']} |"
        )
        assert line in DOCS
        assert r["target_price_2026_EUR_per_tCO2e"] == r["model_price_2026_EUR_per_tCO2e"]
    for r in _rows("calibration_check"):
        assert (
            f"| {r['quantity']} | {r['system']} | {r['year']} | {r['observed']} | {r['model']} "
            f"| {r['difference_percent']}% |" in DOCS
        )


@pytest.mark.solve
def test_docs_quote_the_results(explored):
    combos = explored.combinations.set_index("combination")
    gains = explored.combination_gains
    for r in explored.candidates.drop_duplicates("candidate").itertuples():
        c = combos.loc[r.candidate]
        assert (
            f"| {r.candidate} | {int(r.first_year)} | {c[GAIN]:,.0f} | {c[EMISSIONS]:+,.1f} |"
            in DOCS
        )
        for g in gains[gains["combination"] == r.candidate].itertuples():
            if abs(g.gain_pv_MEUR) > 0.5 or abs(g.emissions_change_MtCO2e) > 0.05:
                assert (
                    f"| {r.candidate} | {g.system} | {g.gain_pv_MEUR:,.0f} "
                    f"| {g.paid_abroad_pv_MEUR:,.0f} | {g.emissions_change_MtCO2e:+,.1f} |" in DOCS
                )
    prices = explored.combination_prices.set_index(["combination", "system", "year"])
    uk = prices.loc[("EU-UK", "UK", 2026), "price_EUR_per_tCO2e"]
    observed = next(
        float(r["observed"])
        for r in _rows("calibration_check")
        if (r["system"], r["year"]) == ("UK", "2026")
    )
    assert f"UK price in 2026 is {uk:.2f}, {100 * (uk / observed - 1):.1f}% above" in DOCS
    grand = " + ".join(explored.candidates["candidate"].unique())
    assert f"All four candidates gain {combos.loc[grand, GAIN]:,.0f} MEUR" in DOCS


@pytest.mark.solve
def test_docs_quote_the_eu_uk_link_under_the_other_timing_and_without_the_reserve(tmp_path):
    def latest(tables):
        tables["settings"].append({"key": "transfer_timing", "value": "latest"})

    def no_reserve(tables):
        del tables["msr"]

    out = etslink.explore(_variant(tmp_path, latest), max_size=1)
    total = out.combinations.set_index("combination").loc["EU-UK"]
    gains = out.combination_gains.set_index(["combination", "system"])[GAIN]
    assert (
        f"EU-UK would gain {total[GAIN]:,.0f} MEUR (EU {gains['EU-UK', 'EU']:,.0f}, "
        f"UK {gains['EU-UK', 'UK']:,.0f}) with {total[EMISSIONS]:,.0f} Mt more emissions" in DOCS
    )
    out = etslink.explore(_variant(tmp_path, no_reserve), max_size=1)
    gains = out.combination_gains.set_index(["combination", "system"])[GAIN]
    assert (
        f"the EU gains {gains['EU-UK', 'EU']:,.0f} and the UK "
        f"{gains['EU-UK', 'UK']:,.0f} MEUR" in DOCS
    )


@pytest.mark.solve
def test_a_reserve_counting_the_linked_market_gives_the_default_under_either_timing(
    tmp_path, explored
):
    """tnac_includes_linked = yes: the EU's TNAC is the market's bank, which the timing of
    transfers cannot move; with the earliest transfers the UK's bank stays empty, so the
    default reads the same TNAC (docs/explore.md quotes the number)."""

    def joint_latest(tables):
        for row in tables["msr"]:
            row["tnac_includes_linked"] = "yes"
        tables["settings"].append({"key": "transfer_timing", "value": "latest"})

    out = etslink.explore(_variant(tmp_path, joint_latest), max_size=1)
    joint = out.combinations.set_index("combination")[GAIN]
    default = explored.combinations.set_index("combination")[GAIN]
    for candidate in ("EU-UK", "NZ-EU"):  # a gain is a difference of costs of about 1e5 MEUR
        assert joint[candidate] == pytest.approx(default[candidate], abs=0.1)
    assert f"gives the same {joint['EU-UK']:,.0f} MEUR under either timing" in DOCS


@pytest.mark.solve
def test_docs_quote_each_cap_scenario():
    """Each variant differs from the central workbook only in its scenario's caps, and the
    docs' table quotes its EU 2026 price and each candidate's gain alone."""
    central = load_workbook(WORKBOOK)[0]
    scenarios = {r["scenario"] for r in _rows("caps_alternatives")}
    assert {p.stem for p in CAPS.glob("*.xlsx")} == scenarios
    rows = (ROOT / "docs" / "explore.md").read_text().splitlines()
    for scenario in ["central", *sorted(scenarios)]:
        path = WORKBOOK if scenario == "central" else CAPS / f"{scenario}.xlsx"
        if scenario != "central":
            variant = load_workbook(path)[0]
            changed = {k for k, v in variant.cap_MtCO2e.items() if v != central.cap_MtCO2e[k]}
            given = {
                (r["system"], int(r["year"]))
                for r in _rows("caps_alternatives")
                if r["scenario"] == scenario
            }
            assert changed <= given
            assert changed
        out = etslink.explore(path, max_size=1)
        gains = out.combinations.set_index("combination")[GAIN]
        eu = out.tables.status_quo_prices.set_index(["system", "year"]).loc[("EU", 2026)]
        numbers = " | ".join(f"{gains[c]:,.0f}" for c in ("EU-UK", "WCI-WA", "KR-CN", "NZ-EU"))
        row = next(line for line in rows if line.startswith(f"| {scenario} | "))
        assert row.endswith(f"| {eu.iloc[0]:.2f} | {numbers} |"), scenario


@pytest.mark.unit
def test_docs_quote_the_border_money(explored):
    """Each row of the border table: what UK, Chinese and Korean exporters pay, and the EU."""
    paid, revenue = "border_adjustments_paid_pv_MEUR", "border_adjustments_revenue_pv_MEUR"
    tables = {"status quo": explored.tables.status_quo}
    gains = explored.combination_gains
    for candidate in explored.candidates["candidate"].unique():
        tables[candidate] = gains[gains["combination"] == candidate]
    for name, table in tables.items():
        t = table.set_index("system")
        line = (
            f"| {name} | {t.loc['UK', paid]:,.0f} | {t.loc['CN', paid]:,.0f} "
            f"| {t.loc['KR', paid]:,.0f} | {t.loc['EU', revenue]:,.0f} |"
        )
        assert line in DOCS, name
    assert tables["EU-UK"].set_index("system").loc["UK", paid] == 0.0  # exempt when linked


READINGS = ("benchmark_caps", "intensity", "intensity_to_2035")
"""The readings of China the build writes to inputs/explore_china/ (docs/explore.md)."""
CHINA_SYSTEMS = ("CN", "CNI")
PAIR = ("KR", "CN")
"""The systems of KR-CN in china_readings.csv (CN: China, CN and CNI together)."""


def _readings() -> dict[tuple[str, str, str], dict[str, float]]:
    """Return china_readings.csv's numbers by (reading, case, system); blanks left out."""
    keys = ("reading", "case", "system")
    return {
        tuple(r[k] for k in keys): {k: float(v) for k, v in r.items() if k not in keys and v}
        for r in _rows("china_readings")
    }


def _sourced() -> dict[tuple[str, str, str], float]:
    """Return china_intensity_sourced.csv's figures by (sector, quantity, year)."""
    return {
        (r["sector"], r["quantity"], r["year"]): float(r["value"])
        for r in _rows("china_intensity_sourced")
    }


def _standards() -> dict[str, dict[str, float]]:
    """Return china_parameters.csv's numbers by system."""
    return {
        r["system"]: {k: float(v) for k, v in r.items() if k not in ("system", "name")}
        for r in _rows("china_parameters")
    }


def _per_eur(currency: str) -> float:
    return next(float(r["per_EUR"]) for r in _rows("exchange_rates") if r["currency"] == currency)


def _china_baseline() -> float:
    """Return the workbook's China baseline [MtCO2e] (held: no trend)."""
    return float(next(r for r in _rows("systems") if r["system"] == "CN")["baseline_2026_MtCO2e"])


def _line(*cells: object) -> str:
    """Return a table row as DOCS has it (white space made one space: blank cells "| |")."""
    return " ".join(("| " + " | ".join(str(c) for c in cells) + " |").split())


def _in_docs(*texts: str) -> None:
    for text in texts:
        assert text in DOCS, text


@pytest.mark.unit
def test_the_power_benchmark_falls_half_a_percent_a_year_within_each_plan():
    figure = _sourced()
    classes = {s for s, q, _ in figure if q == "benchmark_tCO2_per_MWh"}
    for c in classes:
        for first, second in (("2021", "2022"), ("2023", "2024")):
            after, before = (figure[c, "benchmark_tCO2_per_MWh", y] for y in (second, first))
            assert after / before - 1 == pytest.approx(-0.005, abs=2e-4), c
    for standard in _standards().values():
        assert standard["benchmark_change_percent_per_year"] == -0.5


@pytest.mark.unit
def test_the_china_standards_follow_the_rules_the_docs_give():
    """mu = 2024 emissions per unit x the workbook's baseline uplift, r = the 2024 benchmark
    falling 0.5% a year, d = price / (|elasticity| Q0); the baseline is the workbook's."""
    figure, cny = _sourced(), _per_eur("CNY")
    observed = next(r for r in _rows("calibration") if r["group"] == "CN")
    uplift = _china_baseline() / float(observed["observed_emissions_MtCO2e"])
    assert uplift == pytest.approx(1.02)
    q = {
        "CN": figure["power", "generation_TWh", "2024"],
        "CNI": figure["steel_cement_aluminium", "covered_emissions_MtCO2", "2024"],
    }
    price = {  # EUR per unit
        "CN": figure["power", "output_price_CNY_per_MWh", "2022"] / cny,
        "CNI": figure["steel", "price_CNY_per_t", "2025"]
        / cny
        / figure["steel", "intensity_tCO2_per_t", "2022"],
    }
    elasticity = {"CN": -0.412, "CNI": -0.25}
    assert figure["power", "demand_elasticity", "2014"] == elasticity["CN"]
    assert figure["steel", "demand_elasticity", "2002"] == elasticity["CNI"]
    r_2024 = {
        "CN": figure["power_coal_conventional_above_300MW", "benchmark_tCO2_per_MWh", "2024"],
        "CNI": figure["steel_cement_aluminium", "benchmark_to_intensity_ratio", "2024"],
    }
    mu = {
        "CN": uplift * figure["power", "covered_emissions_MtCO2", "2024"] / q["CN"],
        "CNI": uplift,
    }
    capped = {"CN": figure["all", "absolute_cap_from", "2030"], "CNI": 2027}
    for system, found in _standards().items():
        assert found["output_baseline_Munits"] == q[system]
        assert found["emission_intensity_tCO2e_per_unit"] == pytest.approx(mu[system], abs=1e-4)
        d = price[system] / (-elasticity[system] * q[system])
        assert found["output_cost_slope_EUR_per_unit_per_Munits"] == pytest.approx(d, rel=1e-3)
        for year in (2026, 2035):
            r = r_2024[system] * 0.995 ** (year - 2024)
            assert found[f"benchmark_{year}_tCO2e_per_unit"] == pytest.approx(r, abs=1e-4)
        assert found["first_cap_year_as_announced"] == capped[system]
    baseline = sum(mu[s] * q[s] for s in q)
    assert baseline == pytest.approx(_china_baseline(), rel=1e-4)


@pytest.mark.unit
@pytest.mark.parametrize("reading", READINGS)
def test_a_reading_of_china_changes_china_only(reading):
    """Every other system's inputs are the workbook's; China's baseline is the workbook's."""
    central, variant = (load_workbook(p)[0] for p in (WORKBOOK, CHINA / f"{reading}.xlsx"))

    def others(mapping):
        return {k: v for k, v in mapping.items() if k[0] not in CHINA_SYSTEMS}

    for field in ("cap_MtCO2e", "baseline_MtCO2e", "mac_linear", "price_controls"):
        assert others(getattr(variant, field)) == others(getattr(central, field)), field
    assert variant.supply_steps == central.supply_steps
    assert variant.reserve_rules == central.reserve_rules
    for year in range(2026, 2036):
        china = sum(variant.baseline_MtCO2e[s, year] for s in CHINA_SYSTEMS)
        assert china == pytest.approx(central.baseline_MtCO2e["CN", year], rel=1e-4)
    expected = {
        "benchmark_caps": set(),
        "intensity": {("CN", y) for y in range(2026, 2030)} | {("CNI", 2026)},
        "intensity_to_2035": {(s, y) for s in CHINA_SYSTEMS for y in range(2026, 2036)},
    }
    assert set(variant.intensity) == expected[reading]


@pytest.mark.solve
def test_the_absolute_reading_is_the_explore_example(explored):
    """china_readings.csv's rows for the workbook as it is are KR-CN of the results above."""
    gains = explored.combination_gains.set_index(["combination", "system"])
    rows = _readings()
    for system in PAIR:
        row, found = rows["absolute", "KR-CN", system], gains.loc[("KR-CN", system)]
        before = rows["absolute", "status quo", system]["emissions_MtCO2e"]
        assert row["gain_pv_MEUR"] == pytest.approx(found[GAIN], abs=0.01)
        assert row["paid_abroad_pv_MEUR"] == pytest.approx(found["paid_abroad_pv_MEUR"], abs=0.01)
        assert row["emissions_MtCO2e"] - before == pytest.approx(found[EMISSIONS], abs=0.02)


@pytest.mark.solve
@pytest.mark.parametrize("reading", READINGS)
def test_each_reading_of_china_is_what_explore_gives(reading):
    """etslink explore inputs/explore_china/<reading>.xlsx: KR-CN's gains and emissions and
    Korea's money abroad are china_readings.csv's (China = CN + CNI; explore counts their
    trades with each other as money abroad, the CSV does not)."""
    out = etslink.explore(CHINA / f"{reading}.xlsx", max_size=1)
    gains = out.combination_gains
    kr_cn = gains[gains["combination"] == "KR-CN"].set_index("system")
    rows = _readings()
    for system, members in (("KR", ["KR"]), ("CN", list(CHINA_SYSTEMS))):
        row, found = rows[reading, "KR-CN", system], kr_cn.loc[members]
        assert row["gain_pv_MEUR"] == pytest.approx(found[GAIN].sum(), abs=0.01)
        assert row["emissions_MtCO2e"] == pytest.approx(found["emissions_MtCO2e"].sum(), abs=0.01)
    korea = kr_cn.loc["KR", "paid_abroad_pv_MEUR"]
    assert rows[reading, "KR-CN", "KR"]["paid_abroad_pv_MEUR"] == pytest.approx(korea, abs=0.01)
    prices = out.combination_prices.set_index(["combination", "system", "year"])
    assert rows[reading, "KR-CN", "CN"]["price_2030_EUR_per_tCO2e"] == pytest.approx(
        prices.loc[("KR-CN", "CN", 2030), "price_EUR_per_tCO2e"], abs=0.005
    )


@pytest.mark.unit
def test_docs_quote_the_china_standards_and_calibration():
    for r in _rows("china_parameters"):
        numbers = (
            f"{float(r['output_baseline_Munits']):,.0f}",
            r["emission_intensity_tCO2e_per_unit"],
            r["benchmark_2026_tCO2e_per_unit"],
            r["benchmark_2035_tCO2e_per_unit"],
            r["output_cost_slope_EUR_per_unit_per_Munits"],
            r["first_cap_year_as_announced"],
        )
        _in_docs(f"| {r['system']} | ", _line(*numbers))
    central = next(r for r in _rows("calibration_result") if r["group"] == "CN")
    factors = {}
    for r in _rows("china_calibration"):
        factor, price = (
            r["slope_factor_EUR_per_tCO2e_per_MtCO2e"],
            r["model_price_2026_EUR_per_tCO2e"],
        )
        factors[r["reading"]] = float(factor)
        assert price == r["target_price_2026_EUR_per_tCO2e"]
        _in_docs(_line(r["reading"], factor, r["intercept_EUR_per_tCO2e"], price))
    assert factors["absolute"] == float(central["slope_factor_EUR_per_tCO2e_per_MtCO2e"])
    _in_docs(f"{factors['absolute'] / factors['intensity']:.1f} times flatter")


def _change(value: float, digits: str = "+.1f") -> str:
    """Return a change rounded as the docs show it (never -0.0)."""
    return f"{round(value, 1) + 0.0:{digits}}"


def _gain_line(reading: str, rows: dict) -> str:
    """Return the row of docs/explore.md's KR-CN table of a reading of China."""
    link, before = ({s: rows[reading, case, s] for s in PAIR} for case in ("KR-CN", "status quo"))
    change = {s: link[s]["emissions_MtCO2e"] - before[s]["emissions_MtCO2e"] for s in PAIR}
    return _line(
        reading,
        f"{link['KR']['gain_pv_MEUR']:,.0f}",
        f"{link['CN']['gain_pv_MEUR']:,.0f}",
        f"{link['KR']['gain_pv_MEUR'] + link['CN']['gain_pv_MEUR']:,.0f}",
        f"{link['KR']['paid_abroad_pv_MEUR']:,.0f}",
        f"{link['CN']['paid_abroad_pv_MEUR']:,.0f}",
        _change(change["KR"]),
        _change(change["CN"]),
        _change(change["KR"] + change["CN"]),
    )


def _case_line(reading: str, case: str, rows: dict) -> str:
    """Return the row of docs/explore.md's table of prices, emissions and China's output."""
    kr, cn = rows[reading, case, "KR"], rows[reading, case, "CN"]
    output = [
        f"{cn[c]:.2f}" if c in cn else ""
        for c in ("power_output_moved_TWh", "industry_output_moved_Munits")
    ]
    return _line(
        reading,
        case,
        *(f"{x[f'price_{y}_EUR_per_tCO2e']:.2f}" for x in (kr, cn) for y in (2030, 2035)),
        f"{cn['emissions_MtCO2e']:,.2f}",
        f"{kr['emissions_MtCO2e'] + cn['emissions_MtCO2e']:,.2f}",
        *output,
    )


@pytest.mark.unit
def test_docs_quote_the_readings_of_china():
    rows = _readings()
    for reading in ("absolute", *READINGS):
        _in_docs(_gain_line(reading, rows))
        for case in ("status quo", "KR-CN"):
            _in_docs(_case_line(reading, case, rows))


@pytest.mark.unit
def test_docs_quote_the_china_sources():
    figure = _sourced()
    power = ("power", "demand_elasticity", "2014")
    low = figure["power", "demand_elasticity_low", "2022"]
    steel = (
        figure["steel", "price_CNY_per_t", "2025"],
        figure["steel", "intensity_tCO2_per_t", "2022"],
    )
    _in_docs(
        f"the workbook's {_china_baseline():,.0f} Mt",
        f"({figure['power_coal_conventional_above_300MW', 'benchmark_tCO2_per_MWh', '2024']}, X61)",
        f"({figure['power', 'covered_emissions_MtCO2', '2024']:,.0f} Mt, X59)",
        f"({figure['steel_cement_aluminium', 'covered_emissions_MtCO2', '2024']:,.0f} Mt, X62)",
        f"{figure['power', 'output_price_CNY_per_MWh', '2022']} CNY per MWh (X68)",
        f"e = {figure[power]}",
        f"{low}, which moves output {figure[power] / low:.1f} times less",
        f"{steel[0]:,} / {steel[1]} CNY",
        f"elasticity, {figure['steel', 'demand_elasticity', '2002']} (X71)",
    )


@pytest.mark.unit
def test_docs_quote_the_path_of_chinas_allowances():
    """China's shortage at baseline output under the standards and under X50, the decade's
    allowances, the prices and the gains that the first bullet under the tables quotes."""
    baseline, standards, rows = _china_baseline(), _standards(), _readings()
    caps = {int(r["year"]): float(r["cap_MtCO2e"]) for r in _rows("caps") if r["system"] == "CN"}

    def short(year: int) -> str:
        """Return 1 - allowances at baseline output / baseline emissions [%], China."""
        issued = sum(
            s[f"benchmark_{year}_tCO2e_per_unit"] * s["output_baseline_Munits"]
            for s in standards.values()
        )
        return f"{100 * (1 - issued / baseline):.1f}"

    capped = load_workbook(CHINA / "benchmark_caps.xlsx")[0].cap_MtCO2e
    issued = sum(v for (s, _), v in capped.items() if s in CHINA_SYSTEMS)
    kr, cn = (rows["intensity", "status quo", s] for s in PAIR)

    def gain(reading: str) -> float:
        return sum(rows[reading, "KR-CN", s]["gain_pv_MEUR"] for s in PAIR)

    _in_docs(
        f"{short(2026)}% fewer allowances than its baseline emissions in 2026 and "
        f"{short(2035)}% fewer in 2035, against {100 * (1 - caps[2026] / baseline):.1f}% "
        f"and {100 * (1 - caps[2035] / baseline):.1f}%",
        f"({issued:,.0f} Mt against {sum(caps.values()):,.0f})",
        f"(8.26 in 2026, {cn['price_2035_EUR_per_tCO2e']:.2f} in 2035)",
        f"({kr['price_2026_EUR_per_tCO2e']:.2f} to {kr['price_2035_EUR_per_tCO2e']:.2f})",
        f"from {gain('absolute'):,.0f} to {gain('intensity'):,.0f} MEUR",
    )
    assert kr["price_2030_EUR_per_tCO2e"] < cn["price_2030_EUR_per_tCO2e"]
    assert kr["price_2035_EUR_per_tCO2e"] > cn["price_2035_EUR_per_tCO2e"]
    for reading in ("intensity", "intensity_to_2035"):
        assert abs(gain("benchmark_caps") - gain(reading)) < 1  # "to within 1 MEUR"


@pytest.mark.unit
def test_docs_quote_the_output_subsidy():
    """(mu - r) p per MWh against the coal power price; output's largest yearly move."""
    power, rows = _standards()["CN"], _readings()
    gap = power["emission_intensity_tCO2e_per_unit"] - power["benchmark_2026_tCO2e_per_unit"]
    price = _sourced()["power", "output_price_CNY_per_MWh", "2022"] / _per_eur("CNY")
    moved = {
        reading: -rows[reading, "status quo", "CN"]["power_output_moved_TWh"]
        for reading in ("intensity", "intensity_to_2035")
    }
    share = (
        max(moved["intensity"] / 4, moved["intensity_to_2035"] / 10)
        / power["output_baseline_Munits"]
    )
    _in_docs(
        f"{gap:.4f} t per MWh in 2026, {gap * 8.26:.2f} EUR at 8.26 EUR, "
        f"{100 * gap * 8.26 / price:.1f}% of the coal power price ({price:.2f} EUR per MWh)",
        f"within {math.ceil(1000 * share) / 10:.1f}% of its baseline",
        f"({moved['intensity']:.2f} TWh less over 2026-2029 as announced, "
        f"{moved['intensity_to_2035']:.2f} less over 2026-2035",
    )


@pytest.mark.unit
def test_docs_quote_whether_linking_raises_combined_emissions():
    rows = _readings()
    combined = {
        reading: sum(
            rows[reading, "KR-CN", s]["emissions_MtCO2e"]
            - rows[reading, "status quo", s]["emissions_MtCO2e"]
            for s in PAIR
        )
        for reading in ("absolute", "intensity", "intensity_to_2035")
    }
    intensity = [
        rows["intensity", case, "CN"]["power_output_moved_TWh"] for case in ("status quo", "KR-CN")
    ]
    assert intensity[0] == intensity[1]  # the link does not reach China's intensity years
    before, after = (rows["intensity_to_2035", case, "CN"] for case in ("status quo", "KR-CN"))
    prices = [
        f"({before[f'price_{y}_EUR_per_tCO2e']:.2f} to {after[f'price_{y}_EUR_per_tCO2e']:.2f}"
        for y in (2030, 2035)
    ]
    trigger = max(
        float(r["trigger_price_per_tCO2e"]) for r in _rows("supply_steps") if r["system"] == "KR"
    ) / _per_eur("KRW")
    linked = rows["intensity", "KR-CN", "KR"]["price_2035_EUR_per_tCO2e"]
    assert linked < trigger < rows["absolute", "KR-CN", "KR"]["price_2035_EUR_per_tCO2e"]
    fewer = before["power_output_moved_TWh"] - after["power_output_moved_TWh"]
    _in_docs(
        f"do not move ({_change(combined['intensity'])} Mt)",
        f"{prices[0]})",
        f"{prices[1]} in 2035)",
        f"output falls {fewer:.2f} TWh more",
        f"combined emissions by {-combined['intensity_to_2035']:.1f} Mt",
        f"they rise {combined['absolute']:.1f} Mt",
        f"stabilisation trigger ({trigger:.2f} EUR)",
        f"({linked:.2f} in 2035, linked)",
    )
