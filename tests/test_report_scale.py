"""The report at 50 systems reads like the one at 6: short headline, heat maps, capped MACs."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from conftest import linear_case
from etslink.inputs.workbook import write_workbook
from etslink.outputs.report.html import LINES_MAX, MAC_PANELS, ROWS_SHOWN, fold, write_report
from etslink.outputs.report.story import HEADLINE_GROUPS, name_list, price_levels
from etslink.outputs.results import Results
from etslink.workflows.run import load_workbook, run_cases

YEARS = (2030, 2031, 2032)
CLUSTER = 5
RECORD = {
    "input": {"path": "synthetic.xlsx", "sha256": "0" * 64},
    "started_utc": "2030-01-01T00:00:00Z",
    "versions": {},
    "cases": {},
}


def _market(n: int, limited_cluster: int | None = None) -> dict[str, list[dict[str, object]]]:
    """Return n systems with distinct autarky prices, chained into clusters of CLUSTER.

    The links of cluster `limited_cluster` carry at most 0.1 MtCO2e a year, so its prices
    stay apart; every other cluster converges.
    """
    names = [f"S{i:02d}" for i in range(n)]
    slopes = {s: 1.0 + i % 7 for i, s in enumerate(names)}
    required = {s: 5.0 + (3 * i) % 11 for i, s in enumerate(names)}
    links = []
    for i in range(n - 1):
        if i // CLUSTER == (i + 1) // CLUSTER:
            link = {"from_system": names[i], "to_system": names[i + 1]}
            if i // CLUSTER == limited_cluster:
                link["max_transfer_MtCO2e"] = 0.1
            links.append(link)
    return linear_case(slopes, required, YEARS, links=links)


def _solve(tables: dict[str, list[dict[str, object]]], path: Path) -> Results:
    write_workbook(path, tables)
    return run_cases(load_workbook(path)[0])


def _write(results: Results, path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no matplotlib warning may escape
        write_report(results, RECORD, path)
    return path.read_text(encoding="utf-8")


def _section(page: str, name: str) -> str:
    return page.split(f'<section id="{name}">')[1].split("</section>")[0]


@pytest.fixture(scope="module")
def fifty(tmp_path_factory) -> tuple[Results, str]:
    """Solve 50 systems in 10 clusters, the last one kept apart by transfer limits."""
    folder = tmp_path_factory.mktemp("fifty")
    results = _solve(_market(50, limited_cluster=9), folder / "fifty.xlsx")
    return results, _write(results, folder / "report.html")


@pytest.mark.unit
def test_name_list_names_a_few_then_counts():
    assert name_list(["EU"]) == "EU"
    assert name_list(["EU", "CH"]) == "EU and CH"
    assert name_list(["CA", "QC", "ON"]) == "CA, QC and ON"
    assert name_list([f"S{i}" for i in range(9)], shown=3) == "S0, S1, S2 and 6 more"


@pytest.mark.unit
def test_price_levels_count_converged_prices_once():
    assert price_levels([10.0, 10.0 + 1e-6, 20.0, 30.0, 30.0]) == 3


@pytest.mark.unit
def test_long_tables_are_sorted_by_size_and_folded():
    rows = [{"system": f"S{i:02d}", "gain": float((-1) ** i * i)} for i in range(30)]
    folded = fold(rows, "gain")
    assert [r["system"] for r in folded.head[:3]] == ["S29", "S28", "S27"]  # |gain| first
    assert len(folded.head) == ROWS_SHOWN
    assert len(folded.tail) == len(rows) - ROWS_SHOWN
    short = rows[:5]
    assert fold(short, "gain").head == short  # a short table keeps its order
    assert fold(short, "gain").tail == []


@pytest.mark.solve
def test_headline_has_one_line_per_group_then_and_k_more(fifty):
    _, page = fifty
    headline = _section(page, "headline")
    groups = 50 // CLUSTER
    rest = groups - HEADLINE_GROUPS
    lines = re.findall(r"<li>(S\d\d, .*?)(?:<ul>|</li>)", headline, flags=re.S)
    assert len(lines) == HEADLINE_GROUPS
    assert "do not fully converge" in lines[0]  # the group kept apart comes first
    assert lines[0].startswith("S45, S46, S47, S48 and S49")
    assert f"and {rest} more linked groups ({rest * CLUSTER} systems): all converge" in headline


@pytest.mark.solve
def test_price_paths_are_a_heat_map_beyond_the_threshold(fifty):
    _, page = fifty
    paths = _section(page, "price-paths")
    assert 'id="price-heatmap-linked"' in paths
    assert 'id="price-heatmap-change"' in paths
    assert not re.search(r'id="price-(linked|autarky)-S\d\d"', paths)  # no line per system
    # one raster per panel and per colour bar, however many systems and years
    assert paths.count("<image") == 4


@pytest.mark.solve
@pytest.mark.parametrize("n", [LINES_MAX, LINES_MAX + 1])
def test_threshold_between_lines_and_heat_map(n, tmp_path):
    results = _solve(_market(n), tmp_path / "market.xlsx")
    paths = _section(_write(results, tmp_path / "report.html"), "price-paths")
    lines = re.findall(r'id="price-linked-(S\d\d)"', paths)
    if n <= LINES_MAX:
        assert sorted(lines) == sorted(results.data.systems)
        assert "price-heatmap" not in paths
    else:
        assert lines == []
        assert 'id="price-heatmap-linked"' in paths


@pytest.mark.solve
def test_mac_curves_only_for_the_systems_whose_price_moves_most(fifty):
    results, page = fifty
    year = YEARS[-1]
    move = {
        s: abs(results.price("linked", s, year) - results.price("autarky", s, year))
        for s in results.data.systems
    }
    drawn = re.findall(r'id="mac-(S\d\d)"', page)
    assert len(drawn) == MAC_PANELS
    assert min(move[s] for s in drawn) >= max(move[s] for s in move if s not in drawn)
    mac = _section(page, "mac")
    assert "<details>" in mac  # the other 44 systems: a table, its tail folded
    assert len(re.findall(r"<tr><td>S\d\d</td>", mac)) == 50 - MAC_PANELS


@pytest.mark.solve
def test_gains_table_shows_the_largest_gains_and_folds_the_rest(fifty):
    results, page = fifty
    gains = _section(page, "gains")
    head, tail = gains.split("<details>")
    column = f"gain_from_linking_pv_M{results.data.currency}"
    largest = results.gains.loc[results.gains[column].abs().idxmax(), "system"]
    assert re.findall(r"<tr><td>(S\d\d)</td>", head)[0] == largest
    assert len(re.findall(r"<tr><td>S\d\d</td>", head)) == ROWS_SHOWN
    assert len(re.findall(r"<tr><td>S\d\d</td>", tail)) == 50 - ROWS_SHOWN


@pytest.mark.solve
def test_report_at_fifty_systems_stays_self_contained_and_small(fifty):
    _, page = fifty
    assert "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"@import|url\((?!#)", page)
    assert len(page) < 1_000_000  # the charts do not grow with systems x years
