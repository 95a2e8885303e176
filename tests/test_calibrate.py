"""`etslink calibrate`: parameters known by construction are recovered from observations."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import linear_case
from etslink.api import calibrate, run
from etslink.cli import main
from etslink.errors import InputError
from etslink.workflows.calibrate import plan_calibration as calibrate_plan
from etslink.workflows.run import load_workbook


def _observed(rows: list[tuple[str, int, str, float]]) -> list[dict[str, object]]:
    return [
        {"system": s, "year": y, "quantity": q, "value": v, "source": "made by the test"}
        for s, y, q, v in rows
    ]


def _pair(calibration: list[dict[str, object]], observed: list[dict[str, object]]) -> dict:
    """A (slope 2) and B (slope 3) must abate 30 and 10 Mt; linked two-way.

    The observations come from slopes 3 and 1.5 (mac_scale 1.5 for A, 0.5 for B): one price
    p clears p / 3 + p / 1.5 = 40, so p = 40, A abates 13.33 (emits 86.67) and B 26.67
    (emits 73.33).
    """
    return linear_case(
        {"A": 2.0, "B": 3.0},
        {"A": 30.0, "B": 10.0},
        links=[{"from_system": "A", "to_system": "B", "direction": "two-way"}],
        calibration=calibration,
        observed=observed,
    )


TRUE_PAIR = _observed(
    [
        ("A", 2030, "price", 40.0),
        ("A", 2030, "emissions", 260 / 3),
        ("B", 2030, "emissions", 220 / 3),
    ]
)


def test_two_mac_scales_are_recovered_from_a_price_and_two_emissions(workbook):
    rows = [
        {"parameter": "mac_scale", "target": "A", "lower": 0.2, "upper": 5},
        {"parameter": "mac_scale", "target": "B", "lower": 0.2, "upper": 5},
    ]
    result = calibrate(workbook(_pair(rows, TRUE_PAIR)))
    assert result.parameters["fitted"].tolist() == pytest.approx([1.5, 0.5], rel=1e-4)
    assert result.fit["difference_after"].abs().max() < 1e-4
    c = result.record["calibration"]
    assert c["objective_after"] < 1e-8 < c["objective_before"]
    assert c["far_after"] == 0


def test_observations_one_factor_cannot_both_fit_are_named_as_pulling_apart(workbook):
    """Both years are alike, so one factor gives both the same price: 40 and 60 pull apart."""
    tables = linear_case(
        {"A": 2.0, "B": 3.0},
        {"A": 30.0, "B": 10.0},
        (2030, 2031),
        links=[{"from_system": "A", "to_system": "B", "direction": "two-way"}],
        calibration=[{"parameter": "mac_scale", "target": "A+B", "lower": 0.2, "upper": 5}],
        observed=_observed([("A", 2030, "price", 40.0), ("B", 2031, "price", 60.0)]),
    )
    result = calibrate(workbook(tables))
    # the best single price is the geometric mean of 40 and 60 (least squares of log ratios)
    assert result.fit["model_after"].tolist() == pytest.approx([2400**0.5] * 2, rel=1e-5)
    (line,) = result.record["calibration"]["pulls"]
    assert line == ("mac_scale of A+B: B's price 2031 pulls it up, A's price 2030 pulls it down")


def test_baseline_scale_recovers_the_baseline_behind_a_price(workbook):
    """C alone, slope 1, cap 80: at baseline 100 k it abates 100 k - 80, so p = 100 k - 80."""
    tables = linear_case(
        {"C": 1.0},
        {"C": 20.0},
        calibration=[{"parameter": "baseline_scale", "target": "C", "lower": 0.5, "upper": 2}],
        observed=_observed([("C", 2030, "price", 30.0)]),
    )
    result = calibrate(workbook(tables))
    assert result.parameters["fitted"].iloc[0] == pytest.approx(1.1, rel=1e-5)
    assert result.fit["model_before"].iloc[0] == pytest.approx(20.0, rel=1e-6)
    assert result.fit["model_after"].iloc[0] == pytest.approx(30.0, rel=1e-5)


def _banking(foresight: int | None, **sheets: list[dict[str, object]]) -> dict:
    """One system banks over four years whose caps fall steeply; slope 1, discount 5%."""
    years = (2030, 2031, 2032, 2033)
    tables = linear_case({"C": 1.0}, {"C": 0.0}, years, **sheets)
    for r, cap in zip(tables["emissions"], (100.0, 90.0, 60.0, 30.0), strict=True):
        r["cap_MtCO2e"] = cap
    tables["systems"] = [{"system": "C", "banking": "yes"}]
    tables["settings"] = [
        {"key": "discount_rate", "value": 0.05},
        *([{"key": "foresight_years", "value": foresight}] if foresight else []),
    ]
    return tables


def test_the_foresight_horizon_is_recovered_by_trying_each(workbook, tmp_path):
    truth = run(workbook(_banking(2)))
    prices = truth.prices[truth.prices["case"] == "linked"]
    observed = _observed(
        [
            ("C", int(y), "price", float(p))
            for y, p in zip(prices["year"], prices.iloc[:, -1], strict=True)
        ]
    )
    tables = _banking(
        None,
        calibration=[{"parameter": "foresight_years", "target": "*", "lower": 1, "upper": 4}],
        observed=observed,
    )
    result = calibrate(workbook(tables))
    assert result.parameters["fitted"].tolist() == [2]
    objective = result.horizons.set_index("foresight_years")["objective"]
    assert objective[2] < 1e-10
    assert min(objective[1], objective[3], objective[4]) > 1e-4  # the horizons differ
    out = result.write(tmp_path / "out")
    settings = pd.read_excel(out / "calibrated.xlsx", sheet_name="settings")
    assert dict(zip(settings["key"], settings["value"], strict=True))["foresight_years"] == 2


def test_the_command_writes_a_calibrated_workbook_that_reproduces_the_fit(workbook, tmp_path):
    rows = [
        {"parameter": "mac_scale", "target": "A", "lower": 0.2, "upper": 5},
        {"parameter": "mac_scale", "target": "B", "lower": 0.2, "upper": 5},
    ]
    source = workbook(_pair(rows, TRUE_PAIR))
    before = source.read_bytes()
    out = tmp_path / "out"
    assert main(["calibrate", str(source), "--out", str(out), "--quiet"]) == 0
    assert source.read_bytes() == before  # the input is never changed
    assert sorted(p.name for p in out.iterdir()) == [
        "calibrated.xlsx",
        "calibration.xlsx",
        "report.html",
        "run.json",
    ]
    fit = pd.read_excel(out / "calibration.xlsx", sheet_name="fit")
    rerun = run(out / "calibrated.xlsx").fit
    assert rerun["model"].tolist() == pytest.approx(fit["model_after"].tolist(), rel=1e-9)
    slopes = pd.read_excel(out / "calibrated.xlsx", sheet_name="mac_linear")
    assert slopes["slope_per_tCO2e_per_MtCO2e"].tolist() == pytest.approx([3.0, 1.5], rel=1e-4)
    record = json.loads((out / "run.json").read_text())
    assert record["calibration"]["fitted"][0]["fitted"] == pytest.approx(1.5, rel=1e-4)
    report = (out / "report.html").read_text()
    assert "fit-after-price-A" in report
    assert "fit-before-emissions-B" in report


def test_a_workbook_without_calibration_rows_or_observations_is_refused(workbook, tmp_path, capsys):
    path = workbook(_pair([], []))
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "calibration: there is nothing to fit" in err
    assert "observed: there is nothing to fit to" in err
    assert not (tmp_path / "out").exists()


def test_calibration_rows_are_checked_cell_by_cell(workbook):
    rows = [
        {"parameter": "mac_scale", "target": "A+Z", "lower": 0.2, "upper": 5},
        {"parameter": "mac_scale", "target": "A", "lower": 0.2, "upper": 5},
        {"parameter": "baseline_scale", "target": "B", "lower": 2, "upper": 5},
        {"parameter": "foresight_years", "target": "A", "lower": 1.5, "upper": 3},
    ]
    with pytest.raises(InputError) as error:
        load_workbook(workbook(_pair(rows, TRUE_PAIR)))
    problems = {(i.row, i.column, i.problem.split(" ")[0]) for i in error.value.issues}
    assert problems == {
        (2, "target", '"Z"'),  # not on sheet systems
        (3, "target", "A's"),  # already fitted on row 2
        (4, "initial", "the"),  # the search would start at 1, outside 2-5
        (5, "target", "the"),  # the market's foresight is one setting: target *
        (5, "lower", "foresight_years"),  # needs a whole number
    }


def test_fitting_foresight_years_beside_a_foresight_sheet_is_refused(workbook):
    rows = [{"parameter": "foresight_years", "target": "*", "lower": 1, "upper": 3}]
    tables = _pair(rows, TRUE_PAIR)
    tables["foresight"] = [{"system": "*", "first_year": 2030, "years": 1}]
    with pytest.raises(InputError) as error:
        calibrate_plan(workbook(tables))
    (issue,) = error.value.issues
    assert (issue.sheet, issue.row, issue.column) == ("calibration", 2, "parameter")
