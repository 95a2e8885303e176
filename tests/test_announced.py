"""Expectations that change: rows announced later (`announced_year`), known answers."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import cap_shock, linear_case
from etslink.api import run
from etslink.cli import main
from etslink.errors import InputError
from etslink.workflows.run import load_workbook

YEARS = (2030, 2031, 2032)


def _banking(rate: float, **sheets: list[dict[str, object]]) -> dict:
    """One system, MAC = 1 * a, baseline 100, caps 100, 90, 80: it must abate 30 in all."""
    tables = linear_case({"A": 1.0}, {"A": 0.0}, YEARS, **sheets)
    tables["systems"] = [{"system": "A", "banking": "yes", "initial_bank_MtCO2e": 0}]
    for r, cap in zip(tables["emissions"], (100.0, 90.0, 80.0), strict=True):
        r["cap_MtCO2e"] = cap
    tables["settings"] = [{"key": "discount_rate", "value": rate}]
    return tables


def _cut_2032_to_70(announced_year: int | None) -> dict[str, object]:
    return {
        "system": "A",
        "year": 2032,
        "baseline_MtCO2e": 100.0,
        "cap_MtCO2e": 70.0,
        "announced_year": announced_year,
    }


def _linked(result) -> pd.DataFrame:
    frame = result.prices.merge(result.balances, on=["case", "system", "year"])
    return frame[frame["case"] == "linked"].set_index("year")


def test_a_cap_cut_announced_mid_horizon_makes_the_price_jump_when_it_is_announced(workbook):
    """Known in 2030: prices p, 1.05 p, 1.05^2 p with p (1 + 1.05 + 1.1025) = 30 abated.

    The plan of 2030 abates p = 30 / 3.1525 = 9.516 and banks it. In 2031 the 2032 cap is cut
    by 10: the plan of 2031 must abate 10 + 30 - 9.516 more over two years, q (1 + 1.05) =
    30.484, so q = 14.870 in 2031 and 15.614 in 2032.
    """
    tables = _banking(0.05)
    tables["emissions"] = [r for r in tables["emissions"] if r["year"] != 2032]
    tables["emissions"] += [
        {"system": "A", "year": 2032, "baseline_MtCO2e": 100.0, "cap_MtCO2e": 80.0},
        _cut_2032_to_70(2031),
    ]
    linked = _linked(run(workbook(tables)))
    p = 30 / 3.1525
    q = (40 - p) / 2.05
    price = linked["price_EUR_per_tCO2e"]
    assert price.tolist() == pytest.approx([p, q, 1.05 * q], rel=1e-6)
    assert linked["abatement_MtCO2e"].tolist() == pytest.approx([p, q, 1.05 * q], rel=1e-6)
    assert linked["bank_end_MtCO2e"][2030] == pytest.approx(p, rel=1e-6)
    assert linked["cap_MtCO2e"].tolist() == [100.0, 90.0, 70.0]  # the rules in force


def test_without_discounting_the_cut_moves_the_price_from_10_to_15(workbook):
    """Rate 0: known in 2030, 30 abated at 10 a year; from 2031, 40 - 10 over two years."""
    tables = _banking(0.0)
    tables["emissions"].append(_cut_2032_to_70(2031))
    linked = _linked(run(workbook(tables)))
    assert linked["price_EUR_per_tCO2e"].tolist() == pytest.approx([10, 15, 15], rel=1e-6)


@pytest.mark.parametrize("said", [None, 2030, 2029])
def test_rows_known_from_the_start_give_the_answer_without_announcements(workbook, said):
    """A row announced in the first year (or before, or blank) is simply the rule."""
    plain = _banking(0.05)
    plain["emissions"][-1]["cap_MtCO2e"] = 70.0
    known = _banking(0.05)
    known["emissions"][-1] = _cut_2032_to_70(said)
    data, _ = load_workbook(workbook(known))
    assert not data.vintages
    assert _linked(run(workbook(known))).equals(_linked(run(workbook(plain))))


def test_a_later_row_that_changes_nothing_gives_the_perfect_foresight_path(workbook):
    """Plans made each year with the same rules repeat the first plan: time consistency."""
    plain = _banking(0.05)
    same = _banking(0.05)
    same["emissions"].append({**same["emissions"][-1], "announced_year": 2031})
    data, _ = load_workbook(workbook(same))
    assert sorted(data.vintages) == [2030, 2031]
    got = _linked(run(workbook(same)))["price_EUR_per_tCO2e"]
    expected = _linked(run(workbook(plain)))["price_EUR_per_tCO2e"]
    assert got.tolist() == pytest.approx(expected.tolist(), rel=1e-7)


def _reserve(first_year: int, said: int | None) -> dict[str, object]:
    return {
        "system": "A",
        "first_year": first_year,
        "intake_threshold_MtCO2e": 5,
        "intake_rate": 0.5,
        "announced_year": said,
    }


def test_a_reserve_announced_later_is_unknown_to_the_plans_made_before(workbook):
    """The plan of 2030 prices as if there were no reserve; from 2031 the reserve takes in
    half of the bank above 5 Mt, which the plan of 2031 sees: prices jump."""
    none = _linked(run(workbook(_banking(0.05))))
    later = _linked(run(workbook(_banking(0.05, msr=[_reserve(2031, 2031)]))))
    known = _linked(run(workbook(_banking(0.05, msr=[_reserve(2031, None)]))))
    price = "price_EUR_per_tCO2e"
    assert later[price][2030] == pytest.approx(none[price][2030], rel=1e-7)
    assert known[price][2030] > none[price][2030] * 1.01  # anticipated when known
    assert later[price][2031] > later[price][2030] * 1.05 * 1.01  # a jump, not the rate
    assert later["bank_end_MtCO2e"][2030] == pytest.approx(none["bank_end_MtCO2e"][2030])


def test_rules_announced_after_their_year_or_without_a_first_rule_are_errors(workbook):
    tables = _banking(0.05)
    tables["emissions"].append(
        {
            "system": "A",
            "year": 2031,
            "baseline_MtCO2e": 100,
            "cap_MtCO2e": 80,
            "announced_year": 2032,
        }
    )
    tables["msr"] = [_reserve(2031, 2032)]
    with pytest.raises(InputError) as error:
        load_workbook(workbook(tables))
    found = {(i.sheet, i.row, i.column) for i in error.value.issues}
    assert found == {("emissions", 5, "announced_year"), ("msr", 2, "announced_year")}
    assert "never apply" in error.value.issues[0].problem

    only_later = _banking(0.05)
    only_later["emissions"][-1]["announced_year"] = 2031
    with pytest.raises(InputError) as error:
        load_workbook(workbook(only_later))
    (issue,) = error.value.issues
    assert (issue.sheet, issue.row) == ("emissions", 4)
    assert "no row known from the start" in issue.problem


def test_explore_refuses_rules_announced_later(workbook, tmp_path, capsys):
    tables = _banking(0.05)
    tables["emissions"].append(_cut_2032_to_70(2031))
    path = workbook(tables)
    assert main(["explore", str(path), "--out", str(tmp_path / "x"), "--workers", "1"]) == 2
    assert "announced later" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_sweep_draws_every_rule_a_plan_sees_alike(workbook, tmp_path):
    """A draw that scales the caps scales the cut announced in 2031 too: each draw's prices
    are those of `etslink run` on the workbook with every cap row (in force or known before)
    times the draw's factor. Held to the rules known from the start, the draws would differ."""
    from etslink.api import sweep
    from etslink.inputs.uncertainty import draw_factors

    tables = _banking(0.05)
    tables["emissions"].append(_cut_2032_to_70(2031))
    tables["uncertainty"] = [cap_shock("A", sd=0.05)[0] | {"group": "one factor a draw"}]
    path = workbook(tables)
    draws = sweep(path, draws=2, workers=1).draws
    data = load_workbook(path)[0]
    for draw in (0, 1):
        (factors,) = draw_factors(data, draw).values()
        (factor,) = set(factors.values())
        scaled = dict(tables, uncertainty=[])
        scaled["emissions"] = [
            r | {"cap_MtCO2e": r["cap_MtCO2e"] * factor} for r in tables["emissions"]
        ]
        expected = _linked(run(workbook(scaled)))["price_EUR_per_tCO2e"]
        drawn = draws[(draws["draw"] == draw) & (draws["case"] == "linked")].set_index("year")
        assert drawn["price_EUR_per_tCO2e"].tolist() == pytest.approx(expected.tolist(), rel=1e-6)


def test_an_announced_year_on_price_controls_or_supply_steps_is_refused_not_ignored(workbook):
    tables = _banking(
        0.05,
        price_controls=[
            {"system": "A", "year": 2031, "floor_price_per_tCO2e": 5, "announced_year": 2031}
        ],
        supply_steps=[
            {
                "system": "A",
                "year": 2031,
                "trigger_price_per_tCO2e": 50,
                "quantity_MtCO2e": 1,
                "announced_year": 2031,
            }
        ],
    )
    with pytest.raises(InputError) as error:
        load_workbook(workbook(tables))
    assert {(i.sheet, i.column) for i in error.value.issues} == {
        ("price_controls", "announced_year"),
        ("supply_steps", "announced_year"),
    }


def _two_banking(**sheets: list[dict[str, object]]) -> dict:
    """A and B, each tutorial 6's market (c = 2, must abate 0, 10, 20; 5%), not linked."""
    tables = linear_case({"A": 2.0, "B": 2.0}, {"A": 0.0, "B": 0.0}, YEARS, **sheets)
    tables["systems"] = [{"system": s, "banking": "yes"} for s in ("A", "B")]
    for r in tables["emissions"]:
        r["cap_MtCO2e"] = {2030: 100.0, 2031: 90.0, 2032: 80.0}[r["year"]]
    tables["settings"] = [{"key": "discount_rate", "value": 0.05}]
    return tables


def _prices(result, system: str) -> list[float]:
    linked = _linked(result)
    return linked[linked["system"] == system]["price_EUR_per_tCO2e"].tolist()


def test_a_horizon_that_lengthens_over_time(workbook):
    """Seeing one year in 2030, the plan prices 2030 alone (nothing to abate: 0); seeing two
    from 2031, 30 Mt over 2031-2032 at q and 1.05 q: q (1 + 1.05) / 2 = 30, q = 29.27."""
    rows = [
        {"system": "*", "first_year": 2030, "years": 1},
        {"system": "*", "first_year": 2031, "years": 2},
    ]
    result = run(workbook(_two_banking(foresight=rows)))
    q = 60 / 2.05
    assert _prices(result, "A") == pytest.approx([0.0, q, 1.05 * q], abs=1e-6)


def test_per_system_horizons_of_markets_that_are_not_linked(workbook):
    """A sees one year at a time (tutorial 10: 0, 20, 40); B, with no row, keeps the setting:
    perfect foresight (tutorial 6: 19.03, 19.98, 20.98)."""
    result = run(
        workbook(_two_banking(foresight=[{"system": "A", "first_year": 2030, "years": 1}]))
    )
    assert _prices(result, "A") == pytest.approx([0.0, 20.0, 40.0], abs=1e-6)
    p = 60 / 3.1525
    assert _prices(result, "B") == pytest.approx([p, 1.05 * p, 1.05**2 * p], rel=1e-6)


def test_one_foresight_row_for_every_system_is_the_setting(workbook):
    sheet = _two_banking(foresight=[{"system": "*", "first_year": 2030, "years": 2}])
    setting = _two_banking()
    setting["settings"].append({"key": "foresight_years", "value": 2})
    assert _linked(run(workbook(sheet))).equals(_linked(run(workbook(setting))))


def test_linked_systems_with_different_horizons_or_unknown_systems_are_errors(workbook):
    tables = _two_banking(
        links=[{"from_system": "A", "to_system": "B"}],
        foresight=[
            {"system": "A", "first_year": 2030, "years": 1},
            {"system": "Z", "first_year": 2030, "years": 1},
        ],
    )
    with pytest.raises(InputError) as error:
        load_workbook(workbook(tables))
    found = {(i.row, i.column) for i in error.value.issues}
    assert found == {(2, "years"), (3, "system")}
    linked = next(i for i in error.value.issues if i.column == "years")
    assert "A and B are linked" in linked.problem
