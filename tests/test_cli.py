"""The command line end to end: the shipped example, errors, exit codes and outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from conftest import EXAMPLE, cap_shock, linear_case
from etslink.cli import main

CONTRACT_SHEETS = {
    "prices": ["case", "system", "year", "price_EUR_per_tCO2e"],
    "balances": [
        "case",
        "system",
        "year",
        "baseline_MtCO2e",
        "cap_MtCO2e",
        "abatement_MtCO2e",
        "emissions_MtCO2e",
        "net_imports_MtCO2e",
        "offsets_used_MtCO2e",
        "bank_end_MtCO2e",
    ],
    "transfers": ["case", "from_system", "to_system", "year", "quantity_MtCO2e"],
    "costs": ["case", "system", "year", "abatement_cost_MEUR"],
}


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.solve
def test_example_writes_the_contract_outputs(example_run):
    assert {p.name for p in example_run.iterdir()} == {"results.xlsx", "report.html", "run.json"}
    book = pd.read_excel(example_run / "results.xlsx", sheet_name=None)
    for sheet, columns in CONTRACT_SHEETS.items():
        assert set(columns) <= set(book[sheet].columns), sheet
        expected_cases = {"linked"} if sheet == "transfers" else {"linked", "autarky"}
        assert set(book[sheet]["case"]) == expected_cases, sheet
    assert {"gains", "shadow_prices", "run"} <= set(book)


@pytest.mark.solve
def test_example_run_record(example_run):
    record = json.loads((example_run / "run.json").read_text())
    assert len(record["input"]["sha256"]) == 64
    assert {case["termination"] for case in record["cases"].values()} == {"optimal"}
    assert {"python", "pyomo", "highspy", "highs", "etslink"} <= set(record["versions"])
    assert record["cases"]["linked"]["solver_options"]["threads"] == 1
    assert {"read", "validate", "solve_linked", "solve_autarky", "write"} <= set(
        record["timings_s"]
    )


@pytest.mark.solve
def test_example_report_is_self_contained(example_run):
    page = (example_run / "report.html").read_text()
    assert "<table" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)


@pytest.mark.solve
def test_same_workbook_gives_the_same_numbers(example_run, tmp_path):
    again = tmp_path / "again"
    assert main(["run", str(EXAMPLE), "--out", str(again), "--quiet"]) == 0
    for sheet in ("prices", "balances", "transfers", "costs", "gains"):
        first = pd.read_excel(example_run / "results.xlsx", sheet_name=sheet)
        second = pd.read_excel(again / "results.xlsx", sheet_name=sheet)
        pd.testing.assert_frame_equal(first, second, check_exact=True)


@pytest.mark.solve
def test_non_empty_output_folder_is_never_touched(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    code, _, err = _run(["run", EXAMPLE, "--out", out], capsys)
    assert code == 2
    assert "not empty" in err
    assert "Fix:" in err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.solve
def test_empty_output_folder_is_used(tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    code, _, _ = _run(["run", EXAMPLE, "--out", out, "--quiet"], capsys)
    assert code == 0
    assert (out / "results.xlsx").is_file()
    assert not list(tmp_path.glob(".*tmp*"))


def test_validate_example(capsys):
    code, out, _ = _run(["validate", EXAMPLE], capsys)
    assert code == 0
    assert "OK" in out


@pytest.mark.solve
def test_template_validates_and_runs(tmp_path, capsys):
    path = tmp_path / "new.xlsx"
    assert _run(["template", path], capsys)[0] == 0
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "README"
    assert "MtCO2e" in book["emissions"]["C1"].comment.text
    lists = {
        str(dv.sqref).split(":")[0]: dv.formula1
        for dv in book["links"].data_validations.dataValidation
    }
    assert lists["A2"] == "systems!$A$2:$A$500"  # from_system picks a declared system
    assert lists["C2"] == '"one-way,two-way"'
    assert book["systems"].data_validations.dataValidation[0].formula1 == '"yes,no"'
    assert _run(["validate", path], capsys)[0] == 0
    assert _run(["run", path, "--out", tmp_path / "out", "--quiet"], capsys)[0] == 0
    assert _run(["template", path], capsys)[0] == 2  # never overwrites


def _assert_input_error(code: int, err: str, cell: str, out: Path) -> None:
    assert code == 2
    assert cell in err
    assert "Fix:" in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("mutate", "cell"),
    [
        (lambda t: t["emissions"][1].update(cap_MtCO2e="12,5"), "emissions!D3 (cap_MtCO2e)"),
        (
            lambda t: t["emissions"][0].update(baseline_MtCO2e=None),
            "emissions!C2 (baseline_MtCO2e)",
        ),
        (lambda t: t["links"][0].update(to_system="BB"), 'links!B2 (to_system): "BB" is not on'),
        (lambda t: t["links"][0].update(to_system="A"), "links!B2 (to_system)"),
        (lambda t: t["links"][0].update(exchange_rate=0), "links!C2 (exchange_rate)"),
        (lambda t: t["emissions"].append(dict(t["emissions"][0])), "emissions!B4 (year)"),
        (lambda t: t.pop("systems"), "systems: the sheet is missing"),
        (
            lambda t: t["mac_linear"][0].update(max_abatement_MtCO2e=500),
            "mac_linear!D2 (max_abatement_MtCO2e)",
        ),
        (
            lambda t: t["settings"].append({"key": "discount", "value": 0.1}),
            'settings!A3 (key): unknown setting "discount" (did you mean "discount_rate"?)',
        ),
    ],
)
def test_input_errors_name_the_cell_and_the_fix(workbook, tmp_path, capsys, mutate, cell):
    tables = linear_case(
        {"A": 2.0, "B": 8.0},
        {"A": 10.0, "B": 10.0},
        links=[{"from_system": "A", "to_system": "B", "exchange_rate": 1}],
    )
    mutate(tables)
    out = tmp_path / "out"
    code, _, err = _run(["run", workbook(tables), "--out", out], capsys)
    _assert_input_error(code, err, cell, out)


def test_all_problems_are_reported_at_once(workbook, tmp_path, capsys):
    tables = linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0})
    tables["emissions"][0]["cap_MtCO2e"] = "n/a"
    tables["mac_linear"][1]["slope_per_tCO2e_per_MtCO2e"] = "1 000"
    code, _, err = _run(["validate", workbook(tables)], capsys)
    assert code == 2
    assert "emissions!D2 (cap_MtCO2e)" in err
    assert 'mac_linear!C3 (slope_per_tCO2e_per_MtCO2e): "1 000" is not a number' in err


def test_missing_file(tmp_path, capsys):
    code, _, err = _run(["run", tmp_path / "nope.xlsx", "--out", tmp_path / "o"], capsys)
    _assert_input_error(code, err, "does not exist", tmp_path / "o")


def test_not_a_workbook(tmp_path, capsys):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip")
    code, _, err = _run(["run", bad, "--out", tmp_path / "o"], capsys)
    _assert_input_error(code, err, "cannot be read", tmp_path / "o")


@pytest.mark.solve
def test_infeasible_inputs_name_the_system_year(workbook, tmp_path, capsys):
    tables = linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, years=(2030, 2031))
    for row in tables["mac_linear"][:2]:
        row["max_abatement_MtCO2e"] = 5.0  # A can abate 5 a year
    tables["emissions"][1]["cap_MtCO2e"] = 80.0  # A needs 10 in 2030 and 20 in 2031
    out = tmp_path / "out"
    code, _, err = _run(["run", workbook(tables), "--out", out], capsys)
    assert code == 3
    assert "Traceback" not in err
    assert "A 2030 cannot comply (linked case): 5.000 MtCO2e short" in err
    assert "A 2031 cannot comply (linked case): 15.000 MtCO2e short" in err
    assert "B 20" not in err
    assert not out.exists()


def test_internal_error_goes_to_a_log(monkeypatch, tmp_path, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("etslink.workflows.run.read_workbook", broken)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    code, _, err = _run(["validate", EXAMPLE], capsys)
    assert code == 1
    assert err.startswith("internal error: please report, details in")
    assert "Traceback" not in err
    log = Path(err.rsplit(" ", 1)[-1].strip())
    assert "boom" in log.read_text()


@pytest.mark.solve
def test_example_moves_only_the_cumulative_position():
    """CH has one link (to EU) and banking: the least trade is CH's cumulative surplus.

    That is the sum over years of cap + abatement + credits - baseline, less what is left
    unused at the end. Without the second stage (E14) HiGHS may return CH importing to bank
    and re-export: the same costs, but meaningless flows. Checked in one plan (the example's
    EU and CH with the rules in force known from the start and perfect foresight): plans that
    learn later rules may rightly sell early and buy back once the cap they see falls.
    """
    import etslink

    workbook = etslink.Workbook(EXAMPLE).subset(["EU", "CH"])
    for sheet in ("emissions", "msr"):
        table = workbook[sheet]
        workbook.sheets[sheet] = table[table["announced_year"].isna()].drop(
            columns="announced_year"
        )
    settings = workbook["settings"]
    workbook.sheets["settings"] = settings[settings["key"] != "foresight_years"]
    result = workbook.run()
    balances = result.balances
    ch = balances[(balances["case"] == "linked") & (balances["system"] == "CH")]
    surplus = (
        ch["cap_MtCO2e"]
        + ch["abatement_MtCO2e"]
        + ch["offsets_used_MtCO2e"]
        - ch["baseline_MtCO2e"]
    ).sum() - ch["bank_end_MtCO2e"].iloc[-1]
    transfers = result.transfers
    moved = transfers[
        (transfers["case"] == "linked")
        & ((transfers["from_system"] == "CH") | (transfers["to_system"] == "CH"))
    ]
    assert abs(surplus) > 1.0
    assert moved["quantity_MtCO2e"].sum() == pytest.approx(abs(surplus), rel=1e-6)


@pytest.mark.solve
def test_time_limit_has_its_own_exit_code(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(["run", EXAMPLE, "--out", out, "--time-limit", "1e-9"], capsys)
    assert code == 4
    assert "time limit of 1e-09 s" in err
    assert "Fix: run again with a larger --time-limit" in err
    assert not out.exists()


@pytest.mark.solve
def test_run_shows_prices_and_quiet_shows_only_where_the_results_are(tmp_path, capsys):
    code, out, _ = _run(["run", EXAMPLE, "--out", tmp_path / "loud"], capsys)
    assert code == 0
    assert "Allowance prices, EUR per tCO2e" in out
    assert "Gain from linking" in out
    assert str(tmp_path / "loud") in out
    code, out, err = _run(["run", EXAMPLE, "--out", tmp_path / "quiet", "--quiet"], capsys)
    assert code == 0
    assert out == f"Results in {tmp_path / 'quiet'}: report.html, results.xlsx, run.json\n"


def _table_rows(printed: str) -> dict[str, list[str]]:
    """Return the cells of a printed rich table's rows, by their first cell."""
    rows = [line.strip("│").split("│") for line in printed.splitlines() if line.startswith("│")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


@pytest.mark.solve
def test_run_prints_each_systems_first_linked_last_and_most_moved_year(
    tmp_path, capsys, monkeypatch
):
    """Tutorial 1 (one year): alone A pays c x R = 2 x 10 and B 8 x 10; linked both pay
    20 / (1/2 + 1/8) = 32; the link is in force in 2030, the first and last year."""
    monkeypatch.setenv("COLUMNS", "100")
    c, need = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}
    pooled = sum(need.values()) / sum(1 / x for x in c.values())
    workbook = EXAMPLE.parent / "tutorial" / "1_two_way.xlsx"
    code, out, _ = _run(["run", workbook, "--out", tmp_path / "out"], capsys)
    assert code == 0
    assert "Allowance prices, EUR per tCO2e" in out
    table = out.split("Gain from linking")[0]  # the table, its title and caption
    assert max(len(line) for line in table.splitlines()) <= 100
    rows = _table_rows(out)
    for system in c:
        alone = f"{c[system] * need[system]:.2f}"
        change = f"{pooled - c[system] * need[system]:+.2f}"
        assert rows[system] == ["2030", alone, f"{pooled:.2f}"] * 2 + ["2030", change]


def _four_years(links: list[dict], b_2032: float = 20.0) -> dict:
    """A (c 2), B (c 8) and C (c 4) need 10 Mt a year, B 20 in 2032; no banking, so each
    year's prices are that year's own: alone c x R, linked sum(R) / sum(1/c)."""
    years = (2030, 2031, 2032, 2033)
    need = {"A": 10.0, "B": 10.0, "C": 10.0}
    tables = linear_case({"A": 2.0, "B": 8.0, "C": 4.0}, need, years, links=links)
    tables["systems"] = [{"system": s, "banking": "no"} for s in need]
    for row in tables["emissions"]:
        if (row["system"], row["year"]) == ("B", 2032):
            row["cap_MtCO2e"] = row["baseline_MtCO2e"] - b_2032
    return tables


@pytest.mark.solve
def test_the_summary_takes_the_first_linked_the_last_and_the_most_moved_year(solve):
    """A-B linked from 2031: 32 a year (20 alone for A, 80 for B), but 30 / (1/2 + 1/8) = 48
    in 2032, where B alone pays 8 x 20 = 160: the largest change. C, linked to none, never
    moves."""
    from etslink.outputs.price_summary import PricePair, price_summary

    links = [{"from_system": "A", "to_system": "B", "first_year": 2031}]
    summary = {row.system: row for row in price_summary(solve(_four_years(links)))}
    expected = {
        "A": ((2031, 20, 32), (2032, 20, 48), (2033, 20, 32)),
        "B": ((2031, 80, 32), (2032, 160, 48), (2033, 80, 32)),
    }
    for system, (first, moved, last) in expected.items():
        row = summary[system]
        for got, (year, alone, linked) in zip(
            (row.first_linked, row.largest_change, row.last), (first, moved, last), strict=True
        ):
            assert isinstance(got, PricePair)
            assert got.year == year
            assert (got.second, got.linked) == pytest.approx((alone, linked), abs=1e-6)
    assert summary["A"].largest_change.change == pytest.approx(48 - 20, abs=1e-6)
    assert summary["C"].first_linked is None
    assert summary["C"].largest_change is None
    assert (summary["C"].last.year, summary["C"].last.linked) == (2033, pytest.approx(40))


@pytest.mark.solve
def test_against_a_counterfactual_the_first_linked_year_is_the_new_links(solve):
    """A-B exists (in the counterfactual); B-C is new from 2032: A's group grows in 2032."""
    from etslink.outputs.price_summary import price_summary

    links = [
        {"from_system": "A", "to_system": "B", "in_counterfactual": "yes"},
        {"from_system": "B", "to_system": "C", "first_year": 2032},
    ]
    summary = {row.system: row for row in price_summary(solve(_four_years(links, 10.0)))}
    assert {s: row.first_linked.year for s, row in summary.items()} == dict.fromkeys("ABC", 2032)
    # 2032: A-B-C at 30 / (1/2 + 1/8 + 1/4) = 34.29 against A-B at 32 and C at 40
    assert summary["C"].first_linked.second == pytest.approx(40, abs=1e-6)
    assert summary["C"].first_linked.linked == pytest.approx(30 / 0.875, abs=1e-6)
    assert summary["A"].first_linked.second == pytest.approx(32, abs=1e-6)


TUTORIAL = EXAMPLE.parent / "tutorial"


def _quiet_commands(workbook, tmp_path: Path) -> dict[str, list]:
    """Return each command that writes results, run --quiet on a small tutorial workbook."""
    shocked = linear_case(
        {"A": 2.0, "B": 8.0},
        {"A": 10.0, "B": 10.0},
        links=[{"from_system": "A", "to_system": "B"}],
        uncertainty=cap_shock("A"),
    )
    runs = [tmp_path / "run", tmp_path / "run 2"]
    return {
        "run": ["run", TUTORIAL / "1_two_way.xlsx", "--out", runs[0]],
        "run 2": ["run", TUTORIAL / "3_transfer_limit.xlsx", "--out", runs[1]],
        "compare": ["compare", *runs, "--out", tmp_path / "compare"],
        "sweep": ["sweep", workbook(shocked), "--draws", 2, "--workers", 1],
        "explore": ["explore", TUTORIAL / "13_explore.xlsx", "--workers", 1],
        "calibrate": ["calibrate", TUTORIAL / "15_calibrate.xlsx"],
    }


@pytest.mark.solve
def test_quiet_commands_print_one_line_where_the_results_are(workbook, tmp_path, capsys):
    """Issue 22, item 7: --quiet printed nothing on success, so a script's log did not say
    where the results went."""
    for name, args in _quiet_commands(workbook, tmp_path).items():
        out = tmp_path / name if "--out" not in args else args[args.index("--out") + 1]
        if "--out" not in args:
            args += ["--out", out]
        code, printed, problems = _run([*args, "--quiet"], capsys)
        assert code == 0, name
        files = ", ".join(sorted(p.name for p in out.iterdir()))
        assert printed == f"Results in {out}: {files}\n", name
        assert problems == "", name


@pytest.mark.solve
def test_quiet_still_prints_problems(workbook, tmp_path, capsys):
    """A cap 5 Mt above the baseline in the only year: the surplus cannot be banked."""
    tables = linear_case({"A": 2.0}, {"A": -5.0})
    out = tmp_path / "out"
    code, printed, problems = _run(["run", workbook(tables), "--out", out, "--quiet"], capsys)
    assert code == 0
    assert printed == f"Results in {out}: report.html, results.xlsx, run.json\n"
    assert problems.startswith("Warnings (the run goes on):\nemissions!")


@pytest.mark.solve
def test_run_as_a_process_ends_with_its_code_and_flushed_output(workbook, tmp_path):
    """`etslink run` ends its process itself after writing (no teardown of its objects):
    the exit code, both streams and the outputs are as a normal exit leaves them."""
    import subprocess
    import sys

    path, out = workbook(linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0})), tmp_path / "o"
    command = [sys.executable, "-m", "etslink", "run", str(path), "--out", str(out), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"Results in {out}")
    assert {p.name for p in out.iterdir()} == {"results.xlsx", "report.html", "run.json"}
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 2
    assert again.stderr.startswith("Stopped:")
