"""The report and the results workbook, checked by content."""

from __future__ import annotations

import re

import openpyxl
import pytest

from conftest import EXAMPLE
from etslink.outputs.report.html import environment
from etslink.workflows.run import load_workbook

pytestmark = pytest.mark.solve

SECTIONS = ("headline", "price-paths", "mac", "trade", "gains", "inputs")


@pytest.fixture(scope="module")
def page(example_run) -> str:
    return (example_run / "report.html").read_text()


@pytest.fixture(scope="module")
def systems() -> tuple[str, ...]:
    return load_workbook(EXAMPLE)[0].systems


def test_report_has_no_external_references(page):
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"@import|url\((?!#)", page)  # only in-page ids, e.g. clip paths
    assert "<script" not in page


def test_report_has_every_section(page):
    for section in SECTIONS:
        assert f'<section id="{section}">' in page


def test_price_chart_has_one_series_per_system_and_case(page, systems):
    paths = page.split('<section id="price-paths">')[1].split("</section>")[0]
    for case in ("linked", "autarky"):
        assert sorted(re.findall(rf'id="price-{case}-([^"]+)"', paths)) == sorted(systems)


def test_mac_and_bar_charts_cover_every_system_of_the_last_year(page, systems):
    for system in (s for s in systems if s != "ON"):  # Ontario took part in 2018 only
        assert f'id="mac-{system}"' in page
        assert f'id="bar-linked-{system}"' in page
        assert f'id="bar-autarky-{system}"' in page
        assert f'id="gains-0-{system}"' in page
    assert 'id="transfer-matrix"' in page


def test_headline_names_the_linked_groups(page):
    assert "EU and CH: prices converge at" in page
    assert "CA and QC: prices converge at" in page
    assert "TK and ST: prices converge at" in page
    assert "CA, QC and ON accept WCI credits" in page
    assert "EU and CH accept CER credits" in page


def test_report_is_reproducible(example_run, tmp_path):
    from etslink.cli import main

    again = tmp_path / "again"
    assert main(["run", str(EXAMPLE), "--out", str(again), "--quiet"]) == 0
    # everything but the run record (times differ) must be identical, charts included
    first = (example_run / "report.html").read_text().split('<section id="inputs">')[0]
    second = (again / "report.html").read_text().split('<section id="inputs">')[0]
    assert first == second


def test_results_workbook_is_readable(example_run):
    book = openpyxl.load_workbook(example_run / "results.xlsx")
    assert book.sheetnames[0] == "summary"
    for name in ("prices", "balances", "transfers", "costs", "gains", "shadow_prices"):
        ws = book[name]
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref
    summary = book["summary"]
    assert len(summary._charts) >= 3
    assert any("MtCO2e" in str(c.value) or "EUR" in str(c.value) for c in summary[1] + summary[2])


@pytest.mark.parametrize(
    ("name", "note"), [("1_two_way", None), ("14_floor_across_a_link", "-5.0")]
)
def test_the_report_says_when_linking_changes_total_emissions(tmp_path, name, note):
    """Issue 22, item 3: a gain that is partly a looser cap came with no warning. Tutorial 14's
    floor withholds 5 Mt when linked; tutorial 1's link only moves abatement between systems."""
    from pathlib import Path

    from etslink.cli import main

    workbook = Path(__file__).resolve().parents[1] / "inputs" / "tutorial" / f"{name}.xlsx"
    out = tmp_path / name
    assert main(["run", str(workbook), "--out", str(out), "--quiet"]) == 0
    report = (out / "report.html").read_text()
    if note is None:
        assert "Linking changes emissions" not in report
    else:
        assert f"Linking changes emissions</b> by {note} MtCO2e" in report


def _linked_line_style(page: str, system: str) -> str:
    """Return the style of a system's linked price line in the price paths chart."""
    group = page.split(f'<g id="price-linked-{system}">')[1]
    return re.search(r'style="([^"]*)"', group)[1]


def test_linked_systems_share_a_striped_line_and_a_late_link_is_marked(page):
    """Issue 22: EU's linked price hid under CH's, CA's under QC's, TK's under ST's. The
    first of a group is solid, the others dashed into its gaps; the EU-CH link starts in
    2020, after the first year, and is marked there; the others run from 2018."""
    paths = page.split('<section id="price-paths">')[1].split("</section>")[0]
    for first, other in (("EU", "CH"), ("CA", "QC"), ("TK", "ST")):
        assert "stroke-dasharray" not in _linked_line_style(paths, first)
        assert "stroke-dasharray" in _linked_line_style(paths, other)
    assert re.findall(r'id="link-start-(\d+)"', paths) == ["2020"]
    assert "CA&lt;-&gt;QC, ON&lt;-&gt;CA, ON&lt;-&gt;QC and TK&lt;-&gt;ST\nare in force from" in (
        paths
    )


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(-0.3, 0, "0"), (0.4, 0, "0"), (-0.04, 1, "0.0"), (1.46, 1, "+1.5"), (-2.0, 0, "-2")],
)
def test_a_change_that_rounds_to_zero_has_no_sign(value, digits, text):
    """The report wrote "-0%" for a model 0.3% below an observation."""
    assert environment().from_string("{{ v | signed(d) }}").render(v=value, d=digits) == text
