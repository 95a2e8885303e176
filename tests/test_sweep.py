"""Sweeps on a real dask LocalCluster: reproducible, resumable, and right on average."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from conftest import linear_case
from etslink.cli import main
from etslink.pipeline import load_workbook
from etslink.sweeps import DRAWS_FILE, append_draw, solve_draw, total_gain_by_draw

pytestmark = pytest.mark.solve

C, NEED, SD = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, 3.0


def _shocked(workbook):
    """Two linked systems whose baselines (so requirements) get independent N(0, 3) shocks."""
    return workbook(
        linear_case(
            C,
            NEED,
            links=[{"from_system": "A", "to_system": "B"}],
            uncertainty=[
                {
                    "parameter": "baseline",
                    "target": "*",
                    "distribution": "normal",
                    "apply": "add",
                    "sd": SD,
                }
            ],
        )
    )


def _sweep(path, out, *extra):
    return main(["sweep", str(path), "--out", str(out), "--quiet", *map(str, extra)])


def test_same_seed_same_numbers_with_one_and_two_workers(workbook, tmp_path):
    path = _shocked(workbook)
    assert _sweep(path, tmp_path / "one", "--draws", 8, "--workers", 1) == 0
    assert _sweep(path, tmp_path / "two", "--draws", 8, "--workers", 2) == 0
    one = pd.read_csv(tmp_path / "one" / DRAWS_FILE)
    two = pd.read_csv(tmp_path / "two" / DRAWS_FILE)
    pd.testing.assert_frame_equal(one, two)
    assert set(one["draw"]) == set(range(8))
    assert {"summary.xlsx", "report.html", "run.json"} <= {
        p.name for p in (tmp_path / "two").iterdir()
    }


def test_expected_gain_and_volatility_match_theory(workbook, tmp_path):
    """E[G] = E[(p1A - p2A)^2] / (2 (c1 + c2)) with p_iA = c_i (A_i + e_i), e_i ~ N(0, sd)."""
    n = 200
    assert _sweep(_shocked(workbook), tmp_path / "out", "--draws", n, "--workers", 1) == 0
    draws = pd.read_csv(tmp_path / "out" / DRAWS_FILE)
    gap = C["A"] * NEED["A"] - C["B"] * NEED["B"]
    expected = (gap**2 + (C["A"] ** 2 + C["B"] ** 2) * SD**2) / (2 * (C["A"] + C["B"]))
    gains = total_gain_by_draw(draws, "EUR")
    assert abs(gains.mean() - expected) < 4 * gains.std() / math.sqrt(n)
    prices = draws.groupby(["case", "system"])["price_EUR_per_tCO2e"].var()
    assert prices["linked"].max() <= max(prices["autarky"]) + 1e-9
    page = (tmp_path / "out" / "report.html").read_text()
    assert sorted(re.findall(r'id="fan-(\w+)-(\w+)"', page)) == sorted(
        (case, s) for case in ("autarky", "linked") for s in C
    )


def test_an_interrupted_sweep_resumes(workbook, tmp_path):
    path = _shocked(workbook)
    out = tmp_path / "out"
    partial = tmp_path / ".out.partial"
    partial.mkdir()
    data, _ = load_workbook(path)
    first = pd.concat([solve_draw(data, i) for i in (0, 2)], ignore_index=True)
    for draw in (0, 2):
        append_draw(partial / DRAWS_FILE, first[first["draw"] == draw])
    assert _sweep(path, out, "--draws", 5, "--workers", 1) == 2  # needs --resume
    assert _sweep(path, out, "--draws", 5, "--workers", 1, "--resume") == 0
    draws = pd.read_csv(out / DRAWS_FILE)
    assert sorted(set(draws["draw"])) == [0, 1, 2, 3, 4]
    again = draws[draws["draw"].isin([0, 2])].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        again,
        first.sort_values(["draw", "case", "system", "year"]).reset_index(drop=True),
        check_dtype=False,
    )
    assert not partial.exists()


def test_a_sweep_needs_uncertain_inputs(workbook, tmp_path, capsys):
    path = workbook(linear_case(C, NEED))
    assert _sweep(path, tmp_path / "out") == 2
    assert "uncertainty: a sweep needs uncertain inputs" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
