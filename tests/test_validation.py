"""Every workbook mistake an analyst can make: exit 2, the cell, the fix, nothing written.

One test (or one parameter) per rule of docs/workbook.md; each asserts the exit code, the
cell reference, the `Fix:` text, that no traceback is shown and that no output folder exists.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from conftest import linear_case
from etslink.cli import main

pytestmark = pytest.mark.unit


def _tables() -> dict:
    return linear_case(
        {"A": 2.0, "B": 8.0},
        {"A": 10.0, "B": 10.0},
        links=[{"from_system": "A", "to_system": "B", "exchange_rate": 1}],
        offsets=[{"offset_type": "CDM", "year": 2030, "supply_MtCO2e": 5, "price_per_tCO2e": 3}],
        offset_rules=[{"system": "A", "offset_type": "CDM", "max_share_of_emissions": 0.05}],
        price_controls=[
            {
                "system": "B",
                "year": 2030,
                "floor_price_per_tCO2e": 5,
                "ceiling_price_per_tCO2e": 100,
            }
        ],
    )


def _rejects(path: Path, tmp_path: Path, capsys, *fragments: str) -> str:
    out = tmp_path / "out"
    code = main(["run", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    for fragment in fragments:
        assert fragment in err
    assert "Fix:" in err
    assert "Traceback" not in err
    assert not out.exists()
    return err


def _reserve(**changes: object) -> dict:
    """Return an msr row with every column (A system ... J initial_holdings)."""
    row = {
        "system": "A",
        "first_year": 2030,
        "last_year": 2030,
        "intake_threshold_MtCO2e": 20,
        "intake_rate": 0.24,
        "intake_capped_at_excess": "no",
        "release_threshold_MtCO2e": 5,
        "release_MtCO2e": 1,
        "holdings_limit_MtCO2e": 100,
        "initial_holdings_MtCO2e": 0,
    }
    return row | changes


def _step(**changes: object) -> dict:
    """Return a supply_steps row (A system, B year, C trigger, D quantity)."""
    row = {"system": "A", "year": 2030, "trigger_price_per_tCO2e": 30, "quantity_MtCO2e": 2}
    return row | changes


# Layout of _tables() workbooks: emissions A system, B year, C baseline, D cap (rows 2-3: A, B);
# links A from, B to, C exchange_rate; mac_linear A system, B year, C slope;
# offset_rules A system, B offset_type, C share; price_controls C floor, D ceiling.
CELL_RULES = [
    (
        "decimal comma",
        lambda t: t["emissions"][1].update(cap_MtCO2e="12,5"),
        'emissions!D3 (cap_MtCO2e): "12,5" is not a number',
    ),
    (
        "thousands space",
        lambda t: t["mac_linear"][1].update(slope_per_tCO2e_per_MtCO2e="1 000"),
        'mac_linear!C3 (slope_per_tCO2e_per_MtCO2e): "1 000" is not a number',
    ),
    (
        "n/a",
        lambda t: t["emissions"][0].update(baseline_MtCO2e="n/a"),
        'emissions!C2 (baseline_MtCO2e): "n/a" is not a number',
    ),
    (
        "unit in cell",
        lambda t: t["emissions"][0].update(cap_MtCO2e="12 Mt"),
        'emissions!D2 (cap_MtCO2e): "12 Mt" is not a number',
    ),
    (
        "number as id",
        lambda t: t["emissions"][0].update(system=2030),
        "emissions!A2 (system): 2030 is a number where an id is expected",
    ),
    (
        "blank required",
        lambda t: t["emissions"][0].update(baseline_MtCO2e=None),
        "emissions!C2 (baseline_MtCO2e): the cell is blank",
    ),
    (
        "duplicate system-year",
        lambda t: t["emissions"].append(dict(t["emissions"][0])),
        "emissions!B4 (year): duplicate of row 2",
    ),
    (
        "same link twice",
        lambda t: t["links"].append({"from_system": "B", "to_system": "A", "direction": "one-way"}),
        "links!A3 (from_system): B to A is already linked on row 2",
    ),
    (
        "unknown id",
        lambda t: t["links"][0].update(to_system="BB"),
        'links!B2 (to_system): "BB" is not on sheet systems (did you mean "B"?)',
    ),
    (
        "offset type without supply",
        lambda t: t["offset_rules"][0].update(offset_type="VCS"),
        'offset_rules!B2 (offset_type): "VCS" is not on sheet offsets (no supply)',
    ),
    (
        "year outside the system's years",
        lambda t: t["mac_linear"][0].update(year=2031),
        "mac_linear!B2 (year): A has no row for 2031 on sheet emissions",
    ),
    (
        "negative quantity",
        lambda t: t["emissions"][0].update(cap_MtCO2e=-5),
        "emissions!D2 (cap_MtCO2e): -5 is not allowed: it must be at least 0",
    ),
    (
        "negative price",
        lambda t: t["offsets"][0].update(price_per_tCO2e=-1),
        "offsets!D2 (price_per_tCO2e): -1 is not allowed",
    ),
    (
        "fractional year",
        lambda t: t["emissions"][0].update(year=2030.5),
        'emissions!B2 (year): "2030.5" is not a whole year',
    ),
    (
        "a ceiling below a linked partner's floor",
        lambda t: t["price_controls"].append(
            {"system": "A", "year": 2030, "ceiling_price_per_tCO2e": 4}
        ),
        "links!A2 (from_system): in 2030 A's ceiling price 4 is below what its allowances are "
        "worth at B's floor (5 per A allowance)",
    ),
    (
        "share of cap as a percentage",
        lambda t: t["links"][0].update(max_transfer_share_of_cap=5),
        "links!D2 (max_transfer_share_of_cap): 5 looks like a percentage",
    ),
    (
        "share as a percentage",
        lambda t: t["offset_rules"][0].update(max_share_of_emissions=5),
        "offset_rules!C2 (max_share_of_emissions): 5 looks like a percentage",
    ),
    (
        "floor above ceiling",
        lambda t: t["price_controls"][0].update(floor_price_per_tCO2e=150),
        "price_controls!C2 (floor_price_per_tCO2e): the floor 150 is above the ceiling 100",
    ),
    (
        "exchange rate zero",
        lambda t: t["links"][0].update(exchange_rate=0),
        "links!C2 (exchange_rate): 0 is not allowed: it must be above 0",
    ),
    (
        "link to itself",
        lambda t: t["links"][0].update(to_system="A"),
        "links!B2 (to_system): the link goes from A to itself",
    ),
    (
        "abatement above baseline",
        lambda t: t["mac_linear"][0].update(max_abatement_MtCO2e=500),
        "mac_linear!D2 (max_abatement_MtCO2e): A 2030 could abate 500 MtCO2e in all",
    ),
    (
        "reserve without ceiling",
        lambda t: t["price_controls"][0].update(
            ceiling_price_per_tCO2e=None, ceiling_reserve_MtCO2e=5
        ),
        "price_controls!E2 (ceiling_reserve_MtCO2e): a ceiling reserve is given but no ceiling",
    ),
    (
        "last year before first",
        lambda t: t["links"][0].update(first_year=2031, last_year=2030),
        "links!E2 (last_year): last_year 2030 is before first_year 2031",
    ),
    (
        "bad yes/no",
        lambda t: t["systems"][0].update(banking="maybe"),
        'systems!B2 (banking): "maybe" is not yes or no',
    ),
    (
        "bad direction",
        lambda t: t["links"][0].update(direction="both"),
        'links!C2 (direction): "both" is not one of one-way, two-way',
    ),
    (
        "unknown setting",
        lambda t: t["settings"].append({"key": "discount", "value": 0.1}),
        'settings!A3 (key): unknown setting "discount" (did you mean "discount_rate"?)',
    ),
    (
        "discount rate as percent",
        lambda t: t["settings"].append({"key": "discount_rate", "value": 5}),
        "settings!B3 (value): discount_rate: 5 is above the largest allowed value 0.5",
    ),
    (
        "currency format",
        lambda t: t["settings"].append({"key": "currency", "value": "euro"}),
        'settings (value): currency "euro" is not a 3-letter code',
    ),
    (
        "system without emissions",
        lambda t: t["systems"].append({"system": "C"}),
        'systems!A4 (system): system "C" has no rows on sheet emissions',
    ),
    (
        "reserve rate above 1",
        lambda t: t.update(msr=[_reserve(intake_rate=24)]),
        "msr!E2 (intake_rate): 24 looks like a percentage, but the column takes a fraction",
    ),
    (
        "negative reserve threshold",
        lambda t: t.update(msr=[_reserve(intake_threshold_MtCO2e=-5)]),
        "msr!D2 (intake_threshold_MtCO2e): -5 is not allowed: it must be at least 0",
    ),
    (
        "reserve of an unknown system",
        lambda t: t.update(msr=[_reserve(system="Z")]),
        'msr!A2 (system): "Z" is not on sheet systems',
    ),
    (
        "overlapping reserve rules",
        lambda t: t.update(msr=[_reserve(), _reserve(first_year=2030, last_year=None)]),
        "msr!B3 (first_year): A already has reserve rules for these years on row 2",
    ),
    (
        "reserve without banking",
        lambda t: (t["systems"][0].update(banking="no"), t.update(msr=[_reserve()])),
        "msr!A2 (system): A has a reserve but does not bank",
    ),
    (
        "foresight not a whole number",
        lambda t: t["settings"].append({"key": "foresight_years", "value": 1.5}),
        "foresight_years",
    ),
    (
        "foresight of zero years",
        lambda t: t["settings"].append({"key": "foresight_years", "value": 0}),
        "foresight_years: 0 is not allowed: it must be at least 1",
    ),
    (
        "supply step in a year the system lacks",
        lambda t: t.update(supply_steps=[_step(year=2031)]),
        "supply_steps!B2 (year): A has no row for 2031 on sheet emissions",
    ),
    (
        "supply step without a trigger",
        lambda t: t.update(supply_steps=[_step(trigger_price_per_tCO2e=None)]),
        "supply_steps!C2 (trigger_price_per_tCO2e)",
    ),
]


@pytest.mark.parametrize(("rule", "mutate", "message"), CELL_RULES, ids=[r[0] for r in CELL_RULES])
def test_cell_rule(workbook, tmp_path, capsys, rule, mutate, message):
    tables = _tables()
    mutate(tables)
    _rejects(workbook(tables), tmp_path, capsys, message)


def test_every_problem_is_reported_at_once_and_sorted(workbook, tmp_path, capsys):
    tables = _tables()
    tables["mac_linear"][1]["slope_per_tCO2e_per_MtCO2e"] = "1 000"
    tables["emissions"][0]["cap_MtCO2e"] = "n/a"
    err = _rejects(workbook(tables), tmp_path, capsys, "2 problem(s)")
    assert err.index("emissions!D2") < err.index("mac_linear!C3")


def test_more_than_fifty_problems_are_capped(workbook, tmp_path, capsys):
    tables = _tables()
    tables["emissions"] = [
        {"system": "A", "year": 2000 + i, "baseline_MtCO2e": "x", "cap_MtCO2e": "y"}
        for i in range(40)
    ]
    err = _rejects(workbook(tables), tmp_path, capsys, "80 problem(s)", "... and 30 more")
    assert err.count("Fix:") == 50


def test_missing_sheet_suggests_the_misspelt_one(workbook, tmp_path, capsys):
    tables = _tables()
    tables["emission"] = tables.pop("emissions")
    path = workbook({k: v for k, v in tables.items() if k != "emission"})
    book = openpyxl.load_workbook(path)
    sheet = book.create_sheet("Emision")
    sheet.append(["system", "year", "baseline_MtCO2e", "cap_MtCO2e"])
    book.save(path)
    _rejects(path, tmp_path, capsys, 'emissions: the sheet is missing (did you mean "Emision"?)')


def test_missing_column_suggests_the_misspelt_header(workbook, tmp_path, capsys):
    path = workbook(_tables())
    book = openpyxl.load_workbook(path)
    book["emissions"]["D1"] = "cap_MtCO2"
    book.save(path)
    _rejects(
        path,
        tmp_path,
        capsys,
        "emissions (cap_MtCO2e): the column is missing",
        'did you mean "cap_MtCO2"?',
    )


def _edit(path: Path, edit) -> Path:
    book = openpyxl.load_workbook(path)
    edit(book)
    book.save(path)
    return path


def test_hidden_sheet(workbook, tmp_path, capsys):
    path = _edit(workbook(_tables()), lambda b: setattr(b["mac_linear"], "sheet_state", "hidden"))
    _rejects(path, tmp_path, capsys, "mac_linear: the sheet is hidden")


def test_merged_cells(workbook, tmp_path, capsys):
    path = _edit(workbook(_tables()), lambda b: b["emissions"].merge_cells("C2:C3"))
    _rejects(path, tmp_path, capsys, "emissions!C2:C3: cells C2:C3 are merged")


def test_blank_row_in_the_middle(workbook, tmp_path, capsys):
    def insert_blank(book):
        book["emissions"].insert_rows(3)

    path = _edit(workbook(_tables()), insert_blank)
    _rejects(path, tmp_path, capsys, "emissions!3:3: row 3 is blank but rows below it hold data")


def test_formula_without_stored_value(workbook, tmp_path, capsys):
    path = _edit(workbook(_tables()), lambda b: b["emissions"].cell(2, 4, "=100-10"))
    _rejects(
        path,
        tmp_path,
        capsys,
        "emissions!D2 (cap_MtCO2e): the cell holds a formula with no stored value",
        "open the workbook in Excel",
    )


@pytest.mark.parametrize("suffix", [".xls", ".xlsb", ".csv"])
def test_wrong_file_format(tmp_path, capsys, suffix):
    path = tmp_path / f"inputs{suffix}"
    path.write_bytes(b"anything")
    _rejects(path, tmp_path, capsys, "is not an .xlsx workbook", "save it as Excel Workbook")


def test_password_protected(tmp_path, capsys):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(512))
    _rejects(path, tmp_path, capsys, "is password-protected", "remove the password")


def test_not_a_zip(tmp_path, capsys):
    path = tmp_path / "broken.xlsx"
    path.write_text("not a workbook")
    _rejects(path, tmp_path, capsys, "cannot be read as an .xlsx workbook")


def test_missing_file(tmp_path, capsys):
    _rejects(tmp_path / "nope.xlsx", tmp_path, capsys, "does not exist")


def test_exchange_rates_that_mint_allowances_round_a_cycle_are_an_error(workbook, tmp_path, capsys):
    tables = linear_case(
        {"A": 1.0, "B": 1.0, "C": 1.0},
        {"A": 1.0, "B": 1.0, "C": 1.0},
        links=[
            {"from_system": "A", "to_system": "B", "exchange_rate": 2},
            {"from_system": "B", "to_system": "C"},
            {"from_system": "C", "to_system": "A"},
        ],
    )
    err = _rejects(workbook(tables), tmp_path, capsys, "links!C", "multiply to 2")
    assert "rows 2, 3, 4" in err


def test_the_measured_minting_pair_is_an_error(workbook, tmp_path, capsys):
    """EU->CH at rate 2 and CH->EU at rate 1 once gave prices of 0 and a huge 'gain'."""
    tables = linear_case(
        {"EU": 1.0, "CH": 1.0},
        {"EU": 1.0, "CH": 1.0},
        links=[
            {"from_system": "EU", "to_system": "CH", "direction": "one-way", "exchange_rate": 2},
            {"from_system": "CH", "to_system": "EU", "direction": "one-way", "exchange_rate": 1},
        ],
    )
    _rejects(workbook(tables), tmp_path, capsys, "EU -> CH -> EU", "multiply to 2")


def test_a_cycle_that_loses_allowances_is_only_a_warning(workbook, capsys):
    tables = linear_case(
        {"A": 1.0, "B": 1.0, "C": 1.0},
        {"A": 1.0, "B": 1.0, "C": 1.0},
        links=[
            {"from_system": "A", "to_system": "B", "direction": "one-way", "exchange_rate": 0.5},
            {"from_system": "B", "to_system": "C", "direction": "one-way"},
            {"from_system": "C", "to_system": "A", "direction": "one-way"},
        ],
    )
    assert main(["validate", str(workbook(tables))]) == 0
    err = capsys.readouterr().err
    assert "exchange rates multiply to 2, not 1" in err  # read either way round the cycle
    assert "(exchange_rate)" in err


@pytest.mark.parametrize(
    ("mutate", "warning"),
    [
        (lambda t: t["mac_linear"].pop(1), "systems!A3 (system): B has no abatement options"),
        (
            lambda t: t["emissions"][0].update(cap_MtCO2e=120),
            "emissions!D2 (cap_MtCO2e): A's cap is above its baseline in 2030 (first: cap 120, "
            "baseline 100)",
        ),
    ],
)
def test_warnings_are_shown_and_the_check_goes_on(workbook, capsys, mutate, warning):
    tables = _tables()
    mutate(tables)
    code = main(["validate", str(workbook(tables))])
    captured = capsys.readouterr()
    assert code == 0
    assert warning in captured.err
    assert "OK" in captured.out


def test_an_empty_optional_sheet_reads_as_absent(workbook, capsys):
    tables = _tables()
    tables["links"] = []  # the sheet exists but holds nothing: no header, no rows
    tables["uncertainty"] = []
    path = workbook(tables)
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert "0 links" in captured.out
    assert "missing" not in captured.err


def test_an_empty_required_sheet_is_still_an_error(workbook, tmp_path, capsys):
    tables = _tables()
    tables["systems"] = []
    _rejects(workbook(tables), tmp_path, capsys, "systems (system): the column is missing")


def test_a_banking_system_that_skips_years_is_warned(workbook, capsys):
    # emissions rows: A 2020, 2021, 2025 (rows 2-4), then B 2020, 2021, 2025 (rows 5-7)
    tables = linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, years=(2020, 2021, 2025))
    tables["systems"][1]["banking"] = "no"  # B's years stand alone: no warning
    assert main(["validate", str(workbook(tables))]) == 0
    err = capsys.readouterr().err
    assert (
        "emissions!B4 (year): A banks but has no rows for 2022-2024, so those years are not "
        "modelled and its bank passes from 2021 straight to 2025. Fix: add rows for the "
        "missing years on sheet emissions (and their abatement options), or set banking to no "
        "for A on sheet systems if its years stand alone." in err
    )
    assert "B banks" not in err


def test_every_gap_of_a_banking_system_is_named(workbook, capsys):
    tables = linear_case({"A": 2.0}, {"A": 10.0}, years=(2020, 2022, 2025, 2026))
    assert main(["validate", str(workbook(tables))]) == 0
    err = capsys.readouterr().err
    assert "emissions!B3 (year): A banks but has no rows for 2021, 2023-2024, so" in err
    assert err.count("banks but") == 1  # one warning per system


def test_a_reader_warning_goes_to_the_log_not_the_terminal(workbook, tmp_path, capsys, caplog):
    # 10^10 days is beyond what Python holds: openpyxl warns and reads #VALUE!
    path = workbook(_tables())
    book = openpyxl.load_workbook(path)
    book["emissions"]["D2"] = 1e10
    book["emissions"]["D2"].number_format = "[h]:mm"
    book.save(path)
    with caplog.at_level("INFO", logger="etslink.inputs.workbook"):
        err = _rejects(path, tmp_path, capsys, 'emissions!D2 (cap_MtCO2e): "#VALUE!" is not a')
    assert "UserWarning" not in err
    assert "Cell D2 is marked as a date" in caplog.text


@pytest.mark.solve
def test_a_ceiling_below_a_floor_is_no_pump_when_the_link_cannot_carry_its_allowances(
    workbook, tmp_path
):
    """A's ceiling (4) is below B's floor (5), but B's allowances only flow into A."""
    tables = _tables()
    tables["links"] = [{"from_system": "B", "to_system": "A", "direction": "one-way"}]
    tables["price_controls"].append({"system": "A", "year": 2030, "ceiling_price_per_tCO2e": 4})
    out = tmp_path / "out"
    assert main(["run", str(workbook(tables)), "--out", str(out), "--quiet"]) == 0
