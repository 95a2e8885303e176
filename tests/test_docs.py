"""The docs agree with the code: equation tags and the generated workbook reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etslink.outputs.sheets import render_markdown

ROOT = Path(__file__).resolve().parents[1]
TAG = re.compile(r"\(([EB]\d+)\)")

pytestmark = pytest.mark.unit


def _code_tags() -> set[str]:
    package = ROOT / "model" / "etslink"
    files = [*(package / "formulation").glob("*.py"), *(package / "instruments").glob("*.py")]
    return {tag for f in files for tag in TAG.findall(f.read_text())}


def test_every_equation_in_the_code_is_documented_and_vice_versa():
    doc = (ROOT / "docs" / "formulation.md").read_text()
    documented = set(re.findall(r"^### \((E\d+)\)", doc, flags=re.M))
    documented |= set(re.findall(r"^\| \((B\d+)\) \|", doc, flags=re.M))
    assert _code_tags() == documented


def test_workbook_reference_is_generated_from_the_schema():
    text = (ROOT / "docs" / "workbook.md").read_text()
    regenerate = "regenerate: python -m etslink.outputs.sheets > docs/workbook.md"
    assert text == render_markdown(), regenerate


def _input_rows() -> dict[tuple[str, str], str]:
    """Return docs/workbook.md's rows of input columns and settings keys by (sheet, name)."""
    text = (ROOT / "docs" / "workbook.md").read_text()
    inputs = text.split("## Input sheets", 1)[1].split("## Decisions", 1)[0]
    rows = {}
    for part in re.split(r"^### ", inputs, flags=re.M)[1:]:
        sheet = re.match(r"`(\w+)`", part).group(1)
        for name, row in re.findall(r"^\| `([^`]+)` \|(.*)$", part, flags=re.M):
            rows[sheet, name] = row
    return rows


def test_the_reference_lists_every_value_a_choice_or_yes_no_column_accepts():
    """Issue 22, item 10: the values were in prose for some columns and missing for others."""
    from etslink.inputs.schema import NO_WORDS, SETTINGS, SETTINGS_KEYS, SHEETS, YES_WORDS

    rows = _input_rows()
    columns = [(s.name, c) for s in SHEETS for c in s.columns]
    columns += [(SETTINGS.name, key) for key in SETTINGS_KEYS]
    listed = set()
    for sheet, column in columns:
        accepted = {"choice": column.choices, "yesno": (*YES_WORDS, *NO_WORDS)}.get(column.kind)
        if accepted:
            missing = [v for v in accepted if f"`{v}`" not in rows[sheet, column.name]]
            assert missing == [], f"{sheet}.{column.name} does not list {missing}"
            listed.add(f"{sheet}.{column.name}")
    assert {
        "uncertainty.parameter",
        "systems.banking",
        "systems.cap_type",
        "settings.transfer_timing",
        "links.in_counterfactual",
        "calibration.parameter",
    } <= listed


TUTORIALS = sorted((ROOT / "inputs" / "tutorial").glob("*.xlsx"))


def _documented_outputs() -> tuple[dict[str, list[str]], set[str]]:
    """Return docs/workbook.md's output sheets with their columns, and the restriction names."""
    text = (ROOT / "docs" / "workbook.md").read_text()
    outputs = text.split("## Output sheets of `results.xlsx`", 1)[1]
    sheets = {}
    for part in re.split(r"^### ", outputs, flags=re.M)[1:]:
        name = re.match(r"`(\w+)`", part).group(1)
        sheets[name] = re.findall(r"^\| `([^`]+)` \|", part, flags=re.M)
    restriction = re.search(r"^\| `restriction` \| (.+) \|$", outputs, flags=re.M).group(1)
    return sheets, set(restriction.split(", "))


@pytest.mark.solve
@pytest.mark.parametrize("workbook", TUTORIALS, ids=lambda p: p.stem)
def test_a_run_writes_only_documented_sheets_columns_and_restrictions(workbook, tmp_path):
    from python_calamine import CalamineWorkbook

    from etslink.outputs.report.excel import write_results_workbook
    from etslink.workflows.run import load_workbook, run_cases

    results = run_cases(load_workbook(workbook)[0])
    write_results_workbook(results, {"scenario": "test"}, tmp_path / "results.xlsx")
    book = CalamineWorkbook.from_path(tmp_path / "results.xlsx")
    sheets, restrictions = _documented_outputs()
    cur = results.data.currency
    for name in book.sheet_names:
        if name == "summary":
            continue
        assert name in sheets, f"sheet {name} is not in docs/workbook.md"
        header = book.get_sheet_by_name(name).to_python()[0]
        documented = {c.replace("<CUR>", cur) for c in sheets[name]}
        documented |= {
            c.replace("<case>", case) for c in documented for case in ("linked", "autarky")
        }
        assert set(header) <= documented, f"{name}: {set(header) - documented}"
    written = set(results.table("shadow_prices")["restriction"])
    assert written <= restrictions


PLAIN_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLAIN_DOCS.remove(ROOT / "docs" / "formulation.md")
"""The pages an analyst reads without the equations beside them (formulation.md has them)."""
TAG_WORDS_BEFORE, TAG_WORDS_AFTER = 100, 50
"""How far [characters] around a tag the words that say what it is may stand."""
TITLE_WORD = re.compile(r"[a-z]{4,}")
NOT_NAMES = {"taken", "given", "with", "from", "unit", "only"}
"""Words of a title that do not name the equation."""


def _tag_names() -> dict[str, set[str]]:
    """Return each tag's naming words: its title in formulation.md, or its variable's name.

    (E14) Smallest transfers -> {"smallest", "transfers"}; (B3) `transfer_MtCO2e` ->
    {"transfer"} (the unit suffix is not a name).
    """
    doc = (ROOT / "docs" / "formulation.md").read_text()
    titles = dict(re.findall(r"^### \((E\d+)\) ([^·]+)·", doc, flags=re.M))
    variables = re.findall(r"^\| \((B\d+)\) \| [^|]+ \| `([a-z_]+)_M\w+` \|", doc, flags=re.M)
    titles |= {tag: name.replace("_", " ") for tag, name in variables}
    return {tag: set(TITLE_WORD.findall(t.lower())) - NOT_NAMES for tag, t in titles.items()}


def _bare_tags(text: str, names: dict[str, set[str]]) -> list[str]:
    """Return the tags in `text` with none of their naming words nearby in their paragraph.

    A cell reference such as links!B4 is not a tag (the `!` tells them apart).
    """
    bare = []
    for paragraph in text.split("\n\n"):
        for found in re.finditer(r"(?<![!\w])([EB]\d{1,2})\b", paragraph):
            tag = found.group(1)
            if tag not in names:
                continue
            start, end = found.start() - TAG_WORDS_BEFORE, found.end() + TAG_WORDS_AFTER
            near = paragraph[max(start, 0) : end].lower()
            if not any(word in near for word in names[tag]):
                bare.append(f"{tag}: ...{paragraph[max(start, 0) : end]}...")
    return bare


def test_the_tag_check_knows_every_equation_and_variable():
    names = _tag_names()
    assert {f"E{i}" for i in range(1, 20)} | {f"B{i}" for i in range(1, 13)} <= set(names)
    assert names["E14"] == {"smallest", "transfers"}
    assert names["B3"] == {"transfer"}
    assert _bare_tags("the second stage (E14)", names) == ["E14: ...the second stage (E14)..."]
    assert _bare_tags("the smallest transfers (E14); links!B3", names) == []


@pytest.mark.parametrize("page", PLAIN_DOCS, ids=lambda p: p.name)
def test_equation_tags_outside_the_formulation_say_what_they_are(page):
    """A tag such as (E14) is named in words nearby: "the smallest transfers (E14)"."""
    assert _bare_tags(page.read_text(), _tag_names()) == []
