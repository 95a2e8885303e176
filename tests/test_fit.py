"""The model held against observed figures: sheet `observed` in, sheet `fit` out."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from conftest import linear_case
from etslink.api import run
from etslink.cli import main
from etslink.errors import InputError
from etslink.outputs.fit import FIT_COLUMNS
from etslink.workflows.run import load_workbook

TWO_YEARS = (2030, 2031)


def _observed(*rows: tuple[str, int, str, float, float]) -> list[dict[str, object]]:
    return [
        {"system": s, "year": y, "quantity": q, "value": v, "weight": w, "source": "test"}
        for s, y, q, v, w in rows
    ]


def _linked_pair(**sheets: list[dict[str, object]]) -> dict:
    """A (MAC slope 1) and B (slope 3) must abate 30 and 10 Mt a year; linked two-way.

    Linked, one price p clears both years: p / 1 + p / 3 = 40, so p = 30 EUR per tCO2e;
    A abates 30 (emits 70) and B abates 10 (emits 90); nobody banks.
    """
    return linear_case(
        {"A": 1.0, "B": 3.0},
        {"A": 30.0, "B": 10.0},
        TWO_YEARS,
        links=[{"from_system": "A", "to_system": "B", "direction": "two-way"}],
        **sheets,
    )


def test_the_fit_sets_each_observation_beside_the_linked_case(workbook):
    observed = _observed(
        ("A", 2030, "price", 40.0, 1.0),
        ("B", 2031, "price", 25.0, 2.0),
        ("A", 2031, "emissions", 80.0, 0.0),
        ("B", 2030, "bank", 5.0, 1.0),
        ("B", 2030, "msr_intake", 0.0, 1.0),
    )
    result = run(workbook(_linked_pair(observed=observed)))
    fit = result.fit
    assert list(fit.columns) == list(FIT_COLUMNS)
    by_key = fit.set_index(["system", "year", "quantity"])
    assert by_key.loc[("A", 2030, "price"), "model"] == pytest.approx(30.0, rel=1e-6)
    assert by_key.loc[("A", 2030, "price"), "difference"] == pytest.approx(-0.25, rel=1e-5)
    assert by_key.loc[("B", 2031, "price"), "difference"] == pytest.approx(0.2, rel=1e-5)
    assert by_key.loc[("B", 2031, "price"), "weight"] == 2.0
    assert by_key.loc[("A", 2031, "emissions"), "model"] == pytest.approx(70.0, rel=1e-6)
    assert by_key.loc[("A", 2031, "emissions"), "difference"] == pytest.approx(-0.125, rel=1e-5)
    assert by_key.loc[("B", 2030, "bank"), "model"] == 0.0  # B does not bank
    assert by_key.loc[("B", 2030, "bank"), "difference"] == -1.0
    assert math.isnan(by_key.loc[("B", 2030, "msr_intake"), "difference"])  # 0 observed
    assert by_key.loc[("A", 2030, "price"), "unit"] == "EUR per tCO2e"
    assert by_key.loc[("A", 2031, "emissions"), "unit"] == "MtCO2e"
    assert result.record["fit"]["A"]["price"] == {
        "year": 2030,
        "observed": 40.0,
        "model": pytest.approx(30.0, rel=1e-6),
        "difference": pytest.approx(-0.25, rel=1e-5),
    }
    assert "msr_intake" not in result.record["fit"]["B"]  # nothing observed to compare


def test_a_run_with_observations_writes_the_fit_sheet_record_and_report(workbook, tmp_path):
    observed = _observed(("A", 2030, "price", 40.0, 1.0), ("B", 2031, "emissions", 80.0, 1.0))
    out = tmp_path / "out"
    assert (
        main(["run", str(workbook(_linked_pair(observed=observed))), "--out", str(out), "--quiet"])
        == 0
    )
    fit = pd.read_excel(out / "results.xlsx", sheet_name="fit")
    assert list(fit.columns) == list(FIT_COLUMNS)
    assert fit["difference"].tolist() == pytest.approx([-0.25, 90 / 80 - 1], rel=1e-5)
    record = json.loads((out / "run.json").read_text())
    assert record["fit"]["B"]["emissions"]["year"] == 2031
    report = (out / "report.html").read_text()
    assert 'id="fit"' in report
    assert "fit-model-price-A" in report
    assert "fit-observed-emissions-B" in report
    assert "+12%" in report  # B's emissions: 90 against 80 observed


def test_a_run_without_observations_writes_no_fit(workbook, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(workbook(_linked_pair())), "--out", str(out), "--quiet"]) == 0
    assert "fit" not in pd.ExcelFile(out / "results.xlsx").sheet_names
    assert "fit" not in json.loads((out / "run.json").read_text())
    assert 'id="fit"' not in (out / "report.html").read_text()


def test_the_reserve_intake_and_bank_are_compared_with_the_msr_and_balances_sheets():
    example = Path(__file__).resolve().parents[1] / "inputs" / "tutorial" / "8_reserve.xlsx"
    data, _ = load_workbook(example)
    result = run(example)
    msr = result.results.table("msr")
    balances = result.balances
    system, year = msr.iloc[-1]["system"], int(msr.iloc[-1]["year"])
    from dataclasses import replace

    from etslink.core.data import Observation
    from etslink.outputs.fit import fit_table

    result.results.data = replace(
        data,
        observations=(
            Observation(system, year, "msr_intake", 1.0),
            Observation(system, year, "bank", 1.0),
        ),
    )
    fit = fit_table(result.results)
    linked = balances[(balances["case"] == "linked") & (balances["year"] == year)]
    intake = msr[(msr["case"] == "linked") & (msr["year"] == year)]["intake_MtCO2e"].iloc[0]
    assert fit["model"].tolist() == pytest.approx(
        [intake, linked[linked["system"] == system]["bank_end_MtCO2e"].iloc[0]]
    )


def test_an_observed_price_of_zero_is_an_error_naming_the_cell(workbook):
    observed = _observed(("A", 2030, "price", 0.0, 1.0))
    with pytest.raises(InputError) as error:
        load_workbook(workbook(_linked_pair(observed=observed)))
    (issue,) = error.value.issues
    assert (issue.sheet, issue.cell) == ("observed", "D2")
    assert "ratio" in issue.problem


def test_an_unknown_quantity_or_system_is_an_error(workbook):
    observed = _observed(("A", 2030, "prices", 10.0, 1.0), ("Z", 2030, "price", 10.0, 1.0))
    with pytest.raises(InputError) as error:
        load_workbook(workbook(_linked_pair(observed=observed)))
    cells = {(i.sheet, i.cell) for i in error.value.issues}
    assert ("observed", "C2") in cells  # "prices" is not one of price, emissions, ...


def test_observations_outside_the_model_years_are_left_out_with_one_warning(workbook):
    observed = _observed(
        ("A", 2028, "price", 10.0, 1.0),
        ("A", 2029, "price", 10.0, 1.0),
        ("A", 2030, "price", 40.0, 1.0),
    )
    data, warnings = load_workbook(workbook(_linked_pair(observed=observed)))
    assert [(o.year, o.quantity) for o in data.observations] == [(2030, "price")]
    (warning,) = [w for w in warnings if w.sheet == "observed"]
    assert "2028-2029" in warning.problem
    assert "left out of the fit" in warning.problem
