"""`compare_runs` and `write_comparison`: finished runs side by side, checked, written atomically.

The runs are one-year cases with MAC(a) = c * a and required abatement R, whose prices are
known: alone a system's price is c * R; linked, every price is sum(R) / sum(1 / c).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from conftest import linear_case
from etslink.cli import main
from etslink.errors import InputError
from etslink.inputs.workbook import write_workbook
from etslink.workflows.compare import (
    BASE_SCENARIO,
    KEYS,
    SCENARIO,
    Comparison,
    compare_runs,
    write_comparison,
)

C = {"A": 2.0, "B": 8.0}  # MAC slopes [EUR/tCO2e per MtCO2e]
NEEDS = {  # required abatement [MtCO2e] and whether A and B are linked, per scenario
    "no link": ({"A": 10.0, "B": 10.0}, False),
    "A-B linked": ({"A": 10.0, "B": 10.0}, True),
    "A-B linked, B needs more": ({"A": 10.0, "B": 20.0}, True),
}
YEAR = 2030


def _tables(name, need, linked, currency="EUR", slopes=C):
    links = {"links": [{"from_system": "A", "to_system": "B"}]} if linked else {}
    settings = [{"key": "scenario_name", "value": name}, {"key": "currency", "value": currency}]
    return linear_case(slopes, need, settings=settings, **links)


def _run(tables, folder: Path) -> Path:
    """Write the tables as a workbook next to `folder`, run it into `folder`."""
    path = folder.with_suffix(".xlsx")
    write_workbook(path, tables)
    assert main(["run", str(path), "--out", str(folder), "--quiet"]) == 0
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """The three scenarios of NEEDS, run once for the module (the `workbook` fixture is
    per test; this writes its workbooks the same way, with write_workbook)."""
    root = tmp_path_factory.mktemp("runs")
    return [
        _run(_tables(name, need, linked), root / f"run{i}")
        for i, (name, (need, linked)) in enumerate(NEEDS.items())
    ]


@pytest.fixture(scope="module")
def comparison(runs) -> Comparison:
    return compare_runs(runs)


def _price(need: dict[str, float], linked: bool) -> dict[str, float]:
    """Return each system's price [EUR/tCO2e]: c * R alone, sum(R) / sum(1/c) linked."""
    if linked:
        pooled = sum(need.values()) / sum(1 / c for c in C.values())
        return dict.fromkeys(C, pooled)
    return {s: C[s] * need[s] for s in C}


def _gain(need: dict[str, float], linked: bool) -> dict[str, float]:
    """Return each system's gain from linking [MEUR]: autarky cost minus linked cost.

    Abating a at MAC c * a costs c * a^2 / 2; a linked system abates p / c and buys (or,
    negative, sells) the rest of its requirement at p.
    """
    autarky = {s: C[s] * need[s] ** 2 / 2 for s in C}
    p = _price(need, linked)
    abated = {s: p[s] / C[s] for s in C}
    cost = {s: C[s] * abated[s] ** 2 / 2 + p[s] * (need[s] - abated[s]) for s in C}
    return {s: autarky[s] - cost[s] for s in C}


def _sheet_rows(folder: Path, sheet: str) -> int:
    return len(pd.read_excel(folder / "results.xlsx", sheet_name=sheet, engine="calamine"))


# --- the tables -----------------------------------------------------------------------


@pytest.mark.solve
def test_stacked_tables_lead_with_the_scenario_and_hold_every_runs_rows(comparison, runs):
    names = list(NEEDS)
    assert comparison.scenarios == tuple(names)
    for sheet, frame in comparison.stacked.items():
        assert frame.columns[0] == SCENARIO
        counts = frame[SCENARIO].value_counts()
        assert {s: counts[s] for s in names} == {
            s: _sheet_rows(folder, sheet) for s, folder in zip(names, runs, strict=True)
        }
        assert list(frame[SCENARIO].drop_duplicates()) == names  # each run's rows together


@pytest.mark.solve
def test_stacked_prices_are_the_known_answers(comparison):
    prices = comparison.stacked["prices"].set_index([SCENARIO, "case", "system"])
    for name, (need, linked) in NEEDS.items():
        for case, is_linked in (("linked", linked), ("autarky", False)):
            for system, expected in _price(need, is_linked).items():
                got = prices.loc[(name, case, system), "price_EUR_per_tCO2e"]
                assert got == pytest.approx(expected, rel=1e-6)


@pytest.mark.solve
def test_price_differences_are_each_scenario_minus_the_first(comparison):
    diff = comparison.differences["prices"]
    base_need, base_linked = NEEDS["no link"]
    assert set(diff[BASE_SCENARIO]) == {"no link"}
    for name, (need, linked) in list(NEEDS.items())[1:]:
        rows = diff[diff[SCENARIO] == name].set_index(["case", "system", "year"])
        for case, is_linked in (("linked", linked), ("autarky", False)):
            now, then = _price(need, is_linked), _price(base_need, base_linked and is_linked)
            for system in C:
                got = rows.loc[(case, system, YEAR), "price_EUR_per_tCO2e"]
                assert got == pytest.approx(now[system] - then[system], abs=1e-6)
    # e.g. linking moves A's price from 2 * 10 = 20 to 20 / (1/2 + 1/8) = 32: +12
    linked_a = diff[(diff[SCENARIO] == "A-B linked") & (diff["case"] == "linked")]
    assert linked_a.set_index("system").loc["A", "price_EUR_per_tCO2e"] == pytest.approx(12.0)


@pytest.mark.solve
def test_the_first_scenario_has_no_difference_rows(comparison):
    """Its differences would all be zero, so the difference tables leave it out."""
    for sheet, diff in comparison.differences.items():
        assert "no link" not in set(diff[SCENARIO]), sheet
        assert list(diff.columns[:2]) == [SCENARIO, BASE_SCENARIO]
        assert len(diff) == sum(
            len(comparison.stacked[sheet][comparison.stacked[sheet][SCENARIO] == s])
            for s in comparison.scenarios[1:]
        )


@pytest.mark.solve
def test_gain_and_abatement_differences_are_the_known_answers(comparison):
    gains = comparison.differences["gains"].set_index([SCENARIO, "system"])
    balances = comparison.differences["balances"].set_index([SCENARIO, "case", "system"])
    totals = comparison.totals().set_index(SCENARIO)
    base = _gain(*NEEDS["no link"])  # zero: nothing is linked
    for name, (need, linked) in list(NEEDS.items())[1:]:
        gain, p = _gain(need, linked), _price(need, linked)
        for system in C:
            assert gains.loc[(name, system), "gain_from_linking_pv_MEUR"] == pytest.approx(
                gain[system] - base[system], abs=1e-6
            )
            # linked, a system abates p / c; alone in the first scenario, its requirement
            abated_more = p[system] / C[system] - NEEDS["no link"][0][system]
            assert balances.loc[(name, "linked", system), "abatement_MtCO2e"] == pytest.approx(
                abated_more, abs=1e-6
            )
        assert totals.loc[name, "gain_change_from_first_pv_MEUR"] == pytest.approx(
            sum(gain.values()), abs=1e-6
        )
    # A-B linked: A gains 100 - 64 = 36, B 400 - 256 = 144
    assert _gain(*NEEDS["A-B linked"]) == pytest.approx({"A": 36.0, "B": 144.0})


@pytest.mark.solve
def test_a_shared_scenario_name_gets_the_folder_name(runs, tmp_path):
    twin = tmp_path / "again"
    shutil.copytree(runs[1], twin)
    names = compare_runs([runs[1], twin]).scenarios
    assert names == (f"A-B linked ({runs[1].name})", "A-B linked (again)")


# --- the files ------------------------------------------------------------------------


@pytest.mark.solve
def test_written_comparison_has_its_sheets_report_and_record(comparison, runs, tmp_path):
    out = tmp_path / "cmp"
    write_comparison(comparison, out)
    assert sorted(p.name for p in out.iterdir()) == ["comparison.xlsx", "report.html", "run.json"]
    sheets = pd.read_excel(out / "comparison.xlsx", sheet_name=None, engine="calamine")
    assert list(sheets) == [
        "scenarios",
        *KEYS,
        *(f"{s}_difference" for s in KEYS),
        "run",
    ]
    assert list(sheets["scenarios"][SCENARIO]) == list(NEEDS)
    pd.testing.assert_series_equal(
        sheets["prices_difference"]["price_EUR_per_tCO2e"],
        comparison.differences["prices"]["price_EUR_per_tCO2e"],
        check_dtype=False,
    )
    record = json.loads((out / "run.json").read_text())
    hashes = [json.loads((r / "run.json").read_text())["input"]["sha256"] for r in runs]
    assert [c["input"]["sha256"] for c in record["compared"]] == hashes
    assert [c["folder"] for c in record["compared"]] == [str(r) for r in runs]
    assert record["base_scenario"] == "no link"


@pytest.mark.solve
def test_report_is_self_contained_with_one_chart_per_group(comparison, tmp_path):
    write_comparison(comparison, tmp_path / "cmp")
    page = (tmp_path / "cmp" / "report.html").read_text()
    assert "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"url\((?!#)", page)  # only the SVGs' own clip paths
    assert comparison.groups == (("A", "B"),)
    assert comparison.unlinked == ()
    assert page.count('class="price-group"') == 1
    # every scenario's line of every system, in the one chart
    assert sorted(re.findall(r'id="price-(\d)-(\w+)"', page)) == [
        (str(i), s) for i in range(len(NEEDS)) for s in C
    ]


@pytest.mark.solve
def test_systems_linked_nowhere_get_a_chart_and_rows_of_one_run_blank_differences(tmp_path):
    """C is in the first run only, alone: it gets its own chart, and blank differences."""
    slopes = {"A": 2.0, "B": 8.0, "C": 4.0}
    need = dict.fromkeys(slopes, 10.0)
    alone = _run(_tables("alone", need, False, slopes=slopes), tmp_path / "alone")
    linked = _run(_tables("A-B", need, True), tmp_path / "linked")
    comparison = compare_runs([alone, linked])
    assert comparison.groups == (("A", "B"),)
    assert comparison.unlinked == ("C",)
    diff = comparison.differences["prices"].set_index(["case", "system"])
    assert diff.loc[("linked", "A"), "price_EUR_per_tCO2e"] == pytest.approx(32.0 - 20.0)
    for case in ("linked", "autarky"):
        assert math.isnan(diff.loc[(case, "C"), "price_EUR_per_tCO2e"])
    write_comparison(comparison, tmp_path / "cmp")
    page = (tmp_path / "cmp" / "report.html").read_text()
    assert page.count('class="price-group"') == 2
    assert "Systems that no scenario links" in page


# --- bad folders ----------------------------------------------------------------------


def _messages(error: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [issue.message() for issue in error.value.issues]


@pytest.mark.unit
def test_folders_that_are_not_runs_are_all_named_with_the_fix(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "summary.xlsx").write_bytes(b"")
    (sweep / "run.json").write_text("{}")
    with pytest.raises(InputError) as error:
        compare_runs([tmp_path / "nowhere", empty, sweep])
    messages = _messages(error)
    assert len(messages) == 3
    assert any(m.startswith(f"{tmp_path / 'nowhere'}: the folder does not exist") for m in messages)
    assert any(
        m.startswith(f"{empty}: this is not a finished etslink run: it has no results.xlsx")
        for m in messages
    )
    assert any(m.startswith(f"{sweep}: this is the output of `etslink sweep`") for m in messages)
    assert all("Fix: " in m and "etslink run" in m for m in messages)


@pytest.mark.unit
def test_one_folder_or_the_same_folder_twice_is_refused(tmp_path):
    with pytest.raises(InputError, match="at least two run folders"):
        compare_runs([tmp_path])
    with pytest.raises(InputError, match="given twice") as error:
        compare_runs([tmp_path, tmp_path / "sub" / ".."])
    assert "Fix: give each run folder once." in str(error.value)


@pytest.mark.solve
def test_a_results_workbook_without_a_sheet_is_named_with_the_fix(runs, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(runs[1], broken)
    book = openpyxl.load_workbook(broken / "results.xlsx")
    del book["gains"]
    book.save(broken / "results.xlsx")
    with pytest.raises(InputError) as error:
        compare_runs([runs[0], broken])
    assert _messages(error) == [
        f"{broken / 'results.xlsx'}: the sheet gains is missing. Fix: run its workbook again "
        "with `etslink run WORKBOOK --out DIR` and compare that folder."
    ]


@pytest.mark.solve
def test_runs_in_different_currencies_are_refused(runs, tmp_path):
    need, linked = NEEDS["A-B linked"]
    dollars = _run(_tables("in dollars", need, linked, currency="USD"), tmp_path / "usd")
    with pytest.raises(InputError) as error:
        compare_runs([runs[0], dollars])
    (message,) = _messages(error)
    assert message.startswith(f"{dollars}: its results are in USD and those of the first run")
    assert "Fix: set currency to EUR on the settings sheet of" in message
    assert str(dollars.with_suffix(".xlsx")) in message


# --- nothing left behind ----------------------------------------------------------------


@pytest.mark.solve
def test_no_output_folder_is_left_behind_on_error(comparison, runs, tmp_path, monkeypatch):
    out = tmp_path / "cmp"
    with pytest.raises(InputError):
        write_comparison(compare_runs([runs[0], tmp_path / "nowhere"]), out)
    assert not out.exists()

    def fail(*_args):
        raise RuntimeError("report failed")

    monkeypatch.setattr("etslink.outputs.report.compare.write_comparison_report", fail)
    with pytest.raises(RuntimeError, match="report failed"):
        write_comparison(comparison, out)
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary twin


@pytest.mark.solve
def test_a_non_empty_output_folder_is_refused_and_left_alone(comparison, tmp_path):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="already exists and is not empty"):
        write_comparison(comparison, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.solve
def test_the_compare_command_writes_the_comparison_and_refuses_bad_folders(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", *map(str, runs), "--out", str(out), "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} == {"comparison.xlsx", "report.html", "run.json"}
    bad = ["compare", str(runs[0]), str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]
    assert main(bad) == 2
    assert "Fix:" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def _damaged_copy(run: Path, to: Path) -> Path:
    """Copy a run folder and cut every sheet's XML in its results.xlsx in half.

    The file still opens as a workbook; a sheet fails only when it is read.
    """
    import zipfile

    shutil.copytree(run, to)
    with (
        zipfile.ZipFile(run / "results.xlsx") as source,
        zipfile.ZipFile(to / "results.xlsx", "w") as damaged,
    ):
        for item in source.infolist():
            data = source.read(item.filename)
            sheet = item.filename.startswith("xl/worksheets/sheet")
            damaged.writestr(item, data[: len(data) // 2] if sheet else data)
    return to


@pytest.mark.solve
def test_every_missing_or_unreadable_folder_is_named_in_one_error(
    runs, tmp_path, capsys, monkeypatch
):
    """Issue 22, item 10: a damaged sheet was an internal error (exit 1), a folder that
    cannot be read as well, and a run in another currency was named only once every other
    folder was right. Now one message names them all (exit 2)."""
    damaged = _damaged_copy(runs[1], tmp_path / "damaged")
    no_record = tmp_path / "no_record"
    shutil.copytree(runs[2], no_record)
    (no_record / "run.json").write_text("{", encoding="utf-8")
    need, linked = NEEDS["A-B linked"]
    dollars = _run(_tables("in dollars", need, linked, currency="USD"), tmp_path / "usd")
    locked, nowhere = tmp_path / "locked", tmp_path / "nowhere"
    locked.mkdir()
    exists = Path.exists

    def refused(path: Path) -> bool:
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return exists(path)

    monkeypatch.setattr(Path, "exists", refused)
    folders = [runs[0], damaged, no_record, dollars, locked, nowhere]
    out = tmp_path / "cmp"
    capsys.readouterr()  # the dollar run's line
    code = main(["compare", *map(str, folders), "--out", str(out)])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0] == "Stopped:"
    named = {Path(line.split(": ", 1)[0]) for line in lines[1:]}
    assert named == {
        damaged / "results.xlsx",
        no_record / "run.json",
        dollars,
        locked,
        nowhere,
    }
    assert all("Fix: " in line for line in lines[1:])
    assert f"{locked}: the folder cannot be read (Permission denied)" in captured.err
    assert f"{damaged / 'results.xlsx'}: the file cannot be read as an Excel workbook" in (
        captured.err
    )
    assert "Traceback" not in captured.err
    assert not out.exists()


# --- the reserve, money paid abroad and emissions (issue 22, item 3) -----------------------


def _reserve_tables(name: str, rate: float | None) -> dict:
    """Tutorial 8's system with a reserve of intake `rate` above 25 Mt (None: no reserve)."""
    reserve = (
        {
            "msr": [
                {
                    "system": "A",
                    "first_year": YEAR,
                    "intake_threshold_MtCO2e": 25.0,
                    "intake_rate": rate,
                }
            ]
        }
        if rate is not None
        else {}
    )
    tables = linear_case(
        {"A": 2.0},
        {"A": 30.0},
        years=(YEAR, YEAR + 1, YEAR + 2),
        settings=[{"key": "scenario_name", "value": name}],
        **reserve,
    )
    tables["systems"][0]["initial_bank_MtCO2e"] = 69.0
    return tables


@pytest.mark.solve
def test_the_reserve_sheet_holds_each_runs_operations_and_their_differences(tmp_path):
    """The first year's TNAC is the initial bank, 69 Mt, above the threshold of 25: the
    reserve takes in rate x 69, and holds it at the end of that year."""
    rates = {"rate 0.24": 0.24, "rate 0.5": 0.5, "no reserve": None}
    folders = [
        _run(_reserve_tables(name, rate), tmp_path / f"r{i}")
        for i, (name, rate) in enumerate(rates.items())
    ]
    comparison = compare_runs(folders)
    msr = comparison.stacked["msr"].set_index([SCENARIO, "case", "system", "year"])
    for name in ("rate 0.24", "rate 0.5"):
        first = msr.loc[(name, "linked", "A", YEAR)]
        assert first["tnac_previous_MtCO2e"] == pytest.approx(69.0)
        assert first["intake_MtCO2e"] == pytest.approx(rates[name] * 69.0)
        assert first["holdings_MtCO2e"] == pytest.approx(rates[name] * 69.0)
    assert "no reserve" not in set(comparison.stacked["msr"][SCENARIO])
    diff = comparison.differences["msr"].set_index([SCENARIO, "case", "system", "year"])
    assert diff.loc[("rate 0.5", "linked", "A", YEAR), "intake_MtCO2e"] == pytest.approx(
        (0.5 - 0.24) * 69.0  # 17.94
    )
    # blank: the run has no reserve
    assert math.isnan(diff.loc[("no reserve", "linked", "A", YEAR), "intake_MtCO2e"])
    out = tmp_path / "cmp"
    write_comparison(comparison, out)
    sheets = pd.read_excel(out / "comparison.xlsx", sheet_name=None, engine="calamine")
    assert list(sheets) == [
        "scenarios",
        *KEYS,
        "msr",
        *(f"{s}_difference" for s in KEYS),
        "msr_difference",
        "run",
    ]
    assert len(sheets["msr"]) == 2 * 2 * 3  # two runs with a reserve, two cases, three years


def _ceiling_tables(name: str, ceiling: float | None) -> dict:
    """A and B of C, 10 Mt each to abate, linked; with a ceiling in A at `ceiling`."""
    controls = (
        {"price_controls": [{"system": "A", "year": YEAR, "ceiling_price_per_tCO2e": ceiling}]}
        if ceiling is not None
        else {}
    )
    tables = _tables(name, {"A": 10.0, "B": 10.0}, True)
    for sheet, rows in controls.items():
        tables[sheet] = rows
    return tables


@pytest.mark.solve
def test_the_report_shows_money_abroad_and_emissions_and_flags_a_looser_cap(tmp_path):
    """Linked, the price is 20 / (1/2 + 1/8) = 32 and B buys 10 - 32/8 = 6 Mt at 32: 192.
    A ceiling of 25 in A sells allowances at 25: A abates 12.5, B 25/8 = 3.125, so emissions
    rise by 20 - 15.625 = 4.375 Mt (A -2.5, B +6.875 against autarky), and B pays
    6.875 x 25 = 171.875."""
    folders = [
        _run(_ceiling_tables("linked", None), tmp_path / "plain"),
        _run(_ceiling_tables("ceiling in A", 25.0), tmp_path / "ceiling"),
    ]
    comparison = compare_runs(folders)
    totals = comparison.totals().set_index(SCENARIO)
    assert totals["linked_paid_abroad_pv_MEUR"].to_dict() == pytest.approx(
        {"linked": 192.0, "ceiling in A": 171.875}
    )
    assert totals["linked_emissions_MtCO2e"].to_dict() == pytest.approx(
        {"linked": 180.0, "ceiling in A": 184.375}
    )
    assert totals["emissions_change_from_linking_MtCO2e"].to_dict() == pytest.approx(
        {"linked": 0.0, "ceiling in A": 4.375}, abs=1e-6
    )
    moved = comparison.emissions().set_index([SCENARIO, "system"])
    assert moved.loc[("ceiling in A", "A"), "emissions_change_from_linking_MtCO2e"] == (
        pytest.approx(-2.5)
    )
    out = tmp_path / "cmp"
    write_comparison(comparison, out)
    page = (out / "report.html").read_text()
    assert page.count("Linking changes emissions</b>") == 1  # the plain link moves none
    assert (
        "Linking changes emissions</b> in <i>ceiling in A</i> by +4.4 MtCO2e over all\n"
        "years (B +6.9, A -2.5)" in page
    )
    assert "part of a\ngain is a looser cap, not cheaper abatement" in page
    assert '<td class="flag">+4.4</td>' in page
    section = page[page.index('id="abroad-emissions"') : page.index('id="records"')]
    assert '<td>171.9 <span class="chg">(-20.1)</span></td>' in section  # B paid abroad
    # B's emissions linked, 96 -> 96.875; A's moved by linking, 84 - 90 -> 87.5 - 90
    assert '<td>96.9 <span class="chg">(+0.9)</span></td>' in section
    assert '<td>-2.5 <span class="chg">(+3.5)</span></td>' in section
    scenarios = pd.read_excel(out / "comparison.xlsx", sheet_name="scenarios", engine="calamine")
    assert scenarios["linked_paid_abroad_pv_MEUR"].tolist() == pytest.approx([192.0, 171.875])
