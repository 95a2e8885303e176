"""`etslink.Workbook` and `etslink run --systems` (issue 22, items 5 and 10).

A workbook changed in Python is read, checked and solved as a file: the same messages, the
same numbers. A subset of systems solves as a workbook built by hand with only them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import etslink
from conftest import linear_case
from etslink.cli import main

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "inputs" / "tutorial"
TABLES = (
    "prices",
    "balances",
    "transfers",
    "costs",
    "gains",
    "gains_by_year",
    "shadow_prices",
    "offset_prices",
    "offset_use",
    "fit",
)
SLOPES = {"A": 2.0, "B": 8.0, "C": 4.0}  # MAC slopes [EUR/t per Mt]
NEED = {"A": 10.0, "B": 10.0, "C": 10.0}  # what each must abate alone [Mt]


def assert_same_results(ours: etslink.RunResult, theirs: etslink.RunResult) -> None:
    """Every result table equal to 1e-9, and the same warnings."""
    for name in TABLES:
        pd.testing.assert_frame_equal(
            getattr(ours, name), getattr(theirs, name), check_exact=False, rtol=0, atol=1e-9
        )
    pd.testing.assert_frame_equal(
        ours.results.table("border_adjustments"),
        theirs.results.table("border_adjustments"),
        check_exact=False,
        rtol=0,
        atol=1e-9,
    )
    assert ours.warnings == theirs.warnings


def market(systems: str) -> dict[str, list[dict[str, Any]]]:
    """Return the three-system market of these tests with only `systems`, built by hand.

    A-B and B-C linked; credits CDM (A and C accept them) and JI (C only); border
    adjustments of A on C and on a region, of B on A and of C on A; a floor in C, a ceiling
    in B; observed prices; calibration, uncertainty and foresight rows.
    """
    has = set(systems)
    links = [
        {"from_system": a, "to_system": b} for a, b in (("A", "B"), ("B", "C")) if {a, b} <= has
    ]
    rules = [
        {"system": s, "offset_type": t, "max_share_of_emissions": 0.05}
        for s, t in (("A", "CDM"), ("C", "CDM"), ("C", "JI"))
        if s in has
    ]
    types = {r["offset_type"] for r in rules}
    offsets = [
        {"offset_type": t, "year": 2030, "supply_MtCO2e": 3, "price_per_tCO2e": p}
        for t, p in (("CDM", 10.0), ("JI", 5.0))
        if t in types
    ]
    borders = [
        {"importer": i, "origin": o, "year": 2030, "embedded_MtCO2e": 4}
        for i, o in (("A", "C"), ("A", "RoW"), ("B", "A"), ("C", "A"))
        if i in has and (o in has or o == "RoW")
    ]
    tables = linear_case(
        {s: SLOPES[s] for s in systems},
        {s: NEED[s] for s in systems},
        links=links,
        offsets=offsets,
        offset_rules=rules,
        border_adjustments=borders,
        price_controls=[
            {"system": s, "year": 2030, **control}
            for s, control in (
                ("B", {"ceiling_price_per_tCO2e": 100}),
                ("C", {"floor_price_per_tCO2e": 5}),
            )
            if s in has
        ],
        observed=[{"system": s, "year": 2030, "quantity": "price", "value": 30} for s in systems],
        calibration=[
            {"parameter": "mac_scale", "target": "+".join(s for s in "AC" if s in has)},
            *([{"parameter": "baseline_scale", "target": "C"}] if "C" in has else []),
        ],
        uncertainty=[
            {"parameter": p, "target": t, "distribution": "normal", "sd": 1}
            for p, t in (
                ("baseline", "C"),
                ("offset_supply", "JI"),
                ("offset_price", "CDM"),
                ("cap", "*"),
            )
            if t in has | types | {"*"}
        ],
        foresight=[{"system": "*", "first_year": 2030, "years": 1}],
    )
    return {name: rows for name, rows in tables.items() if rows}


@pytest.fixture
def three(workbook) -> Path:
    """The market of A, B and C as a workbook file."""
    return workbook(market("ABC"))


# --- the same as the file ------------------------------------------------------------


@pytest.mark.solve
@pytest.mark.parametrize("name", ["5_indirect_offsets", "16_announced_cut", "17_border_adjustment"])
def test_a_workbook_as_read_runs_to_the_results_of_its_file(name):
    path = TUTORIAL / f"{name}.xlsx"
    workbook = etslink.Workbook(path)
    ours, theirs = workbook.run(), etslink.run(path)
    assert_same_results(ours, theirs)
    assert ours.record["input"]["sha256"] == theirs.record["input"]["sha256"]
    assert ours.record["input"]["edited"] is False
    assert ours.workbook == path
    assert_same_results(etslink.run(workbook), ours)


@pytest.mark.unit
def test_tables_are_indexed_by_excel_row_and_number_columns_are_floats():
    workbook = etslink.Workbook(TUTORIAL / "1_two_way.xlsx")
    emissions = workbook["emissions"]
    assert list(emissions.index) == [2, 3]
    assert list(emissions.columns) == ["system", "year", "baseline_MtCO2e", "cap_MtCO2e"]
    assert emissions["cap_MtCO2e"].dtype == "float64"  # scaling in place must not fail
    assert emissions["year"].dtype == "int64"
    emissions.loc[emissions["system"] == "B", "cap_MtCO2e"] *= 0.95
    assert workbook["emissions"].loc[3, "cap_MtCO2e"] == pytest.approx(85.5)
    assert workbook.systems == ["A", "B"]
    assert "links" in workbook
    assert "msr" not in workbook
    with pytest.raises(KeyError, match="no sheet 'msr'"):
        workbook["msr"]
    with pytest.raises(KeyError, match="'link' is not a sheet"):
        workbook["link"] = pd.DataFrame()


@pytest.mark.solve
def test_a_change_moves_the_price_as_the_equation_says_and_a_copy_keeps_the_original():
    """Tutorial 1: one price for both, p = (need_A + need_B) / (1/c_A + 1/c_B)."""
    base = etslink.Workbook(TUTORIAL / "1_two_way.xlsx")
    changed = base.copy()
    mac = changed["mac_linear"]
    mac.loc[mac["system"] == "B", "slope_per_tCO2e_per_MtCO2e"] *= 0.5  # 8 -> 4
    result = changed.run()
    assert result.results.price("linked", "A", 2030) == pytest.approx(20 / (1 / 2 + 1 / 4))
    assert result.record["input"]["edited"] is True
    assert base.run().results.price("linked", "A", 2030) == pytest.approx(32.0)


# --- the same messages as the command ----------------------------------------------------


def _with_notes_column(path: Path) -> Path:
    """Insert a notes column before column A of sheet emissions: the letters shift."""
    book = openpyxl.load_workbook(path)
    book["emissions"].insert_cols(1)
    book["emissions"]["A1"] = "notes"
    book.save(path)
    return path


@pytest.mark.unit
def test_validate_gives_the_messages_of_the_command_with_the_files_cells(workbook, capsys):
    tables = linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0})
    tables["emissions"][1]["cap_MtCO2e"] = "12,5"
    path = _with_notes_column(workbook(tables))
    with pytest.raises(etslink.WorkbookError) as from_file:
        etslink.run(path)
    with pytest.raises(etslink.WorkbookError) as from_tables:
        etslink.Workbook(path).validate()
    assert from_tables.value.issues == from_file.value.issues
    assert from_tables.value.issues[0].startswith('emissions!E3 (cap_MtCO2e): "12,5"')
    assert main(["validate", str(path)]) == 2
    assert from_file.value.issues[0] in capsys.readouterr().err


@pytest.mark.unit
def test_a_new_row_is_numbered_as_save_writes_it(workbook):
    wb = etslink.Workbook(workbook(linear_case({"A": 2.0}, {"A": 10.0})))
    wb["mac_linear"] = pd.concat(
        [wb["mac_linear"], pd.DataFrame([{"system": "Z", "year": 2030}])], ignore_index=True
    )
    with pytest.raises(etslink.WorkbookError) as error:
        wb.validate()
    assert error.value.issues == [
        "mac_linear!C3 (slope_per_tCO2e_per_MtCO2e): the cell is blank. Fix: fill it in: "
        "increase of the MAC per MtCO2e abated."
    ]
    wb["mac_linear"].loc[1, "slope_per_tCO2e_per_MtCO2e"] = 1.0
    with pytest.raises(etslink.WorkbookError) as error:
        wb.validate()
    assert error.value.issues == [
        'mac_linear!A3 (system): "Z" is not on sheet systems. Fix: use one of A, or add it '
        "to sheet systems."
    ]


@pytest.mark.unit
def test_the_files_layout_problems_stay_with_its_tables(workbook):
    path = workbook(linear_case({"A": 2.0}, {"A": 10.0}))
    book = openpyxl.load_workbook(path)
    book["emissions"]["D2"] = "=C2-10"  # a formula no program has calculated
    book.create_sheet("README")
    book.save(path)
    with pytest.raises(etslink.WorkbookError) as from_file:
        etslink.run(path)
    wb = etslink.Workbook(path)
    with pytest.raises(etslink.WorkbookError) as from_tables:
        wb.validate()
    assert from_tables.value.issues == from_file.value.issues
    assert "formula with no stored value" in from_tables.value.issues[0]
    wb["emissions"].loc[2, "cap_MtCO2e"] = 90.0  # the cell has a value now, the file not
    with pytest.raises(etslink.WorkbookError):
        wb.validate()


@pytest.mark.unit
def test_records_and_unknown_names(tmp_path):
    tables = linear_case({"A": 2.0}, {"A": 10.0})
    assert etslink.Workbook(tables).validate() == []
    wb = etslink.Workbook(tables)
    wb["mac_linear"]["slope"] = 1.0
    wb.sheets["link"] = pd.DataFrame([{"from_system": "A"}])
    with pytest.raises(etslink.WorkbookError) as error:
        wb.validate()
    assert error.value.issues == [
        "link: not a sheet of the workbook contract. Fix: name it as a sheet of "
        "docs/workbook.md, e.g. links, or leave it out.",
        "mac_linear (slope): 'slope' is not a column of sheet mac_linear. Fix: use a column "
        "of sheet mac_linear (docs/workbook.md), or drop it.",
    ]
    with pytest.raises(etslink.WorkbookError):
        wb.save(tmp_path / "x.xlsx")
    assert list(tmp_path.iterdir()) == []


# --- subsets ------------------------------------------------------------------------------


@pytest.mark.solve
def test_a_subset_solves_as_the_workbook_built_with_only_those_systems(three, workbook):
    pair = etslink.Workbook(three).subset(["B", "A"])
    by_hand = etslink.run(workbook(market("AB")))
    ours = pair.run()
    assert_same_results(ours, by_hand)
    assert pair.systems == ["A", "B"]
    assert ours.record["input"]["systems"] == ["A", "B"]
    assert ours.record["input"]["edited"] is False
    assert list(pair["calibration"]["target"]) == ["A"]  # A+C: C left out
    assert list(pair["offsets"]["offset_type"]) == ["CDM"]  # JI: only C accepted it
    assert list(pair["uncertainty"]["target"]) == ["CDM", "*"]
    assert list(pair["border_adjustments"]["origin"]) == ["RoW", "A"]
    assert list(pair["foresight"]["system"]) == ["*"]
    alone = etslink.Workbook(three).subset("C")
    assert "links" not in alone  # emptied, and optional
    assert list(alone["offsets"]["offset_type"]) == ["CDM", "JI"]
    assert_same_results(alone.run(), etslink.run(workbook(market("C"))))


@pytest.mark.unit
def test_a_subset_keeps_the_files_rows_in_its_messages(three):
    wb = etslink.Workbook(three)
    emissions = wb["emissions"]
    emissions.loc[emissions["system"] == "A", "cap_MtCO2e"] = -5.0
    emissions.loc[emissions["system"] == "C", "baseline_MtCO2e"] = -1.0
    with pytest.raises(etslink.WorkbookError) as error:
        wb.subset("B,C").validate()
    assert [(d.sheet, d.cell) for d in error.value.details] == [("emissions", "C4")]
    with pytest.raises(etslink.WorkbookError, match=r"^emissions!D2 \(cap_MtCO2e\): -5 is"):
        wb.subset(["A", "B"]).validate()
    assert wb.subset(["B"]).validate() == []  # what is wrong in A and C is theirs


@pytest.mark.unit
def test_unknown_systems_are_refused_naming_those_there_are(three):
    wb = etslink.Workbook(three)
    with pytest.raises(ValueError, match=r'"WA" is not on sheet systems of .*, which has A, B, C'):
        wb.subset(["A", "WA"])
    with pytest.raises(ValueError, match="no system given"):
        wb.subset([])


@pytest.mark.solve
def test_the_command_runs_a_subset_and_refuses_unknown_ids(three, tmp_path, capsys):
    out = tmp_path / "pair"
    assert main(["run", str(three), "--systems", "A,B", "--out", str(out), "--quiet"]) == 0
    written = pd.read_excel(out / "results.xlsx", sheet_name="prices")
    pair = etslink.Workbook(three).subset(["A", "B"]).run()
    pd.testing.assert_frame_equal(written, pair.prices, check_dtype=False)
    assert json.loads((out / "run.json").read_text())["input"]["systems"] == ["A", "B"]
    bad = tmp_path / "bad"
    assert main(["run", str(three), "--systems", "A,WA", "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f'--systems: "WA" is not on sheet systems of {three}, which has A, B, C.' in err
    assert "Traceback" not in err
    assert not bad.exists()
    assert main(["validate", str(three), "--systems", "C"]) == 0
    assert "OK, 1 systems" in capsys.readouterr().out


# --- saving -------------------------------------------------------------------------------


@pytest.mark.solve
def test_a_saved_workbook_runs_to_the_same_results(three, tmp_path):
    wb = etslink.Workbook(three).subset(["A", "C"])
    wb["emissions"]["cap_MtCO2e"] *= 0.99
    saved = wb.save(tmp_path / "mine.xlsx")
    assert saved == tmp_path / "mine.xlsx"
    assert_same_results(etslink.run(saved), wb.run())
    before = saved.read_bytes()
    with pytest.raises(FileExistsError, match="never overwrites"):
        wb.save(saved)
    assert saved.read_bytes() == before
    wb["emissions"]["cap_MtCO2e"] *= 0.99
    wb.save(saved, overwrite=True)
    assert_same_results(etslink.run(saved), wb.run())
    with pytest.raises(ValueError, match=r"mine\.ods does not end in \.xlsx"):
        wb.save(tmp_path / "mine.ods")
    assert sorted(p.name for p in tmp_path.iterdir()) == [three.name, "mine.xlsx"]


# --- compare ------------------------------------------------------------------------------


@pytest.mark.solve
def test_compare_gives_the_tables_and_files_of_the_command(tmp_path, capsys):
    alone = etslink.run(TUTORIAL / "13_explore.xlsx").write(tmp_path / "alone")
    wb = etslink.Workbook(TUTORIAL / "13_explore.xlsx")
    wb["links"] = [{"from_system": "A", "to_system": "B"}]
    linked = wb.run().write(tmp_path / "linked")
    result = etslink.compare([alone, linked])
    assert list(result.scenarios["scenario"]) == [
        "13_explore (alone)",
        "13_explore (linked)",
    ]
    diff = result.differences["prices"].set_index(["case", "system"])["price_EUR_per_tCO2e"]
    assert diff[("linked", "A")] == pytest.approx(32.0 - 20.0)  # tutorial 1's pooled price
    assert diff[("linked", "C")] == pytest.approx(0.0)
    assert set(result.prices["scenario"]) == set(result.scenarios["scenario"])
    assert result.record["command"] == ["etslink.compare", str(alone), str(linked)]
    out = result.write(tmp_path / "api")
    cli = ["compare", str(alone), str(linked), "--out", str(tmp_path / "cli"), "--quiet"]
    assert main(cli) == 0
    theirs = pd.read_excel(tmp_path / "cli" / "comparison.xlsx", sheet_name=None)
    ours = pd.read_excel(out / "comparison.xlsx", sheet_name=None)
    assert list(ours) == list(theirs)
    for sheet in ("prices", "gains", "prices_difference"):
        pd.testing.assert_frame_equal(ours[sheet], theirs[sheet])
    with pytest.raises(FileExistsError):
        result.write(out)
    with pytest.raises(etslink.WorkbookError) as error:
        etslink.compare([alone, tmp_path / "nowhere"])
    assert error.value.issues == [
        f"{tmp_path / 'nowhere'}: the folder does not exist. Fix: check the path; give a "
        "folder written by `etslink run`, which holds results.xlsx and run.json."
    ]
