"""The explore example: every number traceable, the workbook up to date, and docs/explore.md
quoting what `etslink explore inputs/explore.xlsx` gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import etslink
from conftest import EXAMPLE, csv_rows, load_builder
from etslink.inputs.workbook import write_workbook
from etslink.workflows.run import load_workbook

WORKBOOK = EXAMPLE.with_name("explore.xlsx")
DATA = EXAMPLE.parent / "data" / "explore"
CAPS = EXAMPLE.parent / "explore_caps"
ROOT = Path(__file__).resolve().parents[1]
DOCS = " ".join((ROOT / "docs" / "explore.md").read_text().split())
"""docs/explore.md with every run of white space made one space (line breaks move)."""
STATUSES = ("reported", "derived", "assumed")
BUILT = ("calibration_result", "calibration_check")
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


@pytest.mark.slow
def test_shipped_workbook_is_what_the_data_build(tmp_path):
    """Everything equal; calibrated MACs to 1e-6 (the search ends on solver numerics); the
    shipped calibration results are what the build writes."""
    built = tmp_path / "explore.xlsx"
    _builder().main(built, results=tmp_path)
    new, shipped = load_workbook(built)[0], load_workbook(WORKBOOK)[0]
    assert dataclasses.replace(new, mac_linear=shipped.mac_linear) == shipped
    for key, mac in shipped.mac_linear.items():
        rebuilt = new.mac_linear[key]
        assert rebuilt.slope_per_tCO2e_per_MtCO2e == pytest.approx(
            mac.slope_per_tCO2e_per_MtCO2e, rel=1e-6
        )
        assert rebuilt.intercept_per_tCO2e == pytest.approx(mac.intercept_per_tCO2e, abs=1e-6)
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
