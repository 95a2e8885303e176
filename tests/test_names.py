"""Names that are almost right: misspelt sheets and headers, twins and duplicates (issue 21)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from conftest import cap_shock, linear_case
from etslink.errors import InputError
from etslink.workflows.run import load_workbook


def _pair(workbook) -> Path:
    return workbook(
        linear_case(
            {"A": 2.0, "B": 8.0},
            {"A": 10.0, "B": 10.0},
            links=[{"from_system": "A", "to_system": "B", "max_transfer_MtCO2e": 2}],
        )
    )


def _edited(path: Path, edit) -> Path:
    book = openpyxl.load_workbook(path)
    edit(book)
    book.save(path)
    return path


def _issues(path: Path) -> list:
    with pytest.raises(InputError) as error:
        load_workbook(path)
    return error.value.issues


def test_a_misspelt_sheet_is_an_error_naming_the_sheet_it_means(workbook):
    def rename(book):
        book["links"].title = "link"

    (issue,) = _issues(_edited(_pair(workbook), rename))
    assert issue.sheet == "link"
    assert "did you mean links?" in issue.problem


def test_a_misspelt_header_is_an_error_naming_the_column_it_means(workbook):
    def misspell(book):
        sheet = book["links"]
        for cell in sheet[1]:
            if cell.value == "max_transfer_MtCO2e":
                cell.value = "max_transfer_MtC02e"  # a zero for the O

    (issue,) = _issues(_edited(_pair(workbook), misspell))
    assert (issue.sheet, issue.column) == ("links", "max_transfer_MtCO2e")
    assert '"max_transfer_MtC02e"' in issue.problem


def test_two_sheets_of_one_name_and_a_duplicated_header_are_errors(workbook):
    def twin(book):
        copy = book.copy_worksheet(book["links"])
        copy.title = "Links "
        sheet = book["emissions"]
        sheet.cell(1, sheet.max_column + 1).value = "cap_MtCO2e"

    found = {(i.sheet, i.column) for i in _issues(_edited(_pair(workbook), twin))}
    twins = {sheet for sheet, column in found if sheet.strip().lower() == "links"}
    assert len(twins) == 1  # one of links and "Links " is named: only one would be read
    assert ("emissions", "cap_MtCO2e") in found  # the second cap column would be dropped


def test_a_notes_sheet_is_read_past_with_one_warning(workbook):
    def notes(book):
        book.create_sheet("README")["A1"] = "my notes"
        book.create_sheet("sources")["A1"] = "where the numbers come from"

    data, warnings = load_workbook(_edited(_pair(workbook), notes))
    (warning,) = [w for w in warnings if "does not read" in w.problem]
    assert '"README", "sources"' in warning.problem
    assert data.links  # the run goes on


def test_a_base_year_far_from_the_model_years_is_an_error_not_prices_of_zero(workbook):
    """Issue 21: base_year 2200 at 50% discounted 2030 costs by 1.5^170 and priced 0."""
    tables = linear_case({"A": 2.0}, {"A": 10.0}, (2030, 2031))
    tables["settings"] = [
        {"key": "base_year", "value": 2200},
        {"key": "discount_rate", "value": 0.5},
    ]
    (issue,) = _issues(workbook(tables))
    assert (issue.sheet, issue.column) == ("settings", "value")
    assert "base_year" in issue.fix


def test_a_mac_slope_of_1e308_is_refused(workbook):
    (issue,) = _issues(workbook(linear_case({"A": 1e308}, {"A": 10.0})))
    assert (issue.sheet, issue.column) == ("mac_linear", "slope_per_tCO2e_per_MtCO2e")


def test_a_link_that_raises_total_cost_is_said_so(workbook, tmp_path, capsys):
    """Tutorial 14's floor across a link, higher: B's floor of 70 holds the linked price at
    70, so A abates 35 and B 8.75: 1,225 + 306 MEUR against 100 + 400 alone."""
    from etslink.cli import main

    tables = linear_case(
        {"A": 2.0, "B": 8.0},
        {"A": 10.0, "B": 10.0},
        links=[{"from_system": "A", "to_system": "B"}],
        price_controls=[{"system": "B", "year": 2030, "floor_price_per_tCO2e": 70}],
    )
    out = tmp_path / "out"
    assert main(["run", str(workbook(tables)), "--out", str(out)]) == 0
    assert "Linking raises the total cost of compliance" in capsys.readouterr().out
    assert "Linking raises the total cost of compliance" in (out / "report.html").read_text()


def test_infeasibility_names_the_system_that_is_short_not_its_partner(workbook, tmp_path, capsys):
    """Issue 21: A's cap of 0 (A and B linked, two years) was reported as "B 2030 cannot
    comply": linked, the solver may put the group's shortfall anywhere. A may abate 50 of its
    100, B 50 but needs only 10: A is 50 short alone, the linked market 10."""
    from etslink.cli import main

    tables = linear_case(
        {"A": 2.0, "B": 8.0},
        {"A": 10.0, "B": 10.0},
        (2030, 2031),
        links=[{"from_system": "A", "to_system": "B"}],
    )
    tables["emissions"][0]["cap_MtCO2e"] = 0.0
    for r in tables["mac_linear"]:
        r["max_abatement_MtCO2e"] = 50.0
    assert main(["run", str(workbook(tables)), "--out", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    assert (
        "A 2030 cannot comply (linked case): 50.000 MtCO2e short on its own, 10.000 with what "
        "its links bring in" in err
    )
    assert "B 2030" not in err


def test_explore_default_ids_of_different_pairs_do_not_merge(workbook):
    """Issue 21: systems EU-UK, X, EU, UK-X: EU-UK to X and EU to UK-X were both "EU-UK-X",
    two links tried as one candidate."""
    from etslink.workflows.explore import _named

    rows = [
        {"candidate": None, "from_system": "EU-UK", "to_system": "X"},
        {"candidate": None, "from_system": "EU", "to_system": "UK-X"},
        {"candidate": None, "from_system": "EU-UK", "to_system": "X"},  # a second row, same pair
    ]
    assert [r["candidate"] for r in _named(rows)] == ["EU-UK-X", "EU-UK-X #2", "EU-UK-X"]


def test_a_sweep_whose_every_draw_fails_exits_3_with_a_diagnosis_and_no_leftover(
    workbook, tmp_path, capsys
):
    """Issue 21, item 10: every draw infeasible gave a KeyError (exit 1) and a partial folder
    that blocked the next run."""
    from etslink.cli import main

    tables = linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, (2030, 2031))
    for r in tables["mac_linear"]:
        r["max_abatement_MtCO2e"] = 12.0  # A's cap drawn at half: far more to abate than 12
    tables["uncertainty"] = cap_shock("A", mean=0.5)
    out = tmp_path / "out"
    assert (
        main(
            [
                "sweep",
                str(workbook(tables)),
                "--out",
                str(out),
                "--draws",
                "3",
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 3
    )
    assert "A 2030 cannot comply" in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / ".out.partial").exists()


@pytest.mark.parametrize("name", ["status quo", "P + Q", "Status Quo "])
def test_candidate_ids_that_outputs_would_misread_are_errors(workbook, name):
    """Issue 21, item 11: a candidate named "status quo", or "P + Q" beside P and Q, crashed
    explore (exit 1) and left a partial folder."""
    tables = linear_case({"A": 2.0, "B": 8.0, "C": 4.0}, {"A": 10.0, "B": 10.0, "C": 10.0})
    tables["candidate_links"] = [
        {"candidate": name, "from_system": "A", "to_system": "B"},
        {"candidate": "Q", "from_system": "B", "to_system": "C"},
    ]
    (issue,) = _issues(workbook(tables))
    assert (issue.sheet, issue.row, issue.column) == ("candidate_links", 2, "candidate")


@pytest.mark.parametrize("where", ["under a file", "dangling link"])
def test_an_out_folder_that_cannot_be_made_is_refused_before_solving(
    workbook, tmp_path, capsys, where
):
    """Issue 21, item 13: an unwritable --out failed with exit 1 after the whole solve."""
    from etslink.cli import main

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    if where == "under a file":
        out = blocker / "out"
    else:
        out = tmp_path / "link"
        out.symlink_to(tmp_path / "nowhere")
    path = workbook(linear_case({"A": 2.0}, {"A": 10.0}))
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert "--out" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_refused_before_any_partial_folder(
    workbook, tmp_path, capsys, monkeypatch
):
    """Issue 21, item 14: exit 1 after 30 s, and a partial folder that blocked the next run."""
    from etslink.cli import main
    from etslink.workflows import batch

    monkeypatch.setattr(batch, "SCHEDULER_TIMEOUT_S", 1)
    tables = linear_case({"A": 2.0}, {"A": 10.0})
    tables["uncertainty"] = cap_shock("A")
    out = tmp_path / "out"
    code = main(
        [
            "sweep",
            str(workbook(tables)),
            "--out",
            str(out),
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--quiet",
        ]
    )
    assert code == 2
    assert "no dask scheduler answered" in capsys.readouterr().err
    assert not (tmp_path / ".out.partial").exists()


def test_a_torn_last_part_of_a_partial_folder_is_dropped_and_solved_again(tmp_path):
    """Issue 21, item 15: a kill mid-append made every --resume exit 1. A part is written
    under a temporary name and renamed; a leftover of a write cut short, and a part cut short
    all the same (a full disk), are dropped, and their draws solved again."""
    import pandas as pd

    from etslink.workflows.batch import append_rows, finished, read_rows

    partial = tmp_path / "draws"
    append_rows(partial, pd.DataFrame({"draw": [0, 0], "x": [1.0, 2.0]}))
    append_rows(partial, pd.DataFrame({"draw": [1, 1], "x": [3.0, 4.0]}))
    torn = partial / "part-000001.parquet"
    torn.write_bytes(torn.read_bytes()[:-7])  # the second part loses its end
    (partial / "part-000002.tmp").write_bytes(b"PAR1 half written")
    assert finished(partial, "draw") == {0}
    assert read_rows(partial)["draw"].tolist() == [0, 0]
    assert sorted(p.name for p in partial.iterdir()) == ["part-000000.parquet"]
    append_rows(partial, pd.DataFrame({"draw": [1], "x": [5.0]}))  # solved again
    assert read_rows(partial)["draw"].tolist() == [0, 0, 1]


def test_a_killed_runs_temporary_folder_is_cleaned_up_by_the_next(workbook, tmp_path):
    """Issue 21, item 15: SIGKILL while writing left .NAME.tmp-PID/ beside the output."""
    from etslink.cli import main

    stale = tmp_path / ".out.tmp-999999999"  # no such process
    stale.mkdir()
    (stale / "results.xlsx").write_text("half written")
    path = workbook(linear_case({"A": 2.0}, {"A": 10.0}))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert not stale.exists()


def test_ctrl_c_reaches_python_while_highs_solves():
    """Issue 21, item 12: SIGINT during a long HiGHS run was ignored until it returned."""
    import os
    import signal
    import threading
    import time

    import highspy
    import numpy as np

    from etslink.solving.engine import run_interruptibly

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    n, rng = 3000, np.random.default_rng(0)
    highs.addVars(n, np.zeros(n), np.full(n, 1e3))
    highs.changeColsCost(n, np.arange(n, dtype=np.int32), -rng.random(n))
    for _ in range(n):
        index = rng.choice(n, 300, replace=False).astype(np.int32)
        highs.addRow(-highspy.kHighsInf, 10.0, 300, index, rng.random(300))
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_interruptibly(highs)  # the LP takes about 10 s: interrupted long before
    finally:
        timer.cancel()  # never a stray Ctrl-C for pytest, should the solve end first
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("what", ["row", "column"])
def test_hidden_rows_and_columns_with_data_are_errors_like_a_hidden_sheet(workbook, what):
    """Issue 21, item 3: hidden rows and columns were read silently; a hidden sheet is an error."""

    def hide(book):
        sheet = book["emissions"]
        if what == "row":
            sheet.row_dimensions[3].hidden = True
        else:
            sheet.column_dimensions["D"].hidden = True  # cap_MtCO2e

    (issue,) = _issues(_edited(_pair(workbook), hide))
    assert issue.sheet == "emissions"
    assert "hidden" in issue.problem
    assert issue.cell == ("3:3" if what == "row" else "D:D")


def test_a_hidden_empty_row_is_harmless(workbook):
    def hide(book):
        book["emissions"].row_dimensions[40].hidden = True

    data, _ = load_workbook(_edited(_pair(workbook), hide))
    assert data.systems == ("A", "B")


@pytest.mark.slow
def test_ctrl_c_on_a_sweep_on_dask_prints_one_line_not_the_workers_tracebacks(workbook, tmp_path):
    """Issue 21, item 12: Ctrl-C on a --quiet sweep printed about 32 lines of dask worker
    tracebacks (97 here): the workers now ignore SIGINT and the command stops them."""
    import os
    import signal
    import subprocess
    import sys
    import time

    tables = linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, tuple(range(2030, 2060)))
    tables["uncertainty"] = cap_shock("A")
    path, out = workbook(tables), tmp_path / "out"
    etslink = Path(sys.executable).with_name("etslink")
    command = [
        str(etslink),
        "sweep",
        str(path),
        "--out",
        str(out),
        "--draws",
        "100000",
        "--workers",
        "2",
        "--quiet",
    ]
    process = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own, as a terminal's Ctrl-C reaches
        preexec_fn=lambda: signal.signal(
            signal.SIGINT, signal.SIG_DFL
        ),  # not ignored, as a shell might
    )
    partial = tmp_path / ".out.partial" / "draws"
    deadline = time.monotonic() + 90
    while not any(partial.glob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.5)  # the workers are solving once draws arrive
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.strip().splitlines() == [
        "interrupted; no output was written (a sweep or explore can go on with --resume)"
    ]
