"""The docs agree with the code: equation tags and the generated workbook reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from etslink.inputs.schema import render_markdown

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
    regenerate = "regenerate: python -m etslink.inputs.schema > docs/workbook.md"
    assert text == render_markdown(), regenerate
