"""Every tutorial workbook runs, and gives the numbers docs/tutorial.md states."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from etslink.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "tutorial.md").read_text()
COLUMNS = {
    "price": "price_EUR_per_tCO2e",
    "abatement": "abatement_MtCO2e",
    "net imports": "net_imports_MtCO2e",
    "offsets used": "offsets_used_MtCO2e",
}

pytestmark = pytest.mark.solve


def _expected() -> dict[str, list[dict[str, str]]]:
    """Return the rows of each `<!-- expect NAME -->` table of the page."""
    tables = {}
    for name, body in re.findall(r"<!-- expect (\S+) -->\n((?:\|.*\n)+)", PAGE):
        lines = [line.strip("|").split("|") for line in body.strip().splitlines()]
        header = [cell.strip() for cell in lines[0]]
        tables[name] = [
            dict(zip(header, (c.strip() for c in row), strict=True)) for row in lines[2:]
        ]
    return tables


EXPECTED = _expected()


def _run(name: str, tmp_path: Path) -> dict[str, pd.DataFrame]:
    out = tmp_path / name
    assert (
        main(
            [
                "run",
                str(ROOT / "inputs" / "tutorial" / f"{name}.xlsx"),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    return pd.read_excel(out / "results.xlsx", sheet_name=None)


def test_every_tutorial_has_a_workbook_and_a_table():
    workbooks = {p.stem for p in (ROOT / "inputs" / "tutorial").glob("*.xlsx")}
    assert workbooks == set(EXPECTED)
    assert len(workbooks) == 7


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tutorial_numbers(name, tmp_path):
    book = _run(name, tmp_path)
    table = book["prices"].merge(book["balances"], on=["case", "system", "year"])
    rows = table.set_index(["case", "system", "year"])
    for row in EXPECTED[name]:
        got = rows.loc[(row["case"], row["system"], int(row["year"]))]
        for label, column in COLUMNS.items():
            assert got[column] == pytest.approx(float(row[label]), abs=0.005), (row, label)


def test_tutorial_prose_numbers(tmp_path):
    """The numbers in the tutorials' text that the tables do not hold."""
    costs = _run("1_two_way", tmp_path)["costs"].groupby("case")["abatement_cost_MEUR"].sum()
    assert costs["autarky"] == pytest.approx(500, abs=0.01)
    assert costs["linked"] == pytest.approx(320, abs=0.01)
    shadow = _run("3_transfer_limit", tmp_path)["shadow_prices"].set_index("restriction")
    assert shadow.loc["transfer_limit", "shadow_price_EUR_per_tCO2e"] == pytest.approx(
        40, abs=0.005
    )
    credits = _run("5_indirect_offsets", tmp_path)["offset_prices"]
    assert credits["price_EUR_per_tCO2e"].tolist() == pytest.approx([8, 8], abs=0.005)
    sold = _run("7_price_ceiling", tmp_path)["balances"]["ceiling_sales_MtCO2e"]
    assert sold.tolist() == pytest.approx([3.75, 3.75], abs=0.005)
