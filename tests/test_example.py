"""The shipped example: every number traceable, the workbook up to date, prices as observed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from conftest import EXAMPLE, csv_rows, load_builder
from etslink.workflows.run import load_workbook

DATA = EXAMPLE.parent / "data"
STATUSES = ("reported", "derived", "assumed")


def _rows(name: str) -> list[dict[str, str]]:
    return csv_rows(DATA, name)


def _builder():
    return load_builder("build_example")


@pytest.mark.unit
def test_every_data_row_cites_a_documented_source():
    sources = {r["id"]: r for r in _rows("sources")}
    assert all(r["note"].startswith(STATUSES) for r in sources.values())
    for path in DATA.glob("*.csv"):
        if path.stem == "sources" or path.stem.startswith("calibration_"):
            continue  # the build's outputs
        for row in _rows(path.stem):
            ids = row["source_id"].split(";")
            assert ids, path.name
            assert all(i in sources for i in ids), (path.name, row)


@pytest.mark.unit
def test_every_cap_status_is_stated():
    assert {r["status"] for r in _rows("caps")} <= set(STATUSES)


@pytest.mark.slow
def test_shipped_workbook_is_what_the_data_build(tmp_path):
    """The workbooks are the data with the factors `etslink calibrate` fitted (the build with
    --fitted reads them from calibration_result.csv), and the comparison with the observations
    that docs/example.md quotes is what the build writes."""
    built = tmp_path / "example.xlsx"
    _builder().main(built, results=tmp_path, fitted=True)
    for name in ("calibration_fit", "calibration_no_invalidation"):
        assert (tmp_path / f"{name}.csv").read_text() == (DATA / f"{name}.csv").read_text(), name
    for name in ("example.xlsx", "example_no_invalidation.xlsx"):
        assert load_workbook(tmp_path / name)[0] == load_workbook(EXAMPLE.with_name(name))[0]


@pytest.mark.unit
def test_each_groups_prior_mac_passes_through_its_leads_observed_2019_point():
    """Before calibration the lead's MAC (through zero) prices its 2019 abatement, baseline -
    observed emissions, at the observed price; the others in the group share the factor."""
    builder = _builder()
    rates = {r["currency"]: float(r["per_EUR"]) for r in _rows("exchange_rates")}
    systems = {r["system"]: r for r in _rows("systems")}
    prior = builder.tables({}, 11)
    slopes = {
        (r["system"], r["year"]): r["slope_per_tCO2e_per_MtCO2e"] for r in prior["mac_linear"]
    }
    for target in _rows("calibration"):
        lead = target["lead_system"]
        abated = builder.baseline(systems[lead], 2019) - float(target["observed_emissions_MtCO2e"])
        price = float(target["observed_price"]) / rates[target["currency"]]
        assert slopes[lead, 2019] * abated == pytest.approx(price, rel=1e-12), lead


@pytest.mark.unit
def test_the_example_is_built_with_the_factors_the_calibration_fitted():
    builder = _builder()
    scales, horizon = builder.read_fitted()["all years"]
    data = load_workbook(EXAMPLE)[0]
    assert data.foresight_years == horizon
    for row in builder.tables({}, horizon)["mac_linear"]:
        factor = builder.scale(scales, "mac_scale", row["system"])
        shipped = data.mac_linear[row["system"], row["year"]].slope_per_tCO2e_per_MtCO2e
        assert shipped == pytest.approx(row["slope_per_tCO2e_per_MtCO2e"] * factor, rel=1e-12)


def _source_number(source_id: str) -> float:
    """Return the first number of a source's value, e.g. 486087000 of "486087000 (general ...)"."""
    value = next(r["value"] for r in _rows("sources") if r["id"] == source_id)
    return float(value.split()[0].rstrip(";,"))


ALLOWANCES_PER_MT = 1e6  # S68: 1 allowance = 1 tCO2e


@pytest.mark.unit
def test_eu_enters_2018_with_its_published_surplus():
    data = load_workbook(EXAMPLE)[0]
    assert data.initial_bank_MtCO2e["EU"] == _source_number("S45") / ALLOWANCES_PER_MT


@pytest.mark.unit
def test_msr_sheet_holds_the_sourced_rules_as_they_were_announced():
    """Decision (EU) 2015/1814 as amended (S55-S60, S86-S89): 24% above 833 M, 100 M below
    400 M, 900 M to start. As legislated in 2018 (known from the start): 12% from 2024 and
    holdings above the previous year's auction volume (the 2022 volume) invalidated from 2023;
    as proposed in July 2021: 24% to 2030, capped at the excess over 833 M; as adopted in 2023
    (in force): the same with holdings above 400 M invalidated from 2024."""
    data = load_workbook(EXAMPLE)[0]
    auctioned_2022 = _source_number("S60") / ALLOWANCES_PER_MT

    def rules(d):
        return [
            (
                r.years[0],
                r.years[-1],
                r.intake_rate,
                r.intake_capped_at_excess,
                r.holdings_limit_MtCO2e,
            )
            for r in sorted(d.reserve_rules, key=lambda r: r.years[0])
        ]

    first = [(2019, 2022, 0.24, False, None), (2023, 2023, 0.24, False, auctioned_2022)]
    assert rules(data.known_in(2018)) == [*first, (2024, 2040, 0.12, False, auctioned_2022)]
    assert rules(data.known_in(2021)) == [
        *first,
        (2024, 2030, 0.24, True, auctioned_2022),
        (2031, 2040, 0.12, True, auctioned_2022),
    ]
    assert (
        rules(data)
        == rules(data.known_in(2023))
        == [
            *first,
            (2024, 2030, 0.24, True, 400),
            (2031, 2040, 0.12, True, 400),
        ]
    )
    for rule in data.reserve_rules:
        assert rule.system == "EU"
        assert (rule.intake_threshold_MtCO2e, rule.release_threshold_MtCO2e) == (833, 400)
        assert rule.release_MtCO2e == 100
    assert (
        data.reserve_rules[0].initial_holdings_MtCO2e == _source_number("S55") / ALLOWANCES_PER_MT
    )


@pytest.mark.unit
def test_eu_caps_are_known_as_announced():
    """The plans see the 2018 reform's 2.2% a year continuing (S85, S87), from 2021 the
    Fit-for-55 proposal (4.2%, 117 M rebasing; S88, S90), from 2023 the adopted revision (S94),
    which reaches zero in 2040."""
    data = load_workbook(EXAMPLE)[0]
    assert sorted(data.vintages) == [2018, 2021, 2023]
    caps = {t: v.cap_MtCO2e for t, v in data.vintages.items()}
    assert caps[2018]["EU", 2030] == pytest.approx(1184.551372)
    assert caps[2021]["EU", 2030] == pytest.approx(793.89264)
    assert caps[2023]["EU", 2030] == data.cap_MtCO2e["EU", 2030] == pytest.approx(774.345588)
    assert data.cap_MtCO2e["EU", 2040] == 0
    assert all(
        caps[t]["EU", y] == data.cap_MtCO2e["EU", y] for t in caps for y in range(2018, 2024)
    )


@pytest.mark.unit
def test_variant_only_stops_the_invalidation_after_2026():
    """In the rules in force and in every rule known before: the same but the holdings limit."""
    example = load_workbook(EXAMPLE)[0]
    variant = load_workbook(EXAMPLE.with_name("example_no_invalidation.xlsx"))[0]
    assert "without invalidation from 2027" in variant.scenario_name
    assert sorted(variant.vintages) == sorted(example.vintages)
    for year in (None, *example.vintages):
        ours = example if year is None else example.vintages[year]
        theirs = variant if year is None else variant.vintages[year]
        same = {
            "reserve_rules": ours.reserve_rules,
            "scenario_name": ours.scenario_name,
            "vintages": ours.vintages,
        }
        assert dataclasses.replace(theirs, **same) == ours, year
        limit = {y: r.holdings_limit_MtCO2e for r in theirs.reserve_rules for y in r.years}
        assert limit == {
            y: r.holdings_limit_MtCO2e for r in ours.reserve_rules for y in r.years
        } | {y: None for y in range(2027, 2041)}, year


def _sheet(run: Path, name: str, case: str = "linked"):
    import pandas as pd

    table = pd.read_excel(run / "results.xlsx", sheet_name=name)
    return table[table["case"] == case]


@pytest.mark.solve
def test_first_intake_is_24_percent_of_the_2018_tnac_the_model_computes(example_run):
    balances = _sheet(example_run, "balances").set_index(["system", "year"])
    reserve = _sheet(example_run, "msr").set_index(["system", "year"])
    tnac_2018 = balances.loc[("EU", 2018), "bank_end_MtCO2e"]
    assert tnac_2018 > 833
    assert reserve.loc[("EU", 2019), "tnac_previous_MtCO2e"] == pytest.approx(tnac_2018)
    assert reserve.loc[("EU", 2019), "intake_MtCO2e"] == pytest.approx(0.24 * tnac_2018)


@pytest.mark.solve
@pytest.mark.parametrize("case", ["linked", "autarky"])
def test_reserve_holdings_never_exceed_the_limit_from_2024(example_run, case):
    reserve = _sheet(example_run, "msr", case)
    assert (reserve.loc[reserve["year"] >= 2024, "holdings_MtCO2e"] <= 400 + 1e-9).all()
    assert (
        reserve.loc[reserve["year"] == 2023, "holdings_MtCO2e"].item()
        <= _source_number("S60") / ALLOWANCES_PER_MT + 1e-9
    )


@pytest.mark.solve
@pytest.mark.parametrize("case", ["linked", "autarky"])
def test_eu_balances_close_with_the_reserves_reported_operations(example_run, case):
    """(E11) with (E15): what the EU owes less what it has besides the reserve is exactly the
    reserve's reported release less intake, every year: the run is a fixed point of the rules."""
    balances = _sheet(example_run, "balances", case)
    balances = balances[balances["system"] == "EU"].set_index("year")
    reserve = _sheet(example_run, "msr", case)
    reserve = reserve[reserve["system"] == "EU"].set_index("year")
    carried = load_workbook(EXAMPLE)[0].initial_bank_MtCO2e["EU"]
    for year, r in balances.sort_index().iterrows():
        owed = r["emissions_MtCO2e"] + r["bank_end_MtCO2e"] + r["unsold_at_floor_MtCO2e"]
        available = (
            r["cap_MtCO2e"]
            + carried
            + r["net_imports_MtCO2e"]
            + r["offsets_used_MtCO2e"]
            + r["ceiling_sales_MtCO2e"]
            + r["supply_steps_MtCO2e"]
        )
        operation = reserve.loc[year, "release_MtCO2e"] - reserve.loc[year, "intake_MtCO2e"]
        # the fixed point stops once no year's supply moves by 1e-8 of the largest cap
        assert owed - available == pytest.approx(operation, abs=1e-4), year
        carried = r["bank_end_MtCO2e"]


@pytest.mark.solve
@pytest.mark.parametrize("case", ["linked", "autarky"])
def test_every_balance_closes_from_the_balances_sheet_alone(example_run, case):
    """(E11) read off the sheet: owed + surplus = available in every system-year, with the
    bank carried in and the reserve's supply as columns of their own."""
    balances = _sheet(example_run, "balances", case)
    last = balances.groupby("system")["year"].transform("max") == balances["year"]
    carried_out = balances["bank_end_MtCO2e"].where(~last, 0.0)
    owed = balances["emissions_MtCO2e"] + balances["unsold_at_floor_MtCO2e"] + carried_out
    supply = [
        "cap_MtCO2e",
        "net_imports_MtCO2e",
        "offsets_used_MtCO2e",
        "ceiling_sales_MtCO2e",
        "supply_steps_MtCO2e",
        "bank_start_MtCO2e",
        "reserve_supply_MtCO2e",
    ]
    gap = balances[supply].sum(axis=1) - owed - balances["surplus_MtCO2e"]
    assert gap.abs().max() < 1e-4  # the reserve's fixed point: 1e-8 of the largest cap
    assert balances["reserve_supply_MtCO2e"].abs().max() > 100  # the EU's reserve acts


@pytest.mark.unit
def test_example_documentation_quotes_the_calibrations_the_fit_and_the_variant():
    page = (Path(__file__).resolve().parents[1] / "docs" / "example.md").read_text()
    for r in _rows("calibration_fit"):
        line = (
            f"| {r['year']} | {r['observed']} | {r['model']} | {r['difference_percent']}% "
            f"| {r['model_fitted_to_2020']} | {r['difference_fitted_to_2020_percent']}% |"
        )
        assert line in page, r
    fitted = {
        (r["fit"], r["parameter"], r["target"]): r["fitted"] for r in _rows("calibration_result")
    }
    for _, parameter, target in fitted:
        line = (
            f"| `{parameter}` | {target} | {fitted['to 2020', parameter, target]} "
            f"| {fitted['all years', parameter, target]} |"
        )
        assert line in page, (parameter, target)
    for r in _rows("calibration_foresight"):
        line = f"| {r['foresight_years']} | {r['objective_to_2020']} | {r['objective_all_years']} |"
        assert line in page, r
    for r in _rows("calibration_mechanisms"):
        line = (
            f"| {r['variant']} | {r['objective']} | {r['largest_EU_price_difference_percent']}% "
            f"| {r['largest_EU_tnac_difference_percent']}% "
            f"| {r['largest_CA_price_difference_percent']}% |"
        )
        assert line in page, r
    for r in _rows("calibration_no_invalidation"):
        assert f"| {r['year']} | {r['price_EU']} | {r['price_EU_no_invalidation']} |" in page, r


@pytest.mark.unit
def test_observed_eu_figures_are_those_their_sources_give():
    """Reported TNACs are the published allowance counts / 1e6; derived ones are the published
    intake / 24% (S67); prices appear in their source's value as written there."""
    sources = {r["id"]: r["value"] for r in _rows("sources")}
    derived_from_intake = {2020: "S48", 2021: "S50"}
    eu = [
        r for r in _rows("observed") if r["system"] == "EU" and r["quantity"] in ("price", "bank")
    ]
    assert len(eu) == 14  # prices 2018-2024, banks 2018-2022, 2024 and 2025
    for row in eu:
        first, value, year = row["source_id"].split(";")[0], float(row["value"]), int(row["year"])
        if row["quantity"] == "price":
            assert f"{value:.2f}" in sources[first], row
        elif row["status"] == "reported":
            assert value == _source_number(first) / ALLOWANCES_PER_MT, row
        elif year in derived_from_intake:
            intake = _source_number(derived_from_intake[year]) / ALLOWANCES_PER_MT
            assert value == pytest.approx(intake / 0.24, abs=1e-6), row
        else:  # 2024: only a rounded intake of 276 million is published (S53)
            assert value == pytest.approx(276 / 0.24, rel=0.01), row


@pytest.mark.unit
def test_observed_reserve_intakes_are_the_published_allowance_counts():
    """Each intake is the second number its source gives (TNAC; intake), or the only one."""
    for row in _rows("observed"):
        if row["quantity"] != "msr_intake":
            continue
        value = next(
            r["value"] for r in _rows("sources") if r["id"] == row["source_id"].split(";")[0]
        )
        numbers = value.split(";")
        published = float(numbers[1 if len(numbers) > 1 else 0].split()[0])
        assert float(row["value"]) == published / ALLOWANCES_PER_MT, row


@pytest.mark.unit
def test_observed_wci_prices_are_the_mean_of_the_auctions_their_source_lists():
    """The source lists each auction's settlement price, e.g. "14.61 (Feb), 14.65 (May), ...";
    California's and Quebec's rows are the mean of those found (the same joint auctions)."""
    import re

    prices = {}
    for row in _rows("observed"):
        if row["quantity"] != "price" or row["system"] not in ("CA", "QC"):
            continue
        value = next(r["value"] for r in _rows("sources") if r["id"] == row["source_id"])
        auctions = [float(x) for x in re.findall(r"([0-9.]+) \((?:Feb|May|Aug|Nov)\)", value)]
        assert len(auctions) >= 3, row
        assert float(row["value"]) == pytest.approx(sum(auctions) / len(auctions), abs=0.005), row
        prices.setdefault(row["year"], set()).add(row["value"])
    assert all(len(values) == 1 for values in prices.values())


@pytest.mark.solve
def test_every_run_of_the_example_holds_it_against_the_observations(example_run):
    import json

    import pandas as pd

    fit = pd.read_excel(example_run / "results.xlsx", sheet_name="fit")
    assert len(fit) == len(_rows("observed"))
    record = json.loads((example_run / "run.json").read_text())
    assert set(record["fit"]) == {"EU", "CH", "CA", "QC", "TK"}
    # docs/example.md: the EU's prices and TNAC within 25%; California's prices 40% below
    assert abs(record["fit"]["EU"]["price"]["difference"]) < 0.25
    assert abs(record["fit"]["EU"]["bank"]["difference"]) < 0.25
    assert record["fit"]["CA"]["price"]["difference"] < -0.25


@pytest.mark.unit
def test_observed_california_emissions_are_carbs_covered_emissions():
    """S99 lists "2018 319.88, 2019 311.19, ..." (CARB's MRR covered emissions, MtCO2e)."""
    listed = dict(pair.split() for pair in _rows_by_id("S99")["value"].split(", "))
    rows = [r for r in _rows("observed") if (r["system"], r["quantity"]) == ("CA", "emissions")]
    assert [r["year"] for r in rows] == [str(y) for y in range(2018, 2024)]
    assert all(listed[r["year"]] == r["value"] for r in rows)


def _rows_by_id(source_id: str) -> dict[str, str]:
    return next(r for r in _rows("sources") if r["id"] == source_id)
