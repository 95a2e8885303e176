"""The shipped example: every number traceable, the workbook up to date, prices as observed."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
from pathlib import Path

import pytest

from conftest import EXAMPLE
from etslink.pipeline import load_workbook

DATA = EXAMPLE.parent / "data"
STATUSES = ("reported", "derived", "assumed")


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_example", EXAMPLE.parent / "build_example.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.unit
def test_every_data_row_cites_a_documented_source():
    sources = {r["id"]: r for r in _rows("sources")}
    assert all(r["note"].startswith(STATUSES) for r in sources.values())
    for path in DATA.glob("*.csv"):
        if path.stem in ("sources", "calibration_result", "calibration_check"):
            continue
        for row in _rows(path.stem):
            ids = row["source_id"].split(";")
            assert ids, path.name
            assert all(i in sources for i in ids), (path.name, row)


@pytest.mark.unit
def test_every_cap_status_is_stated():
    assert {r["status"] for r in _rows("caps")} <= set(STATUSES)


@pytest.mark.slow
def test_shipped_workbook_is_what_the_data_build(tmp_path):
    """Everything equal; calibrated MACs to 1e-6, as bisection ends on solver numerics."""
    built = tmp_path / "example.xlsx"
    _builder().main(built)
    new, shipped = load_workbook(built)[0], load_workbook(EXAMPLE)[0]
    assert dataclasses.replace(new, mac_linear=shipped.mac_linear) == shipped
    for key, mac in shipped.mac_linear.items():
        rebuilt = new.mac_linear[key]
        assert rebuilt.slope_per_tCO2e_per_MtCO2e == pytest.approx(
            mac.slope_per_tCO2e_per_MtCO2e, rel=1e-6
        )
        assert rebuilt.intercept_per_tCO2e == pytest.approx(mac.intercept_per_tCO2e, abs=1e-6)
        assert rebuilt.max_abatement_MtCO2e == mac.max_abatement_MtCO2e


@pytest.mark.solve
def test_reference_year_prices_are_in_the_observed_range(example_run):
    """Each group's lead system reproduces its observed 2019 price within 1%."""
    import pandas as pd

    rates = {r["currency"]: float(r["per_EUR"]) for r in _rows("exchange_rates")}
    prices = pd.read_excel(example_run / "results.xlsx", sheet_name="prices")
    linked = prices[prices["case"] == "linked"].set_index(["system", "year"])
    for target in _rows("calibration"):
        observed = float(target["observed_price"]) / rates[target["currency"]]
        model = linked.loc[
            (target["lead_system"], int(target["reference_year"])), "price_EUR_per_tCO2e"
        ]
        assert model == pytest.approx(observed, rel=0.01), target["lead_system"]


@pytest.mark.unit
def test_example_documentation_quotes_the_calibration_check():
    page = (Path(__file__).resolve().parents[1] / "docs" / "example.md").read_text()
    for row in _rows("calibration_check"):
        assert f"| {row['quantity']} | {row['system']} | {row['year']} |" in page, row
        assert f"| {row['observed']} | {row['model']} |" in page, row
