"""Intensity-based systems (tradable performance standards): closed-form known answers.

A: MAC c = 2, output baseline Q0 = 100, intensity mu = 1, benchmark r = 0.8, output cost
slope d = 2. Alone: (mu - r) Q = p / c and Q = Q0 - p (mu - r) / d, so
p = (mu - r) Q0 / ((mu - r)^2 / d + 1 / c) = 20 / 0.52 = 38.46.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import linear_case
from etslink.api import run
from etslink.cli import main
from etslink.errors import InputError
from etslink.workflows.run import load_workbook

MU, R, Q0, D, C = 1.0, 0.8, 100.0, 2.0, 2.0
GAP = MU - R


def _standard(year: int = 2030) -> dict[str, object]:
    return {
        "system": "A",
        "year": year,
        "output_baseline_Munits": Q0,
        "emission_intensity_tCO2e_per_unit": MU,
        "benchmark_tCO2e_per_unit": R,
        "output_cost_slope_per_unit_per_Munits": D,
    }


def _tables(partner_slope: float | None = None, years: tuple[int, ...] = (2030,)) -> dict:
    """A intensity-based; B (if given) absolute, must abate 10, linked with A."""
    slopes = {"A": C} | ({"B": partner_slope} if partner_slope else {})
    links = [{"from_system": "A", "to_system": "B"}] if partner_slope else []
    tables = linear_case(slopes, dict.fromkeys(slopes, 10.0), years, links=links)
    tables["systems"] = [{"system": "A", "cap_type": "intensity"}] + (
        [{"system": "B"}] if partner_slope else []
    )
    for r in tables["emissions"]:
        if r["system"] == "A" and r["year"] == years[0]:
            r["baseline_MtCO2e"] = r["cap_MtCO2e"] = None
    tables["intensity"] = [_standard(years[0])]
    return tables


def _by(result, sheet: str, case: str) -> pd.DataFrame:
    table = result.results.table(sheet)
    return table[table["case"] == case].set_index(["system", "year"])


def test_alone_the_price_output_and_emissions_are_the_closed_form(workbook):
    result = run(workbook(_tables()))
    p = GAP * Q0 / (GAP**2 / D + 1 / C)
    q = Q0 - p * GAP / D
    intensity = _by(result, "intensity", "linked").loc[("A", 2030)]
    assert result.results.price("linked", "A", 2030) == pytest.approx(p, rel=1e-6)
    assert intensity["output_Munits"] == pytest.approx(q, rel=1e-6)
    assert intensity["allowances_issued_MtCO2e"] == pytest.approx(R * q, rel=1e-6)
    assert intensity["emissions_MtCO2e"] == pytest.approx(MU * q - p / C, rel=1e-6)
    costs = _by(result, "costs", "linked").loc[("A", 2030)]
    assert costs["output_cost_MEUR"] == pytest.approx(D / 2 * (q - Q0) ** 2, rel=1e-6)


def test_linked_with_a_cheaper_absolute_system_combined_emissions_rise_by_r_dq(workbook):
    """B: MAC 0.5, must abate 10 (alone 5). One price p clears A's net position
    p / c + p (mu - r)^2 / d - (mu - r) Q0 and B's p / 0.5 - 10: p = 30 / 2.52 = 11.90.
    A's price falls from 38.46, its output and the allowances it issues rise: the two
    markets' emissions (B's cap + r Q) rise by r (Q_linked - Q_alone)."""
    result = run(workbook(_tables(partner_slope=0.5)))
    p = (GAP * Q0 + 10) / (1 / C + GAP**2 / D + 1 / 0.5)
    assert result.results.price("linked", "A", 2030) == pytest.approx(p, rel=1e-6)
    assert result.results.price("linked", "B", 2030) == pytest.approx(p, rel=1e-6)
    linked, alone = (
        _by(result, "intensity", case).loc[("A", 2030)] for case in ("linked", "autarky")
    )
    dq = linked["output_Munits"] - alone["output_Munits"]
    assert dq == pytest.approx((38.4615385 - p) * GAP / D, rel=1e-6)
    emissions = {
        case: _by(result, "balances", case)["emissions_MtCO2e"].sum()
        for case in ("linked", "autarky")
    }
    assert emissions["linked"] - emissions["autarky"] == pytest.approx(R * dq, rel=1e-6)
    assert R * dq > 2  # linking raises the two systems' emissions by over 2 Mt


def test_a_year_without_a_standard_uses_its_cap_an_intensity_system_switching(workbook):
    """2030 intensity-based; in 2031 A has an absolute cap of 90 (must abate 10): alone
    (no banking, as in linear_case's two-year workbook with banking) the 2031 price is
    c x 10 = 20 when the bank is empty."""
    tables = _tables(years=(2030, 2031))
    tables["systems"][0]["banking"] = "no"
    result = run(workbook(tables))
    assert result.results.price("linked", "A", 2031) == pytest.approx(C * 10, rel=1e-6)
    assert result.results.price("linked", "A", 2030) == pytest.approx(38.4615385, rel=1e-6)
    assert list(_by(result, "intensity", "linked").index) == [("A", 2030)]


def test_the_intensity_sheet_reaches_results_xlsx(workbook, tmp_path):
    out = tmp_path / "out"
    assert (
        main(["run", str(workbook(_tables(partner_slope=0.5))), "--out", str(out), "--quiet"]) == 0
    )
    sheet = pd.read_excel(out / "results.xlsx", sheet_name="intensity")
    assert list(sheet.columns) == [
        "case",
        "system",
        "year",
        "output_Munits",
        "allowances_issued_MtCO2e",
        "emissions_MtCO2e",
    ]
    report = (out / "report.html").read_text()
    assert "intensity-based" in report


def test_intensity_rows_need_an_intensity_system_and_intensity_years_no_cap(workbook):
    tables = _tables()
    tables["systems"][0]["cap_type"] = "absolute"
    with pytest.raises(InputError) as error:
        load_workbook(workbook(tables))
    found = {(i.sheet, i.row, i.column) for i in error.value.issues}
    assert ("intensity", 2, "system") in found

    tables = _tables()
    tables["emissions"][0]["cap_MtCO2e"] = 90
    tables["emissions"][0]["baseline_MtCO2e"] = 90  # not mu x Q0 = 100
    with pytest.raises(InputError) as error:
        load_workbook(workbook(tables))
    assert {(i.sheet, i.column) for i in error.value.issues} == {
        ("emissions", "cap_MtCO2e"),
        ("emissions", "baseline_MtCO2e"),
    }

    tables = _tables(years=(2030, 2031))
    tables["emissions"][1]["cap_MtCO2e"] = None  # 2031: neither a standard nor a cap
    with pytest.raises(InputError) as error:
        load_workbook(workbook(tables))
    (issue,) = error.value.issues
    assert (issue.sheet, issue.row, issue.column) == ("emissions", 3, "cap_MtCO2e")
    assert "sheet intensity has no row for 2031" in issue.problem


def _row(parameter: str, apply: str, **numbers: float) -> dict[str, object]:
    return {"parameter": parameter, "target": "A", "apply": apply, **numbers}


DRAWN = [  # a benchmark and an output baseline, drawn independently
    _row("benchmark", "scale", distribution="uniform", low=0.5, high=1.2),
    _row("output_baseline", "add", distribution="normal", sd=20.0),
]


def _drawn(data, draw: int) -> tuple[dict, dict]:
    """Return the draw's benchmark and output baseline by year (draw_factors, applied)."""
    from etslink.inputs.uncertainty import draw_factors

    factors, shifts = draw_factors(data, draw).values()
    return {y: R * f for (_, y), f in factors.items()}, {y: Q0 + x for (_, y), x in shifts.items()}


@pytest.mark.solve
def test_alone_each_draw_prices_its_benchmark_and_output_baseline_in_closed_form(workbook):
    """p = (mu - r) Q0 / ((mu - r)^2 / d + 1 / c) with each draw's r and Q0."""
    from etslink.api import sweep

    path = workbook(_tables() | {"uncertainty": DRAWN})
    draws = sweep(path, draws=4, workers=1).draws
    data = load_workbook(path)[0]
    for draw in range(4):
        (r,), (q0,) = (list(x.values()) for x in _drawn(data, draw))
        assert (r, q0) != (R, Q0)
        p = (MU - r) * q0 / ((MU - r) ** 2 / D + 1 / C)
        for case in ("linked", "autarky"):
            (price,) = draws[(draws["draw"] == draw) & (draws["case"] == case)][
                "price_EUR_per_tCO2e"
            ]
            assert price == pytest.approx(p, rel=1e-6)


def _written_in(tables: dict, benchmarks: dict, output_baselines: dict) -> dict:
    """Return the tables with a draw's benchmarks and output baselines on sheet intensity."""
    return dict(tables) | {
        "uncertainty": [],
        "intensity": [
            r
            | {
                "benchmark_tCO2e_per_unit": benchmarks[r["year"]],
                "output_baseline_Munits": output_baselines[r["year"]],
            }
            for r in tables["intensity"]
        ],
    }


@pytest.mark.solve
@pytest.mark.parametrize("loop", [None, "foresight", "reserve"])
def test_a_draws_prices_are_those_of_the_workbook_with_its_draws_written_in(workbook, loop):
    """Linked with B, banking, intensity-based in 2030 and 2031: each draw's prices are
    those of `etslink run` on the workbook with the draw's benchmark and output baseline
    on sheet intensity (its baseline mu Q0 follows). Also plan by plan (one year of
    foresight) and with a reserve on B, which reads the banks that (E14), built with the
    drawn standards, leaves."""
    from etslink.api import sweep

    tables = _tables(partner_slope=0.5, years=(2030, 2031))
    tables["intensity"].append(_standard(2031))
    for r in tables["emissions"]:
        if r["system"] == "A":
            r["baseline_MtCO2e"] = r["cap_MtCO2e"] = None
    tables["systems"] = [s | {"banking": "yes"} for s in tables["systems"]]
    if loop == "foresight":
        tables["settings"].append({"key": "foresight_years", "value": 1})
    if loop == "reserve":
        tables["systems"][1]["initial_bank_MtCO2e"] = 10.0
        tables["msr"] = [
            {"system": "B", "first_year": 2030, "intake_threshold_MtCO2e": 1.0, "intake_rate": 0.5}
        ]
    path = workbook(tables | {"uncertainty": DRAWN})
    draws = sweep(path, draws=3, workers=1).draws
    data = load_workbook(path)[0]
    for draw in range(3):
        expected = run(workbook(_written_in(tables, *_drawn(data, draw)))).results
        for case in ("linked", "autarky"):
            got = draws[(draws["draw"] == draw) & (draws["case"] == case)]
            for system, year, price in got[["system", "year", "price_EUR_per_tCO2e"]].values:
                want = expected.price(case, system, year)
                assert price == pytest.approx(want, rel=1e-6, abs=1e-9), (case, system, year)


@pytest.mark.solve
def test_a_compiled_case_moved_to_another_standard_solves_as_one_built_anew(workbook):
    """The benchmark r is a coefficient of (E11), the output baseline Q0 a right-hand side,
    a cost and the objective's constant (d/2 Q0^2): moved in place, the closed-form price
    and the objective and output cost of the case built anew."""
    from dataclasses import replace

    from etslink.outputs.results import extract_draw
    from etslink.solving.solve import Resolver, solve_case

    data = load_workbook(workbook(_tables()))[0]
    moved = frozenset({"benchmark_tCO2e_per_unit", "output_baseline_Munits", "baseline_MtCO2e"})
    resolver = Resolver(data, moved)
    for r, q0 in ((0.5, 100.0), (0.8, 60.0), (0.95, 140.0), (R, Q0)):
        standard = replace(
            data.intensity["A", 2030], benchmark_tCO2e_per_unit=r, output_baseline_Munits=q0
        )
        other = replace(
            data, intensity={("A", 2030): standard}, baseline_MtCO2e={("A", 2030): MU * q0}
        )
        solution, outcome = resolver.solve("linked", other)
        (price,) = extract_draw(solution, other)["price_EUR_per_tCO2e"]
        assert price == pytest.approx((MU - r) * q0 / ((MU - r) ** 2 / D + 1 / C), rel=1e-6)
        anew, anew_outcome = solve_case("linked", other)
        assert outcome.objective_Mcur == pytest.approx(anew_outcome.objective_Mcur, rel=1e-9)
        for name in ("output_cost_Mcur", "emissions_MtCO2e", "allowances_issued_MtCO2e"):
            assert solution.values(name) == pytest.approx(anew.values(name), rel=1e-9), name


@pytest.mark.parametrize(
    ("partner", "target", "problem", "fix"),
    [
        (
            0.5,
            "B",
            "uncertainty!B2 (target): B is not intensity-based (sheet systems, cap_type "
            "absolute), and benchmark is an input of sheet intensity",
            "Fix: target one of A (or *), or draw the baseline or cap of B instead.",
        ),
        (
            None,
            "*",
            "uncertainty!B2 (target): no system is intensity-based (sheet systems, cap_type), "
            "and benchmark is an input of sheet intensity",
            "Fix: set cap_type to intensity for a system on sheet systems and give its standard "
            "on sheet intensity, or draw the baseline or cap instead.",
        ),
    ],
)
def test_a_benchmark_or_output_baseline_drawn_for_no_intensity_system_is_refused(
    workbook, tmp_path, capsys, partner, target, problem, fix
):
    tables = _tables(partner_slope=partner)
    if partner is None:
        tables["systems"][0]["cap_type"] = "absolute"
        tables["intensity"] = []
        tables["emissions"][0] |= {"baseline_MtCO2e": 100.0, "cap_MtCO2e": 90.0}
    tables["uncertainty"] = [DRAWN[0] | {"target": target}]
    out = tmp_path / "out"
    code = main(["sweep", str(workbook(tables)), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{problem}. {fix}" in err
    assert "Traceback" not in err
    assert not out.exists()
