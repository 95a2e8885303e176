"""The status quo as counterfactual: links marked in_counterfactual stay in the second case."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import cap_shock, linear_case
from etslink.api import run
from etslink.cli import main
from etslink.errors import InputError
from etslink.workflows.run import load_workbook

SLOPES = {"A": 2.0, "B": 8.0, "C": 4.0}
NEED = {"A": 10.0, "B": 10.0, "C": 10.0}
"""Alone A pays 20, B 80, C 40. A-B linked: 2 x a = 8 x b with a + b = 20: 32 each."""


def _three(b_c_new: bool = True, **extra: object) -> dict:
    """A-B linked today (in the counterfactual); B-C a new link."""
    links = [
        {"from_system": "A", "to_system": "B", "in_counterfactual": "yes"},
        {"from_system": "B", "to_system": "C", **extra},
    ]
    return linear_case(SLOPES, NEED, links=links if b_c_new else links[:1])


def test_the_second_case_keeps_todays_links_and_is_named_counterfactual(workbook):
    result = run(workbook(_three()))
    prices = result.prices.set_index(["case", "system"])["price_EUR_per_tCO2e"]
    assert set(result.prices["case"]) == {"linked", "counterfactual"}
    # counterfactual: A-B at 32, C alone at 40; linked: p (1/2 + 1/8 + 1/4) = 30
    assert prices["counterfactual", "A"] == pytest.approx(32, abs=1e-6)
    assert prices["counterfactual", "B"] == pytest.approx(32, abs=1e-6)
    assert prices["counterfactual", "C"] == pytest.approx(40, abs=1e-6)
    assert prices["linked", "C"] == pytest.approx(30 / 0.875, abs=1e-6)
    assert set(result.record["cases"]) == {"linked", "counterfactual"}
    assert "counterfactual_compliance_cost_pv_MEUR" in result.gains.columns
    assert "gain_percent_of_counterfactual_cost" in result.gains.columns


def test_the_gain_is_the_new_links_gain_against_the_status_quo(workbook):
    """The gain against the counterfactual is the gain of all links less that of A-B alone."""
    with_new = run(workbook(_three())).gains["gain_from_linking_pv_MEUR"].sum()
    all_links = _three()
    for r in all_links["links"]:
        r.pop("in_counterfactual", None)
    from_autarky = run(workbook(all_links)).gains["gain_from_linking_pv_MEUR"].sum()
    a_b_only = _three(b_c_new=False)
    a_b_only["links"][0].pop("in_counterfactual")
    a_b_gain = run(workbook(a_b_only)).gains["gain_from_linking_pv_MEUR"].sum()
    assert with_new == pytest.approx(from_autarky - a_b_gain, rel=1e-7)


def test_without_marked_links_the_second_case_stays_autarky(workbook):
    tables = _three()
    tables["links"][0]["in_counterfactual"] = "no"
    result = run(workbook(tables))
    assert set(result.prices["case"]) == {"linked", "autarky"}


def test_the_counterfactual_reaches_every_file(workbook, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(workbook(_three())), "--out", str(out), "--quiet"]) == 0
    prices = pd.read_excel(out / "results.xlsx", sheet_name="prices")
    assert set(prices["case"]) == {"linked", "counterfactual"}
    assert set(json.loads((out / "run.json").read_text())["cases"]) == {"linked", "counterfactual"}
    report = (out / "report.html").read_text()
    assert "in the counterfactual" in report
    assert "without links" not in report


def test_a_candidate_link_cannot_be_in_the_counterfactual(workbook):
    tables = _three(b_c_new=False)
    tables["candidate_links"] = [
        {"candidate": "BC", "from_system": "B", "to_system": "C", "in_counterfactual": "yes"}
    ]
    with pytest.raises(InputError) as error:
        load_workbook(workbook(tables))
    (issue,) = error.value.issues
    assert (issue.sheet, issue.column) == ("candidate_links", "in_counterfactual")


def test_sweep_refuses_a_counterfactual_and_compare_refuses_its_runs(workbook, tmp_path, capsys):
    tables = _three()
    tables["uncertainty"] = cap_shock("A")
    path = workbook(tables)
    assert main(["sweep", str(path), "--out", str(tmp_path / "s"), "--workers", "1"]) == 2
    assert "counterfactual" in capsys.readouterr().err
    assert main(["run", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert (
        main(["compare", str(tmp_path / "r"), str(tmp_path / "r"), "--out", str(tmp_path / "c")])
        == 2
    )
    assert "counterfactual" in capsys.readouterr().err


def _designs(**extra: object) -> dict:
    """A, B, C unlinked; candidates: two designs of A-B (free, and limited to 2 Mt) and B-C."""
    tables = linear_case(SLOPES, NEED)
    tables["candidate_links"] = [
        {"candidate": "AB-free", "design_of": "A-B", "from_system": "A", "to_system": "B"},
        {
            "candidate": "AB-2Mt",
            "design_of": "A-B",
            "from_system": "A",
            "to_system": "B",
            "max_transfer_MtCO2e": 2,
            **extra,
        },
        {"candidate": "BC", "from_system": "B", "to_system": "C"},
    ]
    return tables


def test_designs_of_one_link_are_ranked_and_never_combined(workbook, tmp_path):
    """A-B free: one price of 32, a gain of 500 - 320 = 180 MEUR (tutorial 1). Limited to
    2 Mt: A abates 12 and B 8, costs 144 + 256 against 100 + 400 alone: a gain of 100."""
    from etslink.api import explore

    explored = explore(workbook(_designs()))
    combos = explored.combinations.set_index("combination")
    assert "AB-free + AB-2Mt" not in combos.index
    assert {"AB-free", "AB-2Mt", "BC", "AB-free + BC", "AB-2Mt + BC"} <= set(combos.index)
    gain = combos["gain_pv_MEUR"]
    assert gain["AB-free"] == pytest.approx(180, abs=1e-4)  # 500 - 320: tutorial 1
    # 2 Mt from A: A abates 12 (cost 144, sells 2 at 24), B abates 8 (cost 256, buys at 24)
    assert gain["AB-2Mt"] == pytest.approx((100 + 400) - (144 + 256), abs=1e-4)
    assert explored.candidates.set_index("candidate").loc["AB-2Mt", "design_of"] == "A-B"
    out = explored.write(tmp_path / "out")
    report = (out / "report.html").read_text()
    assert "Designs of A-B, side by side" in report


def test_candidates_on_one_pair_must_be_designs_of_one_link(workbook):
    tables = _designs()
    tables["candidate_links"][1]["design_of"] = None  # AB-2Mt no longer a design of A-B
    with pytest.raises(InputError) as error:
        load_workbook(workbook(tables))
    assert {(i.sheet, i.row) for i in error.value.issues} == {("candidate_links", 3)}
