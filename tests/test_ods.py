"""OpenDocument (.ods) workbooks: the same values, checks and cell references as .xlsx.

The first tests build .ods files by hand (a zip holding content.xml), so that they run
wherever the tests run. The last ones convert .xlsx files with LibreOffice, as an analyst's
files are made, and are skipped where `soffice` is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import openpyxl
import pytest

import etslink
from conftest import Tables, linear_case
from etslink.cli import main
from etslink.errors import InputError, Issue
from etslink.inputs.schema import sheet as sheet_named
from etslink.inputs.validate import validate
from etslink.inputs.workbook import _scan_ods, read_workbook, write_workbook

_NAMESPACES = " ".join(
    f'xmlns:{prefix}="urn:oasis:names:tc:opendocument:xmlns:{name}"'
    for prefix, name in (
        ("office", "office:1.0"),
        ("table", "table:1.0"),
        ("text", "text:1.0"),
        ("style", "style:1.0"),
        ("of", "of:1.2"),
    )
)
_CALCEXT = 'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"'


@dataclass(frozen=True)
class Raw:
    """A cell written as it stands in content.xml."""

    xml: str


FORMULA_WITHOUT_VALUE = Raw('<table:table-cell table:formula="of:=100-10"/>')
DIV_ZERO = Raw(
    f'<table:table-cell {_CALCEXT} table:formula="of:=1/0" office:value-type="string" '
    'office:string-value="" calcext:value-type="error"><text:p>#DIV/0!</text:p>'
    "</table:table-cell>"
)
COVERED = Raw("<table:covered-table-cell/>")


def _merged_down(value: float, rows: int) -> Raw:
    return Raw(
        f'<table:table-cell office:value-type="float" office:value="{value}" '
        f'table:number-rows-spanned="{rows}" table:number-columns-spanned="1">'
        f"<text:p>{value}</text:p></table:table-cell>"
    )


def _cell(value: object) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, Raw):
        return value.xml
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}</text:p>'
        "</table:table-cell>"
    )


def _table(name: str, rows: list[dict[str, object]], hidden: bool) -> str:
    """Return one sheet laid out as write_workbook lays it out, with LibreOffice's padding."""
    columns = [c.name for c in sheet_named(name).columns if any(c.name in row for row in rows)]
    lines = [columns] + [[row.get(c) for c in columns] for row in rows] if columns else []
    body = "".join(
        "<table:table-row>"
        + "".join(_cell(v) for v in line)
        + '<table:table-cell table:number-columns-repeated="1020"/></table:table-row>'
        for line in lines
    )
    body += (
        '<table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    style = "hidden" if hidden else "shown"
    start = f'<table:table table:name={quoteattr(name)} table:style-name="{style}">'
    return f"{start}{body}</table:table>"


def write_ods(path: Path, tables: Tables, hidden: tuple[str, ...] = ()) -> Path:
    """Write tables (as for write_workbook) to a minimal .ods file; return its path."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<office:document-content {_NAMESPACES} office:version="1.3">'
        "<office:automatic-styles>"
        '<style:style style:name="shown" style:family="table">'
        '<style:table-properties table:display="true"/></style:style>'
        '<style:style style:name="hidden" style:family="table">'
        '<style:table-properties table:display="false"/></style:style>'
        "</office:automatic-styles><office:body><office:spreadsheet>"
        + "".join(_table(name, rows, name in hidden) for name, rows in tables.items())
        + "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.3">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return path


def _linked() -> Tables:
    """Two systems and a link: the linked price is pooled, the autarky prices differ."""
    return linear_case(
        {"A": 2.0, "B": 8.0},
        {"A": 10.0, "B": 10.0},
        years=(2030, 2031),
        links=[{"from_system": "A", "to_system": "B"}],
    )


def _prices(path: Path) -> dict[tuple[str, str, int], float]:
    table = etslink.run(path).prices
    return {(r.case, r.system, r.year): r.price_EUR_per_tCO2e for r in table.itertuples()}


def _issues(path: Path) -> list[Issue]:
    with pytest.raises(InputError) as caught:
        validate(read_workbook(path))
    return caught.value.issues


def _places(path: Path) -> list[tuple[str, str, str]]:
    """Return where each problem of the workbook is: sheet, cell and column."""
    return [(i.sheet, i.cell, i.column) for i in _issues(path)]


def _bad(tables: Tables) -> Tables:
    """Add a decimal comma (emissions!D3) and a thousands separator (mac_linear!C4)."""
    tables["emissions"][1]["cap_MtCO2e"] = "12,5"
    tables["mac_linear"][2]["slope_per_tCO2e_per_MtCO2e"] = "1 000"
    return tables


@pytest.mark.solve
def test_an_ods_workbook_runs_with_the_prices_of_the_xlsx(tmp_path):
    xlsx, ods = tmp_path / "case.xlsx", write_ods(tmp_path / "case.ods", _linked())
    write_workbook(xlsx, _linked())
    prices = _prices(ods)
    assert prices == pytest.approx(_prices(xlsx), rel=1e-9)
    pooled = 10.0 * 2 / (1 / 2.0 + 1 / 8.0)  # both systems need 10 Mt: MAC 2a = 8b = 32
    assert prices["linked", "A", 2030] == pytest.approx(pooled, rel=1e-6)
    out = tmp_path / "out"
    assert main(["run", str(ods), "--out", str(out), "--quiet"]) == 0
    assert (out / "results.xlsx").is_file()


@pytest.mark.unit
def test_errors_in_an_ods_name_the_cells_of_the_xlsx(tmp_path, capsys):
    xlsx, ods = tmp_path / "bad.xlsx", write_ods(tmp_path / "bad.ods", _bad(_linked()))
    write_workbook(xlsx, _bad(_linked()))
    assert _places(ods) == _places(xlsx)
    assert main(["validate", str(ods)]) == 2
    err = capsys.readouterr().err
    assert 'emissions!D3 (cap_MtCO2e): "12,5" is not a number' in err
    assert 'mac_linear!C4 (slope_per_tCO2e_per_MtCO2e): "1 000" is not a number' in err


def _layout_problems(tables: Tables) -> Tables:
    """Merge emissions C2:C3, leave a formula without value in D4, an error in mac_linear C3."""
    tables["emissions"][0]["baseline_MtCO2e"] = _merged_down(100, 2)
    tables["emissions"][1]["baseline_MtCO2e"] = COVERED
    tables["emissions"][2]["cap_MtCO2e"] = FORMULA_WITHOUT_VALUE
    tables["mac_linear"][1]["slope_per_tCO2e_per_MtCO2e"] = DIV_ZERO
    return tables


def _layout_problems_xlsx(path: Path) -> Path:
    write_workbook(path, _linked())
    book = openpyxl.load_workbook(path)
    book["emissions"].merge_cells("C2:C3")
    book["emissions"]["D4"] = "=100-10"
    book["mac_linear"]["C3"] = "=1/0"
    book["mac_linear"].sheet_state = "hidden"
    book.save(path)
    return path


@pytest.mark.unit
def test_layout_problems_of_an_ods_are_flagged_at_the_cells_of_the_xlsx(tmp_path, capsys):
    ods = write_ods(tmp_path / "layout.ods", _layout_problems(_linked()), hidden=("mac_linear",))
    # the same places; mac_linear!C3 is a formula without value in the .xlsx (openpyxl stores
    # none) and an error value in the .ods
    assert _places(ods) == _places(_layout_problems_xlsx(tmp_path / "layout.xlsx"))
    assert main(["validate", str(ods)]) == 2
    err = capsys.readouterr().err
    expected = [
        "emissions!C2:C3: cells C2:C3 are merged. Fix: unmerge them (Format > Merge and "
        "Unmerge Cells > Unmerge Cells)",
        "emissions!D4 (cap_MtCO2e): the cell holds a formula with no stored value",
        "Fix: open the workbook in LibreOffice Calc, recalculate it",
        "mac_linear: the sheet is hidden, so its data is easy to overlook. Fix: unhide it "
        "(right-click a sheet tab > Show Sheet)",
        'mac_linear!C3 (slope_per_tCO2e_per_MtCO2e): "#DIV/0!" is not a number',
    ]
    for fragment in expected:
        assert fragment in err


@pytest.mark.unit
def test_repeated_rows_and_cells_are_counted():
    # LibreOffice writes a run of equal cells or rows once, with a repeat count
    repeated_formula = '<table:table-cell table:formula="of:=1" table:number-columns-repeated="2"/>'
    rows = (
        '<table:table-row table:number-rows-repeated="3"><table:table-cell/></table:table-row>'
        '<table:table-row table:number-rows-repeated="2">'
        f'<table:table-cell table:number-columns-repeated="2"/>{repeated_formula}'
        "</table:table-row>"
        "<table:table-row><table:covered-table-cell/>"
        '<table:table-cell table:number-columns-spanned="2" table:number-rows-spanned="1"/>'
        "</table:table-row>"
    )
    content = (
        f"<office:document-content {_NAMESPACES}><office:body><office:spreadsheet>"
        f'<table:table table:name="other">{rows}</table:table>'
        f'<table:table table:name="emissions">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    marks = _scan_ods(content.encode(), {"emissions"})
    assert set(marks) == {"emissions"}
    assert marks["emissions"].formulas == {(4, 3), (4, 4), (5, 3), (5, 4)}
    assert marks["emissions"].merged == [(6, 2, 6, 3)]


@pytest.mark.unit
def test_an_ods_that_is_not_one_is_refused(tmp_path, capsys):
    path = tmp_path / "broken.ods"
    path.write_text("not a workbook")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert '"broken.ods" cannot be read as an .ods workbook' in err
    assert "Fix: open it in LibreOffice Calc" in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.unit
def test_an_empty_optional_sheet_of_an_ods_reads_as_absent(tmp_path):
    tables = _linked()
    tables["links"] = []
    raw = read_workbook(write_ods(tmp_path / "empty.ods", tables))
    assert raw.tables["links"].empty
    assert validate(raw).tables["links"] == []


# Files saved by LibreOffice itself.


@pytest.fixture(scope="module")
def libreoffice(tmp_path_factory) -> dict[str, Path]:
    """Write .xlsx files with openpyxl and convert them all to .ods with LibreOffice."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    folder = tmp_path_factory.mktemp("libreoffice")
    sources = {
        "plain": folder / "plain.xlsx",
        "bad": folder / "bad.xlsx",
        "layout": folder / "layout.xlsx",
    }
    write_workbook(sources["plain"], _linked())
    write_workbook(sources["bad"], _bad(_linked()))
    _layout_problems_xlsx(sources["layout"])
    profile = (folder / "profile").as_uri()  # its own profile: no clash with a running office
    done = subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "ods"]
        + ["--outdir", str(folder)]
        + [str(p) for p in sources.values()],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    converted = {f"{name}.ods": path.with_suffix(".ods") for name, path in sources.items()}
    if not all(path.is_file() for path in converted.values()):  # LibreOffice's trouble, not ours
        pytest.skip(f"LibreOffice did not convert the files: {done.stderr.strip()[-300:]}")
    return {**{f"{name}.xlsx": path for name, path in sources.items()}, **converted}


@pytest.mark.solve
def test_libreoffice_ods_runs_with_the_prices_of_the_xlsx(libreoffice):
    assert _prices(libreoffice["plain.ods"]) == pytest.approx(
        _prices(libreoffice["plain.xlsx"]), rel=1e-9
    )


@pytest.mark.unit
def test_libreoffice_ods_errors_name_the_cells_of_the_xlsx(libreoffice):
    places = _places(libreoffice["bad.ods"])
    assert places == _places(libreoffice["bad.xlsx"])
    assert ("emissions", "D3", "cap_MtCO2e") in places


@pytest.mark.unit
def test_libreoffice_ods_hidden_sheet_and_merged_cells_are_flagged(libreoffice):
    problems = {(i.sheet, i.cell, i.problem) for i in _issues(libreoffice["layout.ods"])}
    assert ("emissions", "C2:C3", "cells C2:C3 are merged") in problems
    assert (
        "mac_linear",
        "",
        "the sheet is hidden, so its data is easy to overlook",
    ) in problems
    # LibreOffice calculates the formulas when it converts: D4 holds 90, C3 shows #DIV/0!
    assert ("mac_linear", "C3", '"#DIV/0!" is not a number') in problems
    assert not any(cell == "D4" for _, cell, _ in problems)
