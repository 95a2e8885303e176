"""Sweeps on a real dask LocalCluster: reproducible, resumable, and right on average."""

from __future__ import annotations

import math
import re
import shutil

import pandas as pd
import pytest

import etslink
from conftest import BASELINE, cap_shock, linear_case
from etslink.cli import WORKBOOK_HASH, main
from etslink.outputs.products import DRAWS_FILE
from etslink.outputs.runrecord import file_sha256
from etslink.workflows.batch import Batch, append_rows, finished, run_batch
from etslink.workflows.run import load_workbook
from etslink.workflows.sweep import PARTIAL_ROWS, solve_draw, total_gain_by_draw

pytestmark = pytest.mark.solve

C, NEED, SD = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, 3.0


def _shocked(workbook, need=NEED):
    """Two linked systems whose baselines (so requirements) get independent N(0, 3) shocks."""
    return workbook(
        linear_case(
            C,
            need,
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
    one = pd.read_parquet(tmp_path / "one" / DRAWS_FILE)
    two = pd.read_parquet(tmp_path / "two" / DRAWS_FILE)
    pd.testing.assert_frame_equal(one, two)
    assert set(one["draw"]) == set(range(8))
    assert {"summary.xlsx", "report.html", "run.json"} <= {
        p.name for p in (tmp_path / "two").iterdir()
    }


def test_expected_gain_and_volatility_match_theory(workbook, tmp_path):
    """E[G] = E[(p1A - p2A)^2] / (2 (c1 + c2)) with p_iA = c_i (A_i + e_i), e_i ~ N(0, sd)."""
    n = 200
    assert _sweep(_shocked(workbook), tmp_path / "out", "--draws", n, "--workers", 1) == 0
    draws = pd.read_parquet(tmp_path / "out" / DRAWS_FILE)
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
        append_rows(partial / PARTIAL_ROWS, first[first["draw"] == draw])
    assert _sweep(path, out, "--draws", 5, "--workers", 1) == 2  # needs --resume
    assert _sweep(path, out, "--draws", 5, "--workers", 1, "--resume") == 0
    draws = pd.read_parquet(out / DRAWS_FILE)
    assert sorted(set(draws["draw"])) == [0, 1, 2, 3, 4]
    again = draws[draws["draw"].isin([0, 2])].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        again,
        first.sort_values(["draw", "case", "system", "year"]).reset_index(drop=True),
        check_dtype=False,
    )
    assert not partial.exists()


def test_resume_refuses_a_workbook_changed_since_the_interruption(workbook, tmp_path, capsys):
    path = _shocked(workbook)
    data, _ = load_workbook(path)
    for name in ("same", "changed"):
        partial = tmp_path / f".{name}.partial"
        partial.mkdir()
        (partial / WORKBOOK_HASH).write_text(f"{file_sha256(path)}\n{etslink.__version__}\n")
        append_rows(partial / PARTIAL_ROWS, solve_draw(data, 0))
    assert _sweep(path, tmp_path / "same", "--draws", 2, "--workers", 1, "--resume") == 0
    shutil.copyfile(_shocked(workbook, {"A": 20.0, "B": 10.0}), path)  # edited since
    capsys.readouterr()
    assert _sweep(path, tmp_path / "changed", "--draws", 2, "--workers", 1, "--resume") == 2
    message = capsys.readouterr().err
    assert "has changed since the interrupted sweep" in message
    assert "Fix: run the sweep again into a new --out folder" in message
    assert finished(tmp_path / ".changed.partial" / PARTIAL_ROWS, "draw") == {0}  # not lost
    assert not (tmp_path / "changed").exists()


def test_a_task_whose_draws_all_fail_keeps_the_columns_of_the_others(tmp_path):
    columns = ("draw", "case", "system", "year", "price_EUR_per_tCO2e", "status")

    def solve(shared, draws):
        if draws == [1]:  # a task whose draws all failed has no result columns
            return pd.DataFrame({"draw": draws, "case": "linked", "status": "infeasible"})
        return pd.DataFrame(
            {
                "draw": draws,
                "case": "linked",
                "system": "A",
                "year": 2030,
                "price_EUR_per_tCO2e": 20.0,
                "status": "optimal",
            }
        )

    batch = Batch("draw", columns, None, solve, [(i, i) for i in range(3)])
    rows = run_batch(
        batch, tmp_path / "p", workers=1, scheduler=None, progress=lambda done, total: None
    )
    assert list(rows.columns) == list(columns)
    assert rows.set_index("draw").loc[1, "status"] == "infeasible"
    assert math.isnan(rows.set_index("draw").loc[1, "price_EUR_per_tCO2e"])
    assert rows.set_index("draw").loc[2, "price_EUR_per_tCO2e"] == 20.0


@pytest.mark.parametrize("option", ["--draws", "--workers"])
def test_a_sweep_refuses_a_count_below_one(workbook, tmp_path, capsys, option):
    assert _sweep(_shocked(workbook), tmp_path / "out", option, 0) == 2
    err = capsys.readouterr().err
    assert f"{option} 0 is below 1" in err
    assert "Fix: give 1 or more" in err
    assert not (tmp_path / "out").exists()


def test_a_sweep_needs_uncertain_inputs(workbook, tmp_path, capsys):
    path = workbook(linear_case(C, NEED))
    assert _sweep(path, tmp_path / "out") == 2
    assert "uncertainty: a sweep needs uncertain inputs" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_workbook_with_a_reserve_sweeps_each_draw_at_its_market_equilibrium(workbook):
    """Each draw solves the reserve's fixed point; the price follows the drawn cap.

    One system, MAC 2a, two years, no discounting, initial bank 4, a reserve taking half the
    previous year's bank above 1. Intake 2030 = 2; with one price p in both years,
    e = 100 - p/2 and all allowances used: 2e = 4 + (c - 2) + 90 - 0.5 (2 + c - e), so
    e = (91 + c/2) / 1.5 for a drawn 2030 cap c in 90..100 (the 2030 bank stays above 1).
    """
    from etslink.inputs.uncertainty import perturbed

    tables = linear_case(
        {"A": 2.0},
        {"A": 10.0},
        years=(2030, 2031),
        msr=[
            {"system": "A", "first_year": 2030, "intake_threshold_MtCO2e": 1.0, "intake_rate": 0.5}
        ],
        uncertainty=[
            {
                "parameter": "cap",
                "target": "A",
                "first_year": 2030,
                "last_year": 2030,
                "distribution": "uniform",
                "apply": "add",
                "low": 0.0,
                "high": 10.0,
            }
        ],
    )
    tables["systems"][0]["initial_bank_MtCO2e"] = 4.0
    data, _ = load_workbook(workbook(tables))
    rows = pd.concat([solve_draw(data, i) for i in range(3)], ignore_index=True)
    assert set(rows["status"]) == {"optimal"}
    for i in range(3):
        cap = perturbed(data, i).cap_MtCO2e["A", 2030]
        expected = 2 * (100 - (91 + cap / 2) / 1.5)
        row = rows[(rows["draw"] == i) & (rows["case"] == "autarky") & (rows["year"] == 2031)]
        assert row["price_EUR_per_tCO2e"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_a_sweep_keeps_the_workbooks_limited_foresight(workbook):
    """With one year of foresight each drawn year stands alone: p = c * (baseline - cap)."""
    from etslink.inputs.uncertainty import perturbed

    tables = linear_case(
        {"A": 2.0},
        {"A": 10.0},
        years=(2030, 2031),
        settings=[{"key": "foresight_years", "value": 1}],
        uncertainty=[
            {
                "parameter": "cap",
                "target": "A",
                "distribution": "uniform",
                "apply": "add",
                "low": -5.0,
                "high": 5.0,
            }
        ],
    )
    data, _ = load_workbook(workbook(tables))
    rows = solve_draw(data, 0)
    drawn = perturbed(data, 0)
    for y in (2030, 2031):
        row = rows[(rows["case"] == "autarky") & (rows["year"] == y)]
        expected = 2.0 * (100.0 - drawn.cap_MtCO2e["A", y])
        assert row["price_EUR_per_tCO2e"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_a_task_has_the_columns_of_draws_csv_whichever_draw_failed(workbook, monkeypatch):
    """Rows of a task go to the partial file without a header: an unsolved draw first in a
    task has the same columns in the same order as a solved one, its results empty."""
    from etslink.solving.solve import DrawSolver
    from etslink.workflows.sweep import solve_draws

    data, _ = load_workbook(_shocked(workbook))
    solved = solve_draws(data, [1])
    real = DrawSolver.solve
    monkeypatch.setattr(
        DrawSolver,
        "solve",
        lambda self, draw, values: "infeasible" if draw == 0 else real(self, draw, values),
    )
    rows = solve_draws(data, [0, 1])
    assert rows.columns.tolist() == solved.columns.tolist()
    assert rows.loc[rows["draw"] == 0, "status"].eq("infeasible").all()
    assert rows.loc[rows["draw"] == 0, "price_EUR_per_tCO2e"].isna().all()
    pd.testing.assert_frame_equal(rows[rows["draw"] == 1].reset_index(drop=True), solved)


def test_resume_refuses_a_partial_sweep_of_another_etslink_version(workbook, tmp_path, capsys):
    path = _shocked(workbook)
    data, _ = load_workbook(path)
    partial = tmp_path / ".old.partial"
    partial.mkdir()
    (partial / WORKBOOK_HASH).write_text(f"{file_sha256(path)}\n0.1.0\n")
    append_rows(partial / PARTIAL_ROWS, solve_draw(data, 0))
    assert _sweep(path, tmp_path / "old", "--draws", 2, "--workers", 1, "--resume") == 2
    assert "started by etslink 0.1.0" in capsys.readouterr().err
    assert finished(partial / PARTIAL_ROWS, "draw") == {0}  # nothing was lost


def test_volatility_is_the_spread_within_a_year_not_the_trend_over_years(workbook, tmp_path):
    """Issue 22, item 6: pooled over years the sd was mostly the price path's trend. Here A
    must abate 10 in 2030 and 20 in 2031 (no banking): its price steps from 20 to 40, and the
    drawn caps move it by a little around each."""
    tables = linear_case(C, NEED, (2030, 2031), uncertainty=cap_shock("A"))
    tables["systems"] = [{"system": s, "banking": "no"} for s in C]
    tables["emissions"][1]["cap_MtCO2e"] = 80.0  # A 2031
    assert _sweep(workbook(tables), tmp_path / "out", "--draws", 20, "--workers", 1) == 0
    draws = pd.read_parquet(tmp_path / "out" / DRAWS_FILE)
    volatility = pd.read_excel(tmp_path / "out" / "summary.xlsx", sheet_name="volatility")
    a = draws[(draws["case"] == "autarky") & (draws["system"] == "A")]
    within = a.groupby("year")["price_EUR_per_tCO2e"].std().mean()
    got = volatility.set_index("system").loc["A", "autarky_price_sd_EUR_per_tCO2e"]
    assert got == pytest.approx(within, rel=1e-9)
    assert got < a["price_EUR_per_tCO2e"].std() / 5  # the pooled sd is mostly the step


QUANTITIES = ["emissions_MtCO2e", "net_imports_MtCO2e", "paid_abroad_pv_MEUR"]


def _drawn_runs(workbook, banking: str):
    """A (MAC 2a) sells to B (8a) over two years, 5% discounting, both caps drawn each year.

    Return the data, three draws' rows (etslink.sweep) and per draw the workbook's tables
    with that draw's caps and `etslink run` of them.
    """
    from etslink.api import run, sweep
    from etslink.inputs.uncertainty import draw_factors

    tables = linear_case(
        C,
        NEED,
        (2030, 2031),
        links=[{"from_system": "A", "to_system": "B"}],
        uncertainty=cap_shock("*", sd=0.03),
        settings=[{"key": "currency", "value": "EUR"}, {"key": "discount_rate", "value": 0.05}],
    )
    tables["systems"] = [{"system": s, "banking": banking} for s in C]
    path = workbook(tables)
    data = load_workbook(path)[0]
    draws = sweep(path, draws=3, workers=1).draws.set_index(["draw", "case", "system", "year"])
    runs = []
    for draw in range(3):
        (factors,) = draw_factors(data, draw).values()
        drawn = dict(tables, uncertainty=[])
        drawn["emissions"] = [
            r | {"cap_MtCO2e": r["cap_MtCO2e"] * factors[r["system"], r["year"]]}
            for r in tables["emissions"]
        ]
        runs.append((drawn, run(drawn)))
    return data, draws, runs


def _run_rows(result) -> pd.DataFrame:
    """Return `etslink run`'s emissions, net imports and money paid abroad (discounted)."""
    costs = result.costs.set_index(["case", "system", "year"])
    rows = result.balances.set_index(["case", "system", "year"])[QUANTITIES[:2]]
    rows["paid_abroad_pv_MEUR"] = (
        costs["allowance_imports_MEUR"] + costs["offset_purchases_MEUR"]
    ) * costs["discount_factor"]
    return rows.sort_index()


def test_each_draws_emissions_net_imports_and_money_abroad_are_those_of_run_on_its_workbook(
    workbook,
):
    """Issue 22, item 6: without banking, draw i's rows are `etslink run` of the workbook with
    draw i's caps: emissions and net imports as on `balances`, money paid abroad as on
    `costs`, discounted. Linked, A and B share one price p = (need_A + need_B) / (1/2 + 1/8)
    each year, and B buys need_B - p/8 at p."""
    data, draws, runs = _drawn_runs(workbook, banking="no")
    for draw, (drawn, result) in enumerate(runs):
        got = draws.loc[draw][QUANTITIES].sort_index()
        pd.testing.assert_frame_equal(got, _run_rows(result), rtol=1e-6)
        for y in (2030, 2031):
            need = {
                r["system"]: BASELINE - r["cap_MtCO2e"]
                for r in drawn["emissions"]
                if r["year"] == y
            }
            p = (need["A"] + need["B"]) / (1 / C["A"] + 1 / C["B"])
            bought = need["B"] - p / C["B"]
            row = got.loc[("linked", "B", y)]
            assert row["net_imports_MtCO2e"] == pytest.approx(bought, rel=1e-6)
            assert row["paid_abroad_pv_MEUR"] == pytest.approx(
                bought * p * data.discount_factor(y), rel=1e-6
            )
            assert got.loc[("linked", "A", y), "emissions_MtCO2e"] == pytest.approx(
                BASELINE - p / C["A"], rel=1e-6
            )
        assert (got.loc["autarky", QUANTITIES[1:]] == 0).all(axis=None)


def test_with_banking_a_draws_transfers_match_run_over_the_years_not_year_by_year(workbook):
    """With banking, when A's allowances cross the border is left open at equal cost; run
    takes the smallest transfers, earliest (E14), a draw without a reserve or limited
    foresight the first stage's. Emissions match year by year; net imports and the money
    paid abroad in present value (one price in PV in both years) over the years."""
    _, draws, runs = _drawn_runs(workbook, banking="yes")
    for draw, (_, result) in enumerate(runs):
        got = draws.loc[draw][QUANTITIES].sort_index()
        expected = _run_rows(result)
        pd.testing.assert_series_equal(
            got["emissions_MtCO2e"], expected["emissions_MtCO2e"], rtol=1e-6
        )
        totals = ["case", "system"]
        pd.testing.assert_frame_equal(
            got.groupby(totals).sum(), expected.groupby(totals).sum(), rtol=1e-6, atol=1e-9
        )


def test_the_first_draw_a_worker_solves_has_the_emissions_of_its_drawn_baselines(
    workbook, monkeypatch
):
    """The emissions (E1) of a worker's first draw were those of the undrawn baselines: the
    compiled case kept the Params' old values in its cache of named expressions until a
    form of them had been read. Linked, A and B share p = (need_A + need_B) / (1/2 + 1/8),
    and each emits its drawn baseline less p / slope."""
    from etslink.inputs.uncertainty import perturbed
    from etslink.workflows import sweep as sweep_module

    data, _ = load_workbook(_shocked(workbook))
    for draw in (0, 1):
        monkeypatch.setattr(sweep_module, "_WORKERS", {})  # a new worker
        rows = solve_draw(data, draw)
        drawn = perturbed(data, draw)
        baseline = {s: drawn.baseline_MtCO2e[s, 2030] for s in C}
        need = {s: baseline[s] - drawn.cap_MtCO2e[s, 2030] for s in C}
        p = sum(need.values()) / sum(1 / c for c in C.values())
        linked = rows[rows["case"] == "linked"].set_index("system")
        for s in C:
            assert linked.loc[s, "emissions_MtCO2e"] == pytest.approx(
                baseline[s] - p / C[s], rel=1e-9
            )


def test_the_spread_over_draws_of_gains_money_abroad_and_emissions(workbook, tmp_path):
    """Issue 22, item 6: summary.xlsx's gains_by_draw are each draw's totals over the years
    (gain = cost alone - cost linked, money paid abroad linked, emissions linked - alone),
    and distributions their mean, sd and percentiles as numpy computes them; the report
    charts each system's draws."""
    import numpy as np

    assert _sweep(_shocked(workbook), tmp_path / "out", "--draws", 20, "--workers", 1) == 0
    draws = pd.read_parquet(tmp_path / "out" / DRAWS_FILE)
    sheets = pd.read_excel(tmp_path / "out" / "summary.xlsx", sheet_name=None)
    totals = draws.groupby(["draw", "system", "case"])[
        ["compliance_cost_pv_MEUR", "paid_abroad_pv_MEUR", "emissions_MtCO2e"]
    ].sum()
    linked, alone = totals.xs("linked", level="case"), totals.xs("autarky", level="case")
    expected = pd.DataFrame(
        {
            "gain_from_linking_pv_MEUR": alone["compliance_cost_pv_MEUR"]
            - linked["compliance_cost_pv_MEUR"],
            "linked_paid_abroad_pv_MEUR": linked["paid_abroad_pv_MEUR"],
            "emissions_change_MtCO2e": linked["emissions_MtCO2e"] - alone["emissions_MtCO2e"],
        }
    ).reset_index()
    by_draw = sheets["gains_by_draw"]
    pd.testing.assert_frame_equal(by_draw, expected, check_dtype=False, rtol=1e-12)
    assert (by_draw.loc[by_draw["system"] == "B", "linked_paid_abroad_pv_MEUR"] > 0).all()
    spread = sheets["distributions"].set_index(["system", "quantity"])
    for (system, quantity), row in spread.iterrows():
        values = by_draw.loc[by_draw["system"] == system, quantity].to_numpy()
        assert row["draws"] == 20
        assert row["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert row["sd"] == pytest.approx(values.std(ddof=1), rel=1e-12)
        assert [row["5%"], row["50%"], row["95%"]] == pytest.approx(
            np.percentile(values, [5, 50, 95]).tolist(), rel=1e-12
        )
    assert set(spread.index) == {
        (s, q) for s in C for q in expected.columns if q not in ("draw", "system")
    }
    gains = sheets["gains"].set_index("system")["expected_gain_pv_MEUR"]
    for s in C:
        assert spread.loc[(s, "gain_from_linking_pv_MEUR"), "mean"] == pytest.approx(gains[s])
    page = (tmp_path / "out" / "report.html").read_text()
    assert sorted(re.findall(r'id="(gain|abroad|emissions)-(\w+)"', page)) == sorted(
        (q, s) for q in ("abroad", "emissions", "gain") for s in C
    )
