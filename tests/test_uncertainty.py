"""Draws of the uncertainty sheet: reproducible, correlated as asked, distributed as asked."""

from __future__ import annotations

import math
import statistics

import pytest

from conftest import BASELINE, linear_case
from etslink.cli import main
from etslink.core.values import VALUES
from etslink.inputs.uncertainty import DrawPlan, perturbed
from etslink.workflows.run import load_workbook

pytestmark = pytest.mark.unit
YEARS = (2030, 2031)


def _data(workbook, rows, **settings):
    tables = linear_case(
        {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, years=YEARS, uncertainty=rows
    )
    tables["settings"] += [{"key": k, "value": v} for k, v in settings.items()]
    return load_workbook(workbook(tables))[0]


def _cap_row(target, group=None, **extra):
    return {
        "parameter": "cap",
        "target": target,
        "distribution": "uniform",
        "apply": "scale",
        "low": 0.8,
        "high": 1.2,
        "group": group,
        **extra,
    }


def _caps(data, draw):
    return perturbed(data, draw).cap_MtCO2e


def test_a_draw_is_the_same_whenever_and_wherever_it_is_computed(workbook):
    data = _data(workbook, [_cap_row("*")], seed=7)
    forward = [_caps(data, i) for i in range(5)]
    backward = [_caps(data, i) for i in reversed(range(5))][::-1]
    assert forward == backward
    assert forward[0] != forward[1]
    other_seed = _data(workbook, [_cap_row("*")], seed=8)
    assert _caps(other_seed, 0) != forward[0]


def test_a_group_shares_one_number_and_no_group_draws_anew_each_year(workbook):
    grouped = _data(workbook, [_cap_row("A", "g"), _cap_row("B", "g")])
    caps = _caps(grouped, 3)
    factors = {k: caps[k] / (BASELINE - 10.0) for k in caps}
    assert len({round(f, 12) for f in factors.values()}) == 1
    independent = _data(workbook, [_cap_row("*")])
    caps = _caps(independent, 3)
    assert len({round(caps[k], 12) for k in caps}) == len(caps)


@pytest.mark.parametrize(
    ("row", "mean", "sd"),
    [
        ({"distribution": "normal", "apply": "add", "sd": 2.0}, 0.0, 2.0),
        (
            {"distribution": "lognormal", "apply": "scale", "mean": 0.1, "sd": 0.2},
            math.exp(0.1 + 0.02),
            math.exp(0.1 + 0.02) * math.sqrt(math.exp(0.04) - 1),
        ),
        (
            {"distribution": "uniform", "apply": "add", "low": -3.0, "high": 1.0},
            -1.0,
            4.0 / math.sqrt(12),
        ),
        (
            {"distribution": "triangular", "apply": "add", "low": 0.0, "mode": 1.0, "high": 4.0},
            5.0 / 3.0,
            math.sqrt((0 + 1 + 16 - 0 - 0 - 4) / 18),
        ),
    ],
)
def test_draws_follow_their_distribution(workbook, row, mean, sd):
    data = _data(
        workbook,
        [{"parameter": "baseline", "target": "A", "first_year": 2030, "last_year": 2030, **row}],
    )
    n = 2000
    base = BASELINE
    draws = [perturbed(data, i).baseline_MtCO2e["A", 2030] for i in range(n)]
    values = [d / base if row["apply"] == "scale" else d - base for d in draws]
    assert statistics.fmean(values) == pytest.approx(mean, abs=4 * sd / math.sqrt(n))
    assert statistics.stdev(values) == pytest.approx(sd, rel=0.1)
    assert perturbed(data, 0).baseline_MtCO2e["A", 2031] == BASELINE  # outside its years


def test_abatement_is_cut_back_to_the_drawn_baseline(workbook):
    data = _data(
        workbook,
        [
            {
                "parameter": "baseline",
                "target": "A",
                "distribution": "uniform",
                "apply": "scale",
                "low": 0.1,
                "high": 0.2,
            }
        ],
    )
    drawn = perturbed(data, 0)
    for year in YEARS:
        mac = drawn.mac_linear["A", year]
        assert mac.max_abatement_MtCO2e <= drawn.baseline_MtCO2e["A", year] + 1e-12


def _every_kind_of_input(workbook):
    """Three systems with linear MACs, steps and credits, and D intensity-based in 2030 and
    2031 (absolute in 2032); every uncertain input drawn."""
    years = (2030, 2031, 2032)
    tables = linear_case(
        {"A": 2.0, "B": 8.0, "C": 4.0, "D": 2.0},
        {"A": 10.0, "B": 10.0, "C": 20.0, "D": 10.0},
        years,
    )
    for row in tables["mac_linear"]:
        row["intercept_per_tCO2e"] = 3.0
    tables["mac_steps"] = [
        {"system": s, "year": y, "option": o, "abatement_MtCO2e": q, "cost_per_tCO2e": c}
        for s in ("A", "C", "D")
        for y in years
        for o, q, c in (("x", 20.0, 40.0), ("w", 25.0, 10.0), ("v", 15.0, 25.0))
    ]
    tables["systems"][-1]["cap_type"] = "intensity"
    tables["intensity"] = [
        {
            "system": "D",
            "year": y,
            "output_baseline_Munits": 125.0,
            "emission_intensity_tCO2e_per_unit": 0.8,  # x 125 = the baseline, 100
            "benchmark_tCO2e_per_unit": 0.7,
            "output_cost_slope_per_unit_per_Munits": 2.0,
        }
        for y in years[:2]
    ]
    for row in tables["emissions"]:
        if row["system"] == "D" and row["year"] in years[:2]:
            row["baseline_MtCO2e"] = row["cap_MtCO2e"] = None
    tables["offsets"] = [
        {"offset_type": o, "year": y, "supply_MtCO2e": q, "price_per_tCO2e": p}
        for o in ("CDM", "VER")
        for y in years
        for q, p in ((1.0, 5.0), (4.0, 12.0))
    ]
    tables["offset_rules"] = [
        {"system": s, "offset_type": o, "max_share_of_emissions": 0.1}
        for s in ("A", "B", "C")
        for o in ("CDM", "VER")
    ]

    def row(parameter, target, distribution, apply, group=None, **numbers):
        return {
            "parameter": parameter,
            "target": target,
            "distribution": distribution,
            "apply": apply,
            "group": group,
            **numbers,
        }

    tables["uncertainty"] = [
        row("baseline", "A", "lognormal", "scale", "g", mean=0.0, sd=0.4),
        row("baseline", "C", "normal", "add", "g", sd=30.0),
        row("baseline", "*", "uniform", "scale", low=0.6, high=1.05),
        row("cap", "*", "normal", "scale", sd=0.05, first_year=2031),
        row("cap", "B", "triangular", "add", low=-5.0, mode=1.0, high=3.0),
        row("mac_slope", "*", "uniform", "scale", "h", low=0.5, high=1.5),
        row("mac_intercept", "B", "normal", "add", sd=2.0),
        row("step_cost", "A", "triangular", "scale", "h", low=0.3, mode=1.0, high=3.0),
        row("step_cost", "*", "normal", "add", sd=10.0),
        row("offset_supply", "*", "uniform", "add", "o", low=-3.0, high=3.0),
        row("offset_price", "CDM", "lognormal", "scale", "o", mean=0.0, sd=0.5),
        row("offset_price", "VER", "normal", "add", sd=4.0),
        row("output_baseline", "D", "lognormal", "scale", "g", mean=0.0, sd=0.4),
        row("output_baseline", "*", "normal", "add", sd=100.0, first_year=2031),
        row("benchmark", "*", "uniform", "add", low=-0.3, high=0.3),
        row("benchmark", "D", "normal", "scale", "h", mean=1.0, sd=0.5),
    ]
    tables["settings"] += [{"key": "seed", "value": 11}]
    return load_workbook(workbook(tables))[0]


def test_a_draw_as_arrays_holds_exactly_the_numbers_of_the_drawn_data(workbook):
    """Every Param a sweep moves, with cut-backs to drawn baselines and clipped negatives;
    an intensity year's baseline is intensity x its drawn output baseline, then drawn."""
    data = _every_kind_of_input(workbook)
    plan = DrawPlan(data)
    assert plan.names == set(VALUES)
    cut_back = clipped = no_output = 0
    for draw in range(30):
        arrays, drawn = plan.values(draw), perturbed(data, draw)
        for name, values in arrays.items():
            expected = VALUES[name](drawn)
            assert values.tolist() == [expected[key] for key in VALUES[name](data)], name
        steps = VALUES["step_abatement_MtCO2e"]
        cut_back += sum(steps(drawn)[k] < q for k, q in steps(data).items())
        clipped += int((arrays["offer_supply_MtCO2e"] == 0.0).sum())
        no_output += int((arrays["output_baseline_Munits"] == 0.0).sum())
    assert cut_back > 0
    assert clipped > 0
    assert no_output > 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"parameter": "cap", "target": "A", "distribution": "normal"},
            "uncertainty!2:2 (sd): a normal draw needs sd",
        ),
        (
            {"parameter": "cap", "target": "A", "distribution": "uniform", "low": 2, "high": 1},
            "(high): high 1 is not above low 2",
        ),
        (
            {"parameter": "cap", "target": "AA", "distribution": "normal", "sd": 1},
            'uncertainty!B2 (target): "AA" is not on sheet systems (did you mean "A"?)',
        ),
        (
            {"parameter": "offset_price", "target": "A", "distribution": "normal", "sd": 1},
            '"A" is not on sheet offsets',
        ),
        (
            {
                "parameter": "cap",
                "target": "A",
                "distribution": "triangular",
                "low": 0,
                "mode": 5,
                "high": 1,
            },
            "(mode): mode 5 is not between low and high",
        ),
        (
            {"parameter": "caps", "target": "A", "distribution": "normal", "sd": 1},
            'uncertainty!A2 (parameter): "caps" is not one of baseline, cap',
        ),
    ],
)
def test_uncertainty_rows_are_checked(workbook, capsys, row, message):
    tables = linear_case({"A": 2.0}, {"A": 10.0}, uncertainty=[row])
    code = main(["validate", str(workbook(tables))])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Fix:" in err


@pytest.mark.solve
def test_a_draw_moved_by_arrays_solves_as_its_drawn_data_built_anew(workbook):
    """The compiled case, moved draw after draw, gives the prices of each drawn workbook."""
    from etslink.errors import InfeasibleError
    from etslink.outputs.results import extract_draw
    from etslink.solving.solve import solve_case
    from etslink.workflows.sweep import solve_draw

    data = _every_kind_of_input(workbook)
    solved = 0
    for draw in range(6):
        rows = solve_draw(data, draw)
        for case, case_data in (("linked", data), ("autarky", data.without_links())):
            drawn = perturbed(case_data, draw)
            got = rows[rows["case"] == case].reset_index(drop=True)
            if set(got["status"]) != {"optimal"}:
                with pytest.raises(InfeasibleError):
                    solve_case(case, drawn)
                continue
            expected = extract_draw(solve_case(case, drawn)[0], drawn)
            for column in ("price_EUR_per_tCO2e", "abatement_cost_MEUR"):
                assert got[column].to_numpy() == pytest.approx(
                    expected[column].to_numpy(), rel=1e-9, abs=1e-9
                )
            solved += 1
    assert solved >= 6


@pytest.mark.solve
def test_the_first_draw_a_solver_solves_costs_its_drawn_inputs(workbook):
    """A alone must abate 10 on a MAC whose slope c a draw moves: its abatement cost is
    c / 2 x 10^2 from the first draw a new solver solves (whose model was compiled with the
    workbook's slope, 2)."""
    from etslink.solving.solve import DrawSolver

    row = {
        "parameter": "mac_slope",
        "target": "A",
        "distribution": "uniform",
        "apply": "scale",
        "low": 0.5,
        "high": 1.5,
    }
    data = load_workbook(workbook(linear_case({"A": 2.0}, {"A": 10.0}, uncertainty=[row])))[0]
    for draw in (3, 4):
        slope = perturbed(data, draw).mac_linear["A", 2030].slope_per_tCO2e_per_MtCO2e
        assert slope != 2.0
        solution = DrawSolver(data).solve(draw, DrawPlan(data).values(draw))
        cost = solution.values("abatement_cost_Mcur")["A", 2030]
        assert cost == pytest.approx(slope / 2 * 10.0**2, rel=1e-9)
