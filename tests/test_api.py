"""The Python API: the same tables, files and messages as the command line, and light imports."""

from __future__ import annotations

import gc
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import etslink
from conftest import EXAMPLE, linear_case
from etslink.cli import main
from etslink.errors import InputError
from etslink.outputs.products import DRAWS_FILE

ROOT = Path(__file__).resolve().parents[1]
TABLES = (
    "prices",
    "balances",
    "transfers",
    "costs",
    "gains",
    "shadow_prices",
    "offset_prices",
    "offset_use",
)
HEAVY = {"pyomo", "highspy", "matplotlib", "dask", "distributed"}


@pytest.fixture(scope="module")
def example() -> etslink.RunResult:
    """The shipped example, solved once through the API."""
    return etslink.run(EXAMPLE)


def _bad_tables() -> dict:
    tables = linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0})
    tables["emissions"][0]["cap_MtCO2e"] = "n/a"
    tables["mac_linear"][1]["slope_per_tCO2e_per_MtCO2e"] = "1 000"
    return tables


@pytest.mark.solve
def test_tables_have_the_columns_of_the_sheets(example, example_run):
    book = pd.read_excel(example_run / "results.xlsx", sheet_name=list(TABLES))
    for name in TABLES:
        table = getattr(example, name)
        assert isinstance(table, pd.DataFrame), name
        assert list(table.columns) == list(book[name].columns), name
        assert len(table) == len(book[name]), name
    assert set(example.prices["case"]) == {"linked", "autarky"}
    pd.testing.assert_frame_equal(example.prices, book["prices"], check_dtype=False)
    assert example.warnings == []  # a shipped example that warns teaches to ignore warnings
    assert all("Fix:" in message for message in example.warnings)


@pytest.mark.solve
def test_run_prints_nothing_and_writes_nothing(workbook, tmp_path, monkeypatch, capsys):
    path = workbook(linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}))
    monkeypatch.chdir(tmp_path)
    etslink.run(path)
    assert capsys.readouterr() == ("", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.solve
def test_write_gives_the_files_of_the_cli(example, example_run, tmp_path):
    out = example.write(tmp_path / "api")
    assert out == tmp_path / "api"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in example_run.iterdir())
    ours = pd.read_excel(out / "results.xlsx", sheet_name=None)
    theirs = pd.read_excel(example_run / "results.xlsx", sheet_name=None)
    assert list(ours) == list(theirs)
    for sheet, frame in theirs.items():
        assert list(ours[sheet].columns) == list(frame.columns), sheet
        if sheet not in {"summary", "run"}:  # these hold times and the command
            pd.testing.assert_frame_equal(ours[sheet], frame, obj=sheet)
    record = json.loads((out / "run.json").read_text())
    cli_record = json.loads((example_run / "run.json").read_text())
    assert list(record) == list(cli_record)
    assert record["command"] == ["etslink.run", str(EXAMPLE)]
    assert record["timings_s"].keys() == cli_record["timings_s"].keys()
    assert record["input"] == cli_record["input"]
    for case, solved in cli_record["cases"].items():
        assert list(record["cases"][case]) == list(solved)
        assert record["cases"][case]["stage_two"] == solved["stage_two"]
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.solve
def test_the_example_as_a_workbook_runs_to_the_results_of_its_file(example):
    """Issue 22, item 5: `etslink.Workbook` reads as `etslink run` reads, and solves alike."""
    ours = etslink.Workbook(EXAMPLE).run()
    for name in (*TABLES, "gains_by_year", "msr", "fit"):
        pd.testing.assert_frame_equal(
            getattr(ours, name), getattr(example, name), check_exact=False, rtol=0, atol=1e-9
        )
    assert ours.warnings == example.warnings
    assert ours.record["input"] == {
        **example.record["input"],
        "tables_sha256": ours.record["input"]["tables_sha256"],
        "edited": False,
    }


@pytest.mark.solve
def test_run_json_records_the_second_stage(example, example_run):
    stages = {case: r.outcome.stage_two for case, r in example.results.cases.items()}
    record = json.loads((example_run / "run.json").read_text())
    assert {case: c["stage_two"] for case, c in record["cases"].items()} == stages
    assert set(stages.values()) <= {"optimal", "not needed"}


@pytest.mark.solve
def test_write_refuses_a_folder_in_use(example, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier results")
    with pytest.raises(FileExistsError, match="not empty"):
        example.write(out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (tmp_path / "a_file").write_text("")
    with pytest.raises(FileExistsError):
        example.write(tmp_path / "a_file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "out"]


@pytest.mark.unit
def test_a_bad_workbook_raises_the_messages_run_prints(workbook, tmp_path, capsys):
    path = workbook(_bad_tables())
    with pytest.raises(etslink.WorkbookError) as caught:
        etslink.run(path)
    error = caught.value
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    printed = capsys.readouterr().err
    assert printed == "The workbook has 2 problem(s):\n" + "\n".join(error.issues) + "\n"
    assert error.issues[0].startswith("emissions!D2 (cap_MtCO2e)")
    assert error.issues[1].startswith('mac_linear!C3 (slope_per_tCO2e_per_MtCO2e): "1 000"')
    assert [(i.sheet, i.cell) for i in error.details] == [("emissions", "D2"), ("mac_linear", "C3")]
    assert isinstance(error.__cause__, InputError)
    assert isinstance(error, etslink.EtslinkError)
    assert not (tmp_path / "out").exists()


@pytest.mark.unit
def test_a_missing_workbook_and_bad_arguments(tmp_path):
    with pytest.raises(etslink.WorkbookError) as caught:
        etslink.run(tmp_path / "nope.xlsx")
    assert "does not exist" in caught.value.issues[0]
    with pytest.raises(ValueError, match="time_limit_s"):
        etslink.run(EXAMPLE, time_limit_s=0)
    with pytest.raises(ValueError, match="draws"):
        etslink.sweep(EXAMPLE, draws=0)
    with pytest.raises(ValueError, match="workers"):
        etslink.sweep(EXAMPLE, workers=0)


@pytest.mark.unit
def test_a_sweep_needs_uncertain_inputs(workbook):
    with pytest.raises(etslink.WorkbookError) as caught:
        etslink.sweep(workbook(linear_case({"A": 2.0}, {"A": 10.0})))
    assert caught.value.issues[0].startswith("uncertainty: a sweep needs uncertain inputs")


@pytest.mark.solve
def test_infeasible_inputs_and_solver_trouble_raise_their_errors(workbook):
    tables = linear_case({"A": 2.0}, {"A": 10.0})
    tables["mac_linear"][0]["max_abatement_MtCO2e"] = 5.0  # A can abate 5 of the 10 it needs
    with pytest.raises(etslink.InfeasibleError, match=r"A 2030 cannot comply .* 5\.000 MtCO2e"):
        etslink.run(workbook(tables))
    with pytest.raises(etslink.SolverTroubleError, match="time limit"):
        etslink.run(EXAMPLE, time_limit_s=1e-9)


@pytest.mark.solve
def test_sweep_gives_the_draws_and_files_of_the_cli(workbook, tmp_path):
    path = workbook(
        linear_case(
            {"A": 2.0, "B": 8.0},
            {"A": 10.0, "B": 10.0},
            links=[{"from_system": "A", "to_system": "B"}],
            uncertainty=[
                {"parameter": "baseline", "target": "*", "distribution": "normal", "sd": 3.0}
            ],
        )
    )
    res = etslink.sweep(path, draws=4)
    assert set(res.draws["draw"]) == set(range(4))
    assert set(res.summary) == {
        "price_statistics",
        "gains",
        "distributions",
        "gains_by_draw",
        "volatility",
    }
    assert list(res.distributions["system"].unique()) == ["A", "B"]
    assert len(res.gains_by_draw) == 4 * 2  # draws x systems
    assert list(res.gains["system"]) == ["A", "B"]
    out = res.write(tmp_path / "api")
    cli = tmp_path / "cli"
    assert (
        main(["sweep", str(path), "--draws", "4", "--workers", "1", "--out", str(cli), "--quiet"])
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in cli.iterdir())
    written = pd.read_parquet(cli / DRAWS_FILE)
    pd.testing.assert_frame_equal(pd.read_parquet(out / DRAWS_FILE), written)
    pd.testing.assert_frame_equal(res.draws, written, check_dtype=False)
    record = json.loads((out / "run.json").read_text())
    assert list(record) == list(json.loads((cli / "run.json").read_text()))
    assert (record["draws"], record["workers"], record["failed_draws"]) == (4, 1, [])
    with pytest.raises(FileExistsError):
        res.write(out)


@pytest.mark.unit
def test_import_is_light():
    """`import etslink` loads no solver, plotting or dask; the API functions are there."""
    code = (
        "import sys, etslink, etslink.api\n"
        "assert etslink.run is etslink.api.run and etslink.sweep is etslink.api.sweep\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "etslink" in done.stdout.split()
    assert not HEAVY & set(done.stdout.split())


@pytest.mark.unit
def test_run_and_sweep_stay_the_api_functions_once_every_module_is_imported():
    import etslink.workflows.run
    import etslink.workflows.sweep  # noqa: F401 - imported for the check below

    assert etslink.run is etslink.api.run
    assert etslink.sweep is etslink.api.sweep


@pytest.mark.solve
def test_the_examples_of_docs_api_run(tmp_path, monkeypatch, capsys):
    """Every python block of docs/api.md, in order, from a folder holding the two examples."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), re.S)
    assert len(blocks) == 9
    (tmp_path / "inputs" / "tutorial").mkdir(parents=True)
    tutorials = ("1_two_way", "13_explore", "15_calibrate")
    for name in ("example.xlsx", "explore.xlsx", *(f"tutorial/{t}.xlsx" for t in tutorials)):
        shutil.copy(EXAMPLE.parent / name, tmp_path / "inputs" / name)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "gain_from_linking_pv_MEUR" in printed
    assert 'the file "inputs/no_such_workbook.xlsx" does not exist' in printed
    assert {p.name for p in (tmp_path / "outputs" / "example-api").iterdir()} == {
        "results.xlsx",
        "report.html",
        "run.json",
    }
    assert (tmp_path / "outputs" / "example-sweep" / DRAWS_FILE).is_file()
    assert "1.48716" in printed  # mac_scale of A, printed by pandas
    assert (tmp_path / "outputs" / "calibrated" / "calibrated.xlsx").is_file()
    assert (tmp_path / "outputs" / "explore" / "explore.xlsx").is_file()
    # Workbook: B abates 15 and A 10 at one price p, p/2 + p/8 = 25
    tighter = namespace["tighter"].prices
    assert tighter["price_EUR_per_tCO2e"].tolist()[:2] == pytest.approx([40, 40])
    saved = etslink.run(tmp_path / "outputs" / "tighter_B.xlsx")
    pd.testing.assert_frame_equal(saved.prices, tighter)
    # the scenario loop: slopes 2 and 8 f, 10 Mt each to abate, one price p
    for row in namespace["scenarios"].itertuples():
        slope = {"A": 2.0, "B": 8.0 * row.B_slope_factor}
        p = 20 / sum(1 / c for c in slope.values())
        alone = {s: c * 10**2 / 2 for s, c in slope.items()}
        linked = {s: c * (p / c) ** 2 / 2 + (10 - p / c) * p for s, c in slope.items()}
        assert row.price_EUR == pytest.approx(p)
        assert row.gain_A_MEUR == pytest.approx(alone["A"] - linked["A"])  # 36 at factor 1
        assert row.gain_B_MEUR == pytest.approx(alone["B"] - linked["B"])  # 144 at factor 1
    # the subset and the comparison
    assert set(namespace["pair"].systems) == {"A", "B"}
    assert namespace["both"].scenarios["gain_from_linking_pv_MEUR"].tolist() == pytest.approx(
        [0.0, 180.0]
    )
    assert {p.name for p in (tmp_path / "outputs" / "compare-api").iterdir()} == {
        "comparison.xlsx",
        "report.html",
        "run.json",
    }


@pytest.mark.solve
def test_run_and_write_leave_the_garbage_collector_as_they_found_it(example, tmp_path):
    before = gc.get_threshold()
    example.write(tmp_path / "out")
    assert gc.get_threshold() == before


@pytest.mark.solve
def test_etslink_run_imports_neither_dask_nor_openpyxl(tmp_path):
    """`etslink run` of an .xlsx workbook needs no cluster and reads with calamine alone."""
    run = ["run", str(EXAMPLE), "--out", str(tmp_path / "out"), "--quiet"]
    code = (
        "import sys\n"
        "from etslink.cli import main\n"
        f"assert main({run!r}) == 0\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert not {"dask", "distributed", "openpyxl"} & set(done.stdout.split())


def test_run_takes_the_sheets_as_records_and_checks_them_as_a_workbooks():
    """Issue 22, item 5: a scenario loop needed a workbook file per scenario."""
    tables = {
        "settings": [{"key": "currency", "value": "EUR"}],
        "systems": [{"system": "A"}, {"system": "B"}],
        "emissions": [
            {"system": s, "year": 2030, "baseline_MtCO2e": 100, "cap_MtCO2e": 90} for s in "AB"
        ],
        "mac_linear": [
            {"system": "A", "year": 2030, "slope_per_tCO2e_per_MtCO2e": 2},
            {"system": "B", "year": 2030, "slope_per_tCO2e_per_MtCO2e": 8},
        ],
        "links": [{"from_system": "A", "to_system": "B"}],
    }
    result = etslink.run(tables)
    assert result.results.price("linked", "A", 2030) == pytest.approx(32, abs=1e-6)  # tutorial 1
    assert result.record["input"]["path"] == "<tables passed to etslink.run>"
    assert result.msr.empty  # no reserve: the attribute is there, the table empty
    tables["links"][0]["max_transfer_MtC02e"] = 2  # a zero for the O
    with pytest.raises(etslink.WorkbookError) as error:
        etslink.run(tables)
    assert "'max_transfer_MtC02e' is not a column of sheet links" in error.value.issues[0]


def test_gains_by_year_add_up_to_the_gains_sheet():
    """Issue 22, item 4: gains were whole-period present values only."""
    result = etslink.run(EXAMPLE)
    by_year = result.gains_by_year
    total = by_year.groupby("system")["gain_from_linking_pv_MEUR"].sum()
    gains = result.gains.set_index("system")["gain_from_linking_pv_MEUR"]
    assert total.reindex(gains.index).to_numpy() == pytest.approx(gains.to_numpy(), abs=1e-6)
    window = by_year[by_year["year"].between(2021, 2025)]
    assert len(window) == 6 * 5  # the six systems of 2021-2025 (Ontario only in 2018)
    totals = result.gains_between(2021, 2025).set_index("system")
    assert "ON" not in totals.index
    for column in (
        "gain_from_linking_MEUR",
        "gain_from_linking_pv_MEUR",
        "linked_paid_abroad_MEUR",
    ):
        expected = window.groupby("system")[column].sum()
        assert totals[column].to_dict() == pytest.approx(expected.to_dict(), abs=1e-9)
    everything = result.gains_between(1900, 2100).set_index("system")["gain_from_linking_pv_MEUR"]
    assert everything.reindex(gains.index).to_numpy() == pytest.approx(gains.to_numpy(), abs=1e-6)
    with pytest.raises(ValueError, match="no model year lies in 2050-2060"):
        result.gains_between(2050, 2060)
