"""Every tutorial workbook runs, and gives the numbers docs/tutorial.md states."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from etslink.cli import main
from etslink.workflows.run import load_workbook, run_cases

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "tutorial.md").read_text()
KEYS = ["case", "system", "year"]
COLUMNS = {  # header of an expect table -> (sheet of results.xlsx, column)
    "price": ("prices", "price_EUR_per_tCO2e"),
    "abatement": ("balances", "abatement_MtCO2e"),
    "net imports": ("balances", "net_imports_MtCO2e"),
    "offsets used": ("balances", "offsets_used_MtCO2e"),
    "supply steps": ("balances", "supply_steps_MtCO2e"),
    "bank end": ("balances", "bank_end_MtCO2e"),
    "intake": ("msr", "intake_MtCO2e"),
}

pytestmark = pytest.mark.solve


def _expected() -> dict[str, list[dict[str, str]]]:
    """Return the rows of each `<!-- expect NAME -->` table of the page."""
    tables = {}
    for name, body in re.findall(r"<!-- expect (\S+) -->\n((?:\|.*\n)+)", PAGE):
        lines = [line.strip("|").split("|") for line in body.strip().splitlines()]
        header = [cell.strip() for cell in lines[0]]
        tables[name] = [
            dict(zip(header, (c.strip() for c in row), strict=True)) for row in lines[2:]
        ]
    return tables


EXPECTED = _expected()


def _workbook(name: str) -> Path:
    return ROOT / "inputs" / "tutorial" / f"{name}.xlsx"


def _run(name: str, tmp_path: Path) -> dict[str, pd.DataFrame]:
    out = tmp_path / name
    assert (
        main(
            [
                "run",
                str(_workbook(name)),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    return pd.read_excel(out / "results.xlsx", sheet_name=None)


def test_every_tutorial_has_a_workbook_and_a_table():
    workbooks = {p.stem for p in (ROOT / "inputs" / "tutorial").glob("*.xlsx")}
    assert workbooks == set(EXPECTED)
    assert len(workbooks) == 18


def test_every_column_of_the_expect_tables_is_checked():
    for name, rows in EXPECTED.items():
        assert set(rows[0]) - set(KEYS) <= set(COLUMNS), name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tutorial_numbers(name, tmp_path):
    book = _run(name, tmp_path)
    for row in EXPECTED[name]:
        key = (row["case"], row["system"], int(row["year"]))
        for label in row.keys() - KEYS:
            sheet, column = COLUMNS[label]
            got = book[sheet].set_index(KEYS).loc[key, column]
            assert got == pytest.approx(float(row[label]), abs=0.005), (row, label)


def test_tutorial_prose_numbers(tmp_path):
    """The numbers in the tutorials' text that the tables do not hold."""
    costs = _run("1_two_way", tmp_path)["costs"].groupby("case")["abatement_cost_MEUR"].sum()
    assert costs["autarky"] == pytest.approx(500, abs=0.01)
    assert costs["linked"] == pytest.approx(320, abs=0.01)
    shadow = _run("3_transfer_limit", tmp_path)["shadow_prices"].set_index("restriction")
    assert shadow.loc["transfer_limit", "shadow_price_EUR_per_tCO2e"] == pytest.approx(
        40, abs=0.005
    )
    credits = _run("5_indirect_offsets", tmp_path)["offset_prices"]
    assert credits["price_EUR_per_tCO2e"].tolist() == pytest.approx([8, 8], abs=0.005)
    sold = _run("7_price_ceiling", tmp_path)["balances"]["ceiling_sales_MtCO2e"]
    assert sold.tolist() == pytest.approx([3.75, 3.75], abs=0.005)
    steps = _run("9_supply_steps", tmp_path)["costs"].set_index(["case", "system"])
    assert steps.loc[("autarky", "B"), "supply_step_purchases_MEUR"] == pytest.approx(100)
    assert steps.loc[("autarky", "B"), "compliance_cost_MEUR"] == pytest.approx(356, abs=0.01)
    held = _run("8_reserve", tmp_path)["msr"].set_index(KEYS)["holdings_MtCO2e"]
    assert held[("autarky", "A", 2032)] == pytest.approx(25.68, abs=0.005)


def test_tutorial_reserve_compared_without_it():
    """8_reserve without its msr sheet: price 14 and banks 46, 23 (the text's comparison)."""
    data, _ = load_workbook(_workbook("8_reserve"))
    out = run_cases(dataclasses.replace(data, reserve_rules=()))
    banks = out.table("balances").set_index(KEYS)["bank_end_MtCO2e"]
    for year, bank in {2030: 46, 2031: 23, 2032: 0}.items():
        assert out.price("autarky", "A", year) == pytest.approx(14, abs=0.005)
        assert banks[("autarky", "A", year)] == pytest.approx(bank, abs=0.005)


def test_tutorial_foresight_compared_with_perfect_foresight(tmp_path):
    """10_foresight against 6_banking, the same market seen with perfect foresight."""
    perfect, myopic = _run("6_banking", tmp_path), _run("10_foresight", tmp_path)
    banks = perfect["balances"].set_index(KEYS)["bank_end_MtCO2e"]
    for year, bank in {2030: 9.52, 2031: 9.51, 2032: 0}.items():
        assert banks[("autarky", "A", year)] == pytest.approx(bank, abs=0.005)
    for book, cost in ((perfect, 285.49), (myopic, 458.05)):
        pv = book["costs"].groupby("case")["compliance_cost_pv_MEUR"].sum()
        assert pv["autarky"] == pytest.approx(cost, abs=0.005)
    shadow = myopic["shadow_prices"].query("case == 'autarky'").set_index(["restriction", "year"])
    assert shadow["shadow_price_EUR_per_tCO2e"].to_dict() == pytest.approx(
        {("borrowing_limit", 2031): 20}, abs=0.005
    )


def test_tutorial_border_fee_and_explore_prose_numbers(tmp_path):
    """Tutorial 11's money and tutorial 13's gains, as the text works them out."""
    import etslink

    costs = _run("11_border_fee", tmp_path)["costs"].set_index(["case", "system"])
    linked = costs.loc["linked"]
    assert linked.loc["A", "allowance_exports_MEUR"] == pytest.approx(170.5, abs=0.005)
    assert linked.loc["B", "transfer_fees_paid_MEUR"] == pytest.approx(27.5, abs=0.005)
    assert linked.loc["B", "transfer_fee_revenue_MEUR"] == pytest.approx(27.5, abs=0.005)
    assert linked.loc["B", "compliance_cost_MEUR"] == pytest.approx(251.5, abs=0.005)
    assert linked["abatement_cost_MEUR"].sum() == pytest.approx(321.25, abs=0.005)
    explored = etslink.explore(_workbook("13_explore"))
    combos = explored.combinations.set_index("combination")
    gains = {"A-B": 180, "A-C": 100 / 3, "B-C": 200 / 3}
    pooled = 700 - 30**2 / (1 / 2 + 1 / 8 + 1 / 4) / 2
    for label, gain in gains.items():
        assert combos.loc[label, "gain_pv_MEUR"] == pytest.approx(gain, abs=0.005)
    for label in ("A-B + A-C", "A-B + B-C", "A-C + B-C", "A-B + A-C + B-C"):
        assert combos.loc[label, "gain_pv_MEUR"] == pytest.approx(pooled, abs=0.005)
    assert pooled == pytest.approx(185.71, abs=0.005)
    assert combos.loc["A-C + B-C", "gain_beyond_parts_pv_MEUR"] == pytest.approx(85.71, abs=0.005)
    members = explored.combination_gains.set_index(["combination", "system"])
    assert members.loc[("A-B", "B"), "gain_pv_MEUR"] == pytest.approx(144, abs=0.005)
    assert members.loc[("A-B", "A"), "gain_pv_MEUR"] == pytest.approx(36, abs=0.005)
    assert members.loc[("A-B", "B"), "paid_abroad_pv_MEUR"] == pytest.approx(192, abs=0.005)


def test_tutorial_floor_across_a_link_numbers(tmp_path):
    """Tutorial 14: B withholds 5 Mt at its floor; A gains 100 MEUR and B loses 100."""
    book = _run("14_floor_across_a_link", tmp_path)
    unsold = book["balances"].set_index(KEYS)["unsold_at_floor_MtCO2e"]
    assert unsold[("linked", "B", 2030)] == pytest.approx(5, abs=0.005)
    gains = book["gains"].set_index("system")["gain_from_linking_pv_MEUR"]
    assert gains.to_dict() == pytest.approx({"A": 100, "B": -100}, abs=0.005)
    shadow = book["shadow_prices"].set_index(["case", "restriction"])
    floor = shadow.loc[("linked", "price_floor")]
    assert floor["shadow_price_EUR_per_tCO2e"] == pytest.approx(40, abs=0.005)


def test_tutorial_calibrate_finds_the_geometric_mean_of_the_price_ratios(tmp_path):
    """Tutorial 15: k = (25/19.03 * 30/19.98 * 35/20.98)^(1/3), prices k times tutorial 6's."""
    out = tmp_path / "calibrated"
    assert main(["calibrate", str(_workbook("15_calibrate")), "--out", str(out), "--quiet"]) == 0
    parameters = pd.read_excel(out / "calibration.xlsx", sheet_name="parameters")
    base = [60 / 3.1525 * 1.05**t for t in range(3)]
    k = math.prod(o / m for o, m in zip((25, 30, 35), base, strict=True)) ** (1 / 3)
    assert k == pytest.approx(1.4872, abs=5e-5)
    assert parameters["fitted"].item() == pytest.approx(k, rel=1e-5)
    fit = pd.read_excel(out / "calibration.xlsx", sheet_name="fit")
    assert fit["model_after"].round(2).tolist() == [28.30, 29.72, 31.21]
    assert fit["difference_after"].mul(100).round(0).tolist() == [13, -1, -11]
    pulls = json.loads((out / "run.json").read_text())["calibration"]["pulls"]
    assert pulls == ["mac_scale of A: A's price 2032 pulls it up, A's price 2030 pulls it down"]
    slopes = pd.read_excel(out / "calibrated.xlsx", sheet_name="mac_linear")
    assert slopes["slope_per_tCO2e_per_MtCO2e"].round(3).unique().tolist() == [2.974]


def test_tutorial_announced_cut_costs_more_than_a_cut_known_from_the_start(tmp_path):
    """Tutorial 16's prose: 522.27 MEUR of abatement (PV) against 507.53 known from the start."""
    costs = _run("16_announced_cut", tmp_path)["costs"]
    linked = costs[costs["case"] == "linked"]
    surprise = (linked["abatement_cost_MEUR"] * linked["discount_factor"]).sum()
    assert surprise == pytest.approx(522.27, abs=0.005)
    known = [80 / 3.1525 * 1.05**t for t in range(3)]
    assert sum((p / 2) ** 2 / 1.05**t for t, p in enumerate(known)) == pytest.approx(
        507.53, abs=0.005
    )


def test_tutorial_border_adjustment_money(tmp_path):
    """Tutorial 17: A's exporters pay 150 alone and 0 linked; ROW's 160 and 64; B collects."""
    book = _run("17_border_adjustment", tmp_path)
    paid = book["border_adjustments"].set_index(["case", "origin"])["paid_MEUR"]
    assert paid.to_dict() == pytest.approx(
        {("linked", "A"): 0, ("linked", "ROW"): 64, ("autarky", "A"): 150, ("autarky", "ROW"): 160}
    )
    gains = book["gains"].set_index("system")
    assert gains.loc["B", "autarky_border_adjustments_revenue_pv_MEUR"] == pytest.approx(310)
    assert gains.loc["B", "linked_border_adjustments_revenue_pv_MEUR"] == pytest.approx(64)


def test_tutorial_intensity_raises_the_pairs_emissions(tmp_path):
    """Tutorial 18: 166.92 Mt alone, 169.05 linked; A's output 96.15 and 98.81."""
    book = _run("18_intensity", tmp_path)
    emissions = book["balances"].groupby("case")["emissions_MtCO2e"].sum()
    assert emissions["autarky"] == pytest.approx(166.92, abs=0.005)
    assert emissions["linked"] == pytest.approx(169.05, abs=0.005)
    output = book["intensity"].set_index("case")["output_Munits"]
    assert output.to_dict() == pytest.approx({"linked": 98.81, "autarky": 96.15}, abs=0.005)
