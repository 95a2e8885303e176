"""Limited foresight: years decided one at a time, each plan seeing H years."""

from __future__ import annotations

import pytest

from conftest import BASELINE, linear_case, load_builder
from etslink.workflows.run import load_workbook, run_cases

pytestmark = pytest.mark.solve

C = {"A": 2.0, "B": 8.0}
NEED = {2030: 2.0, 2031: 10.0, 2032: 24.0}  # rising scarcity: a far-sighted market banks
YEARS = tuple(NEED)


def _solve(workbook, horizon: int | None, rate: float = 0.05):  # noqa: ANN202
    settings = [{"key": "discount_rate", "value": rate}]
    if horizon:
        settings.append({"key": "foresight_years", "value": horizon})
    tables = linear_case(
        C,
        dict.fromkeys(C, 0.0),
        years=YEARS,
        links=[{"from_system": "A", "to_system": "B"}],
        settings=settings,
    )
    for row in tables["emissions"]:
        row["cap_MtCO2e"] = BASELINE - NEED[row["year"]]
    data, _ = load_workbook(workbook(tables))
    assert data.foresight_years == horizon
    return run_cases(data)


def test_one_year_of_foresight_gives_each_year_its_own_price(workbook):
    out = _solve(workbook, 1)
    for y, need in NEED.items():
        pooled = need / sum(1 / c for c in C.values())  # each system must abate `need`
        for s, c in C.items():
            assert out.price("autarky", s, y) == pytest.approx(c * need, rel=1e-6)
            assert out.price("linked", s, y) == pytest.approx(2 * pooled, rel=1e-6)
    balances = out.table("balances")
    assert balances["bank_end_MtCO2e"].abs().max() == pytest.approx(0.0, abs=1e-6)


def test_foresight_of_every_year_is_perfect_foresight(workbook):
    myopic, perfect = _solve(workbook, 3), _solve(workbook, None)
    assert perfect.price("autarky", "A", 2030) > 2 * NEED[2030] + 1  # it banks
    for case in ("linked", "autarky"):
        for s in C:
            for y in YEARS:
                assert myopic.price(case, s, y) == pytest.approx(
                    perfect.price(case, s, y), rel=1e-6
                )


def test_two_years_of_foresight_bank_only_for_the_next_year(workbook):
    out = _solve(workbook, 2, rate=0.0)
    # Plan 2030-2031 for A alone (autarky): the price is the same in both planned years,
    # the bank carried to 2032 is worth nothing: 2 (100 - p/c) = 2 * 100 - 12 -> p = 6 c.
    assert out.price("autarky", "A", 2030) == pytest.approx(6 * C["A"], rel=1e-6)
    banks = out.table("balances").set_index(["case", "system", "year"])["bank_end_MtCO2e"]
    assert banks[("autarky", "A", 2030)] == pytest.approx(6 - NEED[2030], rel=1e-6)


@pytest.mark.solve
def test_a_plan_holds_the_reserves_operations_of_the_years_already_decided():
    """Regression: the example's EU and Switzerland with perfect foresight (each plan sees to
    2040) and the EU's rules as announced was declared infeasible in the plan of 2021. The
    reserve's fixed point had moved its 2020 operation by 6e-7 Mt; with 2020's banks, transfers
    and credit use held and the 2% CER limit binding, no abatement of 2020 fitted. A plan now
    holds the reserve's operations of the years decided before it, as it holds their banks."""
    import etslink

    builder = load_builder("build_example")
    workbook = etslink.Workbook(builder.tables({}, None)).subset(["EU", "CH"])
    reserve = workbook.run().msr
    assert set(reserve["year"]) == set(range(2018, 2041))
