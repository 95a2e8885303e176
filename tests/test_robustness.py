"""Random damage to the shipped example never yields a traceback or a partial output.

The example is damaged with perfect foresight (its foresight_years row removed): damage is
about reading and checking the workbook, and 30 runs of its 13 foresight plans took 80 s.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etslink.cli import main
from etslink.inputs.schema import SHEETS

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"
SHEET_NAMES = [s.name for s in SHEETS]
VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            " ",
            "n/a",
            "1,5",
            "1 000",
            "12 Mt",
            "EU",
            "CA",
            "yes",
            "two-way",
            "=1+1",
            "2030",
            "-1",
            "1e400",
        ]
    ),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
)


@st.composite
def damage(draw: st.DrawFn) -> list[tuple]:
    actions = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["cell", "cell", "cell", "row", "column", "sheet", "header"]))
        sheet = draw(st.sampled_from(SHEET_NAMES))
        row = draw(st.integers(min_value=1, max_value=30))
        column = draw(st.integers(min_value=1, max_value=8))
        actions.append((kind, sheet, row, column, draw(VALUES)))
    return actions


@pytest.fixture(scope="module")
def lean_example(tmp_path_factory) -> Path:
    """Return a copy of the example without its foresight_years setting."""
    book = openpyxl.load_workbook(EXAMPLE)
    settings_sheet = book["settings"]
    for row in range(settings_sheet.max_row, 0, -1):
        if settings_sheet.cell(row, 1).value == "foresight_years":
            settings_sheet.delete_rows(row)
    path = tmp_path_factory.mktemp("lean") / "example.xlsx"
    book.save(path)
    return path


def _apply(path: Path, actions: list[tuple]) -> None:
    book = openpyxl.load_workbook(path)
    for kind, sheet, row, column, value in actions:
        if sheet not in book.sheetnames:
            continue
        ws = book[sheet]
        if kind == "cell":
            ws.cell(row, column, value)
        elif kind == "row":
            ws.delete_rows(row)
        elif kind == "column":
            ws.delete_cols(column)
        elif kind == "sheet":
            del book[sheet]
        else:
            ws.cell(1, column, f"x{value}")
    book.save(path)


@pytest.mark.solve
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(damage())
def test_damaged_workbooks_fail_cleanly(tmp_path_factory, capsys, lean_example, actions):
    folder = tmp_path_factory.mktemp("damage")
    path = folder / "damaged.xlsx"
    shutil.copy(lean_example, path)
    _apply(path, actions)
    out = folder / "out"
    code = main(["run", str(path), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code in {0, 2, 3}, err
    assert "Traceback" not in err
    assert "internal error" not in err
    if code == 0:
        assert {p.name for p in out.iterdir()} == {"results.xlsx", "report.html", "run.json"}
    else:
        assert not out.exists()
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
