"""Draws of the uncertainty sheet: reproducible, correlated as asked, distributed as asked."""

from __future__ import annotations

import math
import statistics

import pytest

from conftest import BASELINE, linear_case
from etslink.cli import main
from etslink.inputs.uncertainty import perturbed
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
