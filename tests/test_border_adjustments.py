"""Carbon border adjustments: charges at the solved prices, known answers (tutorial 1's pair)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import linear_case
from etslink.api import run
from etslink.cli import main
from etslink.errors import InputError
from etslink.workflows.run import load_workbook

PAIR = ({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0})
"""Alone A's price is 2 x 10 = 20 and B's 8 x 10 = 80; linked both are 32 (tutorial 1)."""


def _pair(rows: list[dict[str, object]], linked: bool = True) -> dict:
    links = [{"from_system": "A", "to_system": "B"}] if linked else []
    return linear_case(*PAIR, links=links, border_adjustments=rows)


def _charges(result) -> pd.DataFrame:
    return result.results.table("border_adjustments").set_index(["case", "origin"])


def test_a_border_charge_is_the_phased_in_price_gap_and_a_link_exempts_it(workbook):
    """B charges 5 Mt from A at half the gap: alone 0.5 x (80 - 20) = 30 per tonne, 150 MEUR;
    linked directly, exempt (and the gap would be 0 anyway)."""
    rows = [{"importer": "B", "origin": "A", "year": 2030, "embedded_MtCO2e": 5, "phase_in": 0.5}]
    table = _charges(run(workbook(_pair(rows))))
    assert table.loc[("autarky", "A"), "charge_EUR_per_tCO2e"] == pytest.approx(30, abs=1e-6)
    assert table.loc[("autarky", "A"), "paid_MEUR"] == pytest.approx(150, abs=1e-5)
    assert table.loc[("linked", "A"), "paid_MEUR"] == 0.0
    assert table.loc[("linked", "A"), "exempt_linked"] == "yes"


def test_without_deduction_or_from_a_region_the_importers_full_price_is_charged(workbook):
    rows = [
        {
            "importer": "B",
            "origin": "A",
            "year": 2030,
            "embedded_MtCO2e": 5,
            "phase_in": 0.5,
            "deduct_origin_price": "no",
            "exempt_when_linked": "no",
        },
        {"importer": "B", "origin": "ROW", "year": 2030, "embedded_MtCO2e": 2},
        {"importer": "A", "origin": "B", "year": 2030, "embedded_MtCO2e": 3},
    ]
    table = _charges(run(workbook(_pair(rows))))
    charge = "charge_EUR_per_tCO2e"
    assert table.loc[("autarky", "A"), charge] == pytest.approx(0.5 * 80, abs=1e-6)
    assert table.loc[("linked", "A"), charge] == pytest.approx(0.5 * 32, abs=1e-6)
    assert table.loc[("autarky", "ROW"), "paid_MEUR"] == pytest.approx(2 * 80, abs=1e-5)
    assert table.loc[("linked", "ROW"), "paid_MEUR"] == pytest.approx(2 * 32, abs=1e-5)
    assert table.loc[("autarky", "B"), charge] == 0.0  # A's price is below B's: no refund


def test_gains_say_what_exporters_pay_and_importers_collect(workbook):
    rows = [
        {"importer": "B", "origin": "A", "year": 2030, "embedded_MtCO2e": 5, "phase_in": 0.5},
        {"importer": "B", "origin": "ROW", "year": 2030, "embedded_MtCO2e": 2},
    ]
    result = run(workbook(_pair(rows)))
    gains = result.gains.set_index("system")
    assert gains.loc["A", "autarky_border_adjustments_paid_pv_MEUR"] == pytest.approx(150)
    assert gains.loc["A", "linked_border_adjustments_paid_pv_MEUR"] == 0.0
    assert gains.loc["B", "autarky_border_adjustments_revenue_pv_MEUR"] == pytest.approx(310)
    assert gains.loc["B", "linked_border_adjustments_revenue_pv_MEUR"] == pytest.approx(64)
    # the charge changes no market: prices and the gain are those without the sheet
    plain = run(workbook(_pair([])))
    assert result.prices.equals(plain.prices)
    column = "gain_from_linking_pv_MEUR"
    assert gains[column].tolist() == plain.gains.set_index("system")[column].tolist()


def test_the_sheet_reaches_results_xlsx_and_the_report(workbook, tmp_path):
    rows = [{"importer": "B", "origin": "A", "year": 2030, "embedded_MtCO2e": 5, "phase_in": 0.5}]
    out = tmp_path / "out"
    assert main(["run", str(workbook(_pair(rows))), "--out", str(out), "--quiet"]) == 0
    sheet = pd.read_excel(out / "results.xlsx", sheet_name="border_adjustments")
    assert list(sheet.columns) == [
        "case",
        "importer",
        "origin",
        "year",
        "embedded_MtCO2e",
        "charge_EUR_per_tCO2e",
        "paid_MEUR",
        "exempt_linked",
    ]
    report = (out / "report.html").read_text()
    assert 'id="border-adjustments"' in report


def test_bad_border_adjustment_cells_are_errors_with_the_cell(workbook):
    rows = [
        {"importer": "B", "origin": "A", "year": 2030, "embedded_MtCO2e": -1},
        {"importer": "A", "origin": "B", "year": 2030, "embedded_MtCO2e": 1, "phase_in": 1.5},
    ]
    with pytest.raises(InputError) as error:
        load_workbook(workbook(_pair(rows)))
    assert {(i.cell, i.column) for i in error.value.issues} == {
        ("D2", "embedded_MtCO2e"),  # negative
        ("E3", "phase_in"),  # above 1: a share
    }


def test_border_adjustments_must_name_a_system_year_and_another_origin(workbook):
    rows = [
        {"importer": "Z", "origin": "A", "year": 2030, "embedded_MtCO2e": 5},
        {"importer": "B", "origin": "A", "year": 2031, "embedded_MtCO2e": 5},
        {"importer": "A", "origin": "A", "year": 2030, "embedded_MtCO2e": 1},
    ]
    with pytest.raises(InputError) as error:
        load_workbook(workbook(_pair(rows)))
    assert {(i.row, i.column) for i in error.value.issues} == {
        (2, "importer"),  # not on sheet systems
        (3, "year"),  # B has no 2031
        (4, "origin"),  # a system does not charge itself
    }


def test_explore_reports_border_money_per_combination_and_system(workbook):
    """A candidate link A-B exempts B's border: A's exporters stop paying 150 (alone)."""
    from etslink.api import explore

    rows = [{"importer": "B", "origin": "A", "year": 2030, "embedded_MtCO2e": 5, "phase_in": 0.5}]
    explored = explore(workbook(_pair(rows, linked=False)))
    gains = explored.combination_gains.set_index("system")
    assert gains.loc["A", "border_adjustments_paid_pv_MEUR"] == 0.0
    assert gains.loc["B", "border_adjustments_revenue_pv_MEUR"] == 0.0
    status_quo = explored.tables.status_quo.set_index("system")
    assert status_quo.loc["A", "border_adjustments_paid_pv_MEUR"] == pytest.approx(150)
    assert status_quo.loc["B", "border_adjustments_revenue_pv_MEUR"] == pytest.approx(150)
