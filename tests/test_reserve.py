"""The reserve (MSR): its rules against the Commission's published figures, and the market
equilibrium under it against a fixed point iterated by hand."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import BASELINE, linear_case
from etslink.core.data import ReserveRule
from etslink.instruments.reserve import intake, release, reserve_path
from etslink.workflows.run import load_workbook, run_cases

EU = ReserveRule("EU", (2019,), intake_threshold_MtCO2e=833.0, intake_rate=0.24)
"""The EU rule to 2023: 24% of the TNAC above 833 M allowances (Decision (EU) 2015/1814)."""


@pytest.mark.unit
@pytest.mark.parametrize(
    ("tnac", "expected"),
    [
        (1654.909824, 397.178358),  # TNAC published May 2019 -> intake Sep 2019-Aug 2020
        (1134.794738, 272.350737),  # published 2023: 24%, the TNAC being above 1,096 M
    ],
)
def test_intake_is_the_rate_of_the_tnac_above_the_threshold(tnac, expected):
    assert intake(EU, tnac) == pytest.approx(expected, abs=1e-6)  # MtCO2e: one allowance


@pytest.mark.unit
def test_from_2024_the_intake_is_at_most_the_excess_over_the_threshold():
    rule = dataclasses.replace(EU, intake_capped_at_excess=True)
    assert intake(rule, 1023.494202) == pytest.approx(190.494202, abs=1e-6)  # TNAC - 833 M
    assert intake(rule, 2000.0) == pytest.approx(480.0)  # 24% is less than the excess
    assert intake(rule, 833.0) == 0.0


@pytest.mark.unit
def test_release_below_the_threshold_is_at_most_what_the_reserve_holds():
    rule = dataclasses.replace(EU, release_threshold_MtCO2e=400.0, release_MtCO2e=100.0)
    assert release(rule, 350.0, holdings=250.0) == 100.0
    assert release(rule, 350.0, holdings=60.0) == 60.0
    assert release(rule, 450.0, holdings=250.0) == 0.0


@pytest.mark.unit
def test_holdings_above_the_limit_are_invalidated(workbook):
    data, _ = load_workbook(workbook(linear_case({"EU": 1.0}, {"EU": 10.0}, years=(2030, 2031))))
    rule = ReserveRule(
        "EU", (2030, 2031), 20.0, 0.5, holdings_limit_MtCO2e=400.0, initial_holdings_MtCO2e=380.0
    )
    data = dataclasses.replace(data, reserve_rules=(rule,))
    first, second = reserve_path(data, "EU", {2030: 100.0, 2031: 10.0})
    assert first.intake_MtCO2e == 50.0
    assert first.invalidated_MtCO2e == pytest.approx(30.0)
    assert first.holdings_MtCO2e == pytest.approx(400.0)
    assert second.intake_MtCO2e == 0.0  # TNAC 10 is below the threshold
    assert second.holdings_MtCO2e == pytest.approx(400.0)


SLOPE, CAP, BANK0, RATE, THRESHOLD = 2.0, 70.0, 60.0, 0.24, 20.0
YEARS = (2030, 2031, 2032)


def _by_hand(
    rate: float, slope: float = SLOPE, baseline: float = BASELINE, cap: float = CAP
) -> tuple[float, list[float], list[float]]:
    """Return price, intakes and banks of the equilibrium, iterating the closed form.

    One system, no discounting, banks positive until the last year: the price is the same
    in every year, and all allowances (initial bank + caps - intakes) are used by the end:
    3 (B - p / c) = sum(cap) - sum(intake) + bank0.
    """
    taken = [0.0, 0.0, 0.0]
    for _ in range(200):
        price = slope * (baseline - (3 * cap - sum(taken) + BANK0) / 3)
        emissions = baseline - price / slope
        banks = [BANK0]
        for y in range(3):
            banks.append(banks[-1] + cap - taken[y] - emissions)
        taken = [rate * b if b > THRESHOLD else 0.0 for b in banks[:3]]
    assert min(banks[:3]) > 0  # the closed form's assumption
    return price, taken, banks[1:]


def _tables(rate: float) -> dict:
    """Return the one-system case, with a reserve on sheet msr if `rate` is positive."""
    tables = linear_case({"EU": SLOPE}, {"EU": BASELINE - CAP}, years=YEARS)
    tables["systems"][0]["initial_bank_MtCO2e"] = BANK0
    if rate:
        tables["msr"] = [
            {
                "system": "EU",
                "first_year": YEARS[0],
                "intake_threshold_MtCO2e": THRESHOLD,
                "intake_rate": rate,
            }
        ]
    return tables


def _case(workbook, rate: float):  # noqa: ANN202
    data, _ = load_workbook(workbook(_tables(rate)))
    return run_cases(data)


@pytest.mark.solve
def test_the_equilibrium_under_the_reserve_is_the_hand_iterated_fixed_point(workbook):
    price, taken, banks = _by_hand(RATE)
    out = _case(workbook, RATE)
    for y in YEARS:
        assert out.price("autarky", "EU", y) == pytest.approx(price, rel=1e-6)
    msr = out.table("msr").set_index(["case", "year"])
    for y, expected in zip(YEARS, taken, strict=True):
        assert msr.loc[("autarky", y), "intake_MtCO2e"] == pytest.approx(expected, abs=1e-4)
    banked = out.table("balances").set_index(["case", "year"])["bank_end_MtCO2e"]
    for y, expected in zip(YEARS[:2], banks[:2], strict=True):
        assert banked[("autarky", y)] == pytest.approx(expected, abs=1e-4)


@pytest.mark.solve
def test_the_reserve_raises_the_price(workbook):
    without = _case(workbook, 0.0).price("autarky", "EU", 2030)
    assert without == pytest.approx(SLOPE * (BASELINE - (3 * CAP + BANK0) / 3), rel=1e-6)
    assert _case(workbook, RATE).price("autarky", "EU", 2030) > without + 1.0


@pytest.mark.solve
def test_with_foresight_of_every_year_the_reserve_gives_the_perfect_foresight_answer(workbook):
    data, _ = load_workbook(workbook(_tables(RATE)))
    perfect = run_cases(data)
    planned = run_cases(dataclasses.replace(data, foresight_years=len(YEARS)))
    short = run_cases(dataclasses.replace(data, foresight_years=1))
    for y in YEARS:
        assert planned.price("autarky", "EU", y) == pytest.approx(
            perfect.price("autarky", "EU", y), rel=1e-6
        )
    assert short.table("msr")["intake_MtCO2e"].iloc[0] == pytest.approx(RATE * BANK0)


@pytest.mark.solve
def test_a_workbook_with_a_reserve_writes_the_msr_sheet_and_report_section(workbook, tmp_path):
    import pandas as pd

    from etslink.cli import main

    out = tmp_path / "out"
    assert main(["run", str(workbook(_tables(RATE))), "--out", str(out), "--quiet"]) == 0
    msr = pd.read_excel(out / "results.xlsx", sheet_name="msr")
    assert list(msr.columns) == [
        "case",
        "system",
        "year",
        "tnac_previous_MtCO2e",
        "intake_MtCO2e",
        "release_MtCO2e",
        "invalidated_MtCO2e",
        "holdings_MtCO2e",
    ]
    first = msr[(msr["case"] == "linked") & (msr["year"] == YEARS[0])].iloc[0]
    assert first["intake_MtCO2e"] == pytest.approx(RATE * BANK0)
    assert 'id="reserve"' in (out / "report.html").read_text()
    import json

    record = json.loads((out / "run.json").read_text())
    assert record["cases"]["linked"]["reserve_steps"] >= 2


@pytest.mark.solve
def test_under_limited_foresight_the_reserve_reads_its_own_systems_bank():
    """The EU and Switzerland both bank: prices do not say which holds the bank, so each
    plan's TNAC must be that of the smallest transfers, the EU bank the results report. Then
    the EU's balance closes with the reserve's reported intake and release (the first stage
    alone put part of the bank in Switzerland: 423 Mt off with 9 years of foresight)."""
    from conftest import EXAMPLE

    data, _ = load_workbook(EXAMPLE)
    out = run_cases(dataclasses.replace(data, foresight_years=9))
    msr = out.table("msr").set_index(["case", "year"])
    balances = out.table("balances")
    eu = balances[balances["system"] == "EU"].set_index(["case", "year"])
    last = max(data.years_of("EU"))
    for (case, year), row in eu.iterrows():
        held = row["bank_end_MtCO2e"] if year < last else 0.0
        owed = row["emissions_MtCO2e"] + held + row["unsold_at_floor_MtCO2e"]
        owed += row["surplus_MtCO2e"]
        previous = (
            eu.loc[(case, year - 1), "bank_end_MtCO2e"]
            if (case, year - 1) in eu.index
            else data.initial_bank_MtCO2e["EU"]
        )
        reserve = msr.loc[(case, year)] if (case, year) in msr.index else None
        supply = 0.0 if reserve is None else reserve["release_MtCO2e"] - reserve["intake_MtCO2e"]
        available = row["cap_MtCO2e"] + supply + previous + row["net_imports_MtCO2e"]
        available += row["offsets_used_MtCO2e"] + row["ceiling_sales_MtCO2e"]
        assert owed == pytest.approx(available, abs=1e-4), (case, year)


def _linked_pair(counts_linked: str, timing: str) -> dict:
    """EU (reserve, bank BANK0) and UK (no bank) alike, linked two-way, no discounting."""
    tables = linear_case(
        {"EU": SLOPE, "UK": SLOPE},
        {"EU": BASELINE - CAP, "UK": BASELINE - CAP},
        years=YEARS,
        links=[{"from_system": "UK", "to_system": "EU"}],
        settings=[{"key": "transfer_timing", "value": timing}],
    )
    tables["systems"][0]["initial_bank_MtCO2e"] = BANK0
    tables["msr"] = [
        {
            "system": "EU",
            "first_year": YEARS[0],
            "intake_threshold_MtCO2e": THRESHOLD,
            "intake_rate": RATE,
            "tnac_includes_linked": counts_linked,
        }
    ]
    return tables


@pytest.mark.solve
@pytest.mark.parametrize("timing", ["earliest", "latest"])
def test_a_reserve_that_counts_linked_banks_reads_the_pooled_market(solve, timing):
    """With tnac_includes_linked the reserve reads the banks of EU and UK together: the linked
    market is one system of twice the baseline and caps, abating at half the slope (two
    equal MACs), and the answer does not depend on when allowances cross the border."""
    price, taken, banks = _by_hand(RATE, SLOPE / 2, 2 * BASELINE, 2 * CAP)
    out = solve(_linked_pair("yes", timing))
    msr = out.table("msr").set_index(["case", "year"])
    for y, intake_, bank in zip(YEARS, taken, [BANK0, *banks[:2]], strict=True):
        assert out.price("linked", "EU", y) == pytest.approx(price, rel=1e-6)
        assert out.price("linked", "UK", y) == pytest.approx(price, rel=1e-6)
        assert msr.loc[("linked", y), "tnac_previous_MtCO2e"] == pytest.approx(bank, abs=1e-4)
        assert msr.loc[("linked", y), "intake_MtCO2e"] == pytest.approx(intake_, abs=1e-4)


@pytest.mark.solve
def test_a_reserve_that_counts_its_own_bank_depends_on_the_transfer_timing(solve):
    """Without the option the EU's own bank is read, which the timing convention moves."""
    earliest = solve(_linked_pair("no", "earliest")).table("msr")
    latest = solve(_linked_pair("no", "latest")).table("msr")
    assert earliest["intake_MtCO2e"].sum() != pytest.approx(latest["intake_MtCO2e"].sum())
