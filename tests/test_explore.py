"""`etslink explore`: which candidate links pay, against answers derived here.

One year, linear MACs MAC_i = c_i a, required abatement R_i: alone, p_i = c_i R_i. A group
of systems linked without limits pools at p* = sum R / sum 1/c; system i then costs
p* R_i - p*^2 / (2 c_i) (abatement c_i a^2 / 2 plus imports p* (R_i - a) at a = p*/c_i).
"""

from __future__ import annotations

import itertools
import math
import re

import pandas as pd
import pytest

import etslink
from conftest import linear_case
from etslink.cli import main
from etslink.workflows.batch import append_rows
from etslink.workflows.explore import MINTS, PARTIAL_ROWS, STATUS_QUO, ExploreSolver, plan_explore

pytestmark = pytest.mark.solve

C = {"A": 1.0, "B": 2.0, "C": 4.0, "D": 8.0}  # MAC slope [EUR/t per Mt]
R = {"A": 10.0, "B": 20.0, "C": 5.0, "D": 15.0}  # required abatement [Mt]
GAIN, COST, ABROAD = "gain_pv_MEUR", "compliance_cost_pv_MEUR", "paid_abroad_pv_MEUR"
PRICE = "price_EUR_per_tCO2e"


def pooled(group):
    return sum(R[s] for s in group) / sum(1 / C[s] for s in group)


def cost(system, price):
    return price * R[system] - price**2 / (2 * C[system])


def groups(pairs, systems):
    """Return the systems joined by the pairs, as groups (union-find)."""
    parent = {s: s for s in systems}

    def root(s):
        while parent[s] != s:
            s = parent[s]
        return s

    for a, b in pairs:
        parent[root(a)] = root(b)
    found = {}
    for s in systems:
        found.setdefault(root(s), []).append(s)
    return list(found.values())


def prices_of(pairs, systems=C):
    return {s: pooled(g) for g in groups(pairs, systems) for s in g}


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """The four-system case explored once (every combination of the six pairs)."""
    from etslink.inputs.workbook import write_workbook

    path = tmp_path_factory.mktemp("explore") / "four.xlsx"
    write_workbook(path, linear_case(C, R))
    return etslink.explore(path)


def test_a_pair_gains_the_square_of_the_price_gap(four):
    p = {s: C[s] * R[s] for s in C}
    alone = four.combinations[four.combinations["size"] == 1].set_index("combination")
    for a, b in itertools.combinations(C, 2):
        expected = (p[a] - p[b]) ** 2 / (2 * (C[a] + C[b]))
        assert alone.loc[f"{a}-{b}", GAIN] == pytest.approx(expected, rel=1e-6)
    assert list(four.candidates["candidate"]) == ["A-B", "A-C", "A-D", "B-C", "B-D", "C-D"]


def test_each_member_gains_its_triangle_at_the_pooled_price(four):
    p = {s: C[s] * R[s] for s in C}
    grand = " + ".join(["A-B", "A-C", "A-D", "B-C", "B-D", "C-D"])
    rows = four.combination_gains[four.combination_gains["combination"] == grand]
    star = pooled(C)
    for row in rows.itertuples():
        expected = (p[row.system] - star) ** 2 / (2 * C[row.system])
        assert getattr(row, GAIN) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_every_combination_of_four_systems(four):
    names = list(four.candidates["candidate"])
    combos = four.combinations.set_index("combination")
    assert len(combos) == 2 ** len(names) - 1
    assert set(combos["status"]) == {"optimal"}
    gains = four.combination_gains.set_index(["combination", "system"])
    prices = four.combination_prices.set_index(["combination", "system"])
    for size in range(1, len(names) + 1):
        for chosen in itertools.combinations(names, size):
            label = " + ".join(chosen)
            price = prices_of([tuple(n.split("-")) for n in chosen])
            for s in C:
                gain = cost(s, C[s] * R[s]) - cost(s, price[s])
                assert gains.loc[(label, s), GAIN] == pytest.approx(gain, rel=1e-6, abs=1e-6)
                assert prices.loc[(label, s), PRICE] == pytest.approx(price[s], rel=1e-6)
            assert combos.loc[label, "size"] == size
            total = gains.loc[label][GAIN].sum()
            assert combos.loc[label, GAIN] == pytest.approx(total, rel=1e-9)


def test_the_grand_coalition_gains_at_least_any_partitions_parts(four):
    combos = four.combinations.set_index("combination")
    grand = combos[GAIN].max()
    assert grand == pytest.approx(combos.loc[" + ".join(four.candidates["candidate"]), GAIN])
    # a combination's groups partition the systems; its gain is the sum of theirs
    assert (combos[GAIN] <= grand * (1 + 1e-9)).all()
    # disjoint pairs add up; each part of a partition gains on its own
    assert combos.loc["A-B + C-D", GAIN] == pytest.approx(
        combos.loc["A-B", GAIN] + combos.loc["C-D", GAIN], rel=1e-9
    )
    for partition in (("A-B", "C-D"), ("A-C", "B-D"), ("A-D", "B-C")):
        assert grand >= sum(combos.loc[part, GAIN] for part in partition)


def test_status_quo_links_stay_and_candidates_skip_them(workbook):
    """A and B linked already; the candidates are A-C and B-C, gains against A+B pooled."""
    c, r = {"A": 1.0, "B": 2.0, "C": 4.0}, {"A": 10.0, "B": 20.0, "C": 5.0}
    path = workbook(linear_case(c, r, links=[{"from_system": "A", "to_system": "B"}]))
    out = etslink.explore(path)
    assert list(out.candidates["candidate"]) == ["A-C", "B-C"]
    before = sum(r[s] for s in "AB") / sum(1 / c[s] for s in "AB")
    after = sum(r.values()) / sum(1 / x for x in c.values())
    gains = out.combination_gains.set_index(["combination", "system"])[GAIN]
    for s in c:
        p_sq = before if s in "AB" else c[s] * r[s]

        def cost_at(p, s=s):
            return p * r[s] - p**2 / (2 * c[s])

        assert gains["A-C", s] == pytest.approx(cost_at(p_sq) - cost_at(after), rel=1e-6)
    # A-C and B-C together gain no more than either (A and B already pool)
    combos = out.combinations.set_index("combination")[GAIN]
    assert combos["A-C + B-C"] == pytest.approx(combos["A-C"], rel=1e-6)


def test_a_fee_keeps_the_prices_apart_by_the_fee(workbook):
    c, r, fee = {"A": 1.0, "B": 2.0}, {"A": 10.0, "B": 20.0}, 6.0
    candidate = {"from_system": "A", "to_system": "B", "transfer_fee_per_tCO2e": fee}
    out = etslink.explore(workbook(linear_case(c, r, candidate_links=[candidate])))
    prices = out.combination_prices.set_index("system")[PRICE]
    assert prices["B"] - prices["A"] == pytest.approx(fee, rel=1e-6)
    # B imports at p_A and pays the fee to its own government: it cancels in B's cost
    p_a = (sum(r.values()) - fee / c["B"]) / sum(1 / x for x in c.values())
    assert prices["A"] == pytest.approx(p_a, rel=1e-6)
    gains = out.combination_gains.set_index("system")
    assert gains.loc["B", ABROAD] == pytest.approx((p_a / c["A"] - r["A"]) * p_a, rel=1e-6)


def test_emissions_move_only_where_the_supply_answers_the_link(workbook):
    """A's supply step (3 Mt released at 15 EUR) opens once linking lifts A's price: alone
    p_A = c_A R_A = 10; linked with B, p* = (R_A + R_B - 3) / (1/c_A + 1/c_B) = 18. The
    emissions of both rise by exactly the step; without it, linking moves none."""
    c, r, trigger, released = {"A": 1.0, "B": 2.0}, {"A": 10.0, "B": 20.0}, 15.0, 3.0
    assert c["A"] * r["A"] < trigger < (r["A"] + r["B"] - released) / (1 / c["A"] + 1 / c["B"])
    tables = linear_case(c, r, candidate_links=[{"from_system": "A", "to_system": "B"}])
    plain = etslink.explore(workbook(tables))
    assert plain.combinations["emissions_change_MtCO2e"].abs().max() < 1e-7
    tables["supply_steps"] = [
        {
            "system": "A",
            "year": 2030,
            "trigger_price_per_tCO2e": trigger,
            "quantity_MtCO2e": released,
        }
    ]
    stepped = etslink.explore(workbook(tables))
    assert stepped.combinations["emissions_change_MtCO2e"].iloc[0] == pytest.approx(released)
    gains = stepped.combination_gains.set_index("system")["emissions_change_MtCO2e"]
    assert gains.sum() == pytest.approx(released)


def test_a_combination_that_mints_allowances_is_reported_not_solved(workbook, tmp_path):
    """A->B at rate 2 exists; a candidate B->A at rate 1 would double allowances round it."""
    c, r = {"A": 1.0, "B": 2.0, "C": 4.0}, {"A": 10.0, "B": 20.0, "C": 5.0}
    links = [{"from_system": "A", "to_system": "B", "direction": "one-way", "exchange_rate": 2}]
    candidates = [
        {"candidate": "back", "from_system": "B", "to_system": "A", "direction": "one-way"},
        {"from_system": "A", "to_system": "C"},
    ]
    path = workbook(linear_case(c, r, links=links, candidate_links=candidates))
    out = tmp_path / "out"
    assert main(["explore", str(path), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    combos = pd.read_excel(tmp_path / "out" / "explore.xlsx", sheet_name="combinations")
    status = combos.set_index("combination")["status"]
    assert status["back"] == MINTS
    assert status["back + A-C"] == MINTS
    assert status["A-C"] == "optimal"
    assert "multiply to 2" in combos.set_index("combination").loc["back", "note"]
    gains = pd.read_excel(tmp_path / "out" / "explore.xlsx", sheet_name="combination_gains")
    assert set(gains["combination"]) == {"A-C"}
    page = (tmp_path / "out" / "report.html").read_text()
    assert "invalid: mints allowances" in page
    assert 'id="gain-A-C-A"' in page
    assert 'id="candidate-price-A-C-A"' in page
    assert 'id="candidate-price-A-C-C"' in page
    assert 'id="candidate-price-back-' not in page  # invalid: not solved, no prices
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # self-contained


def test_one_and_two_workers_give_identical_numbers_and_resume(workbook, tmp_path):
    path = workbook(linear_case({"A": 1.0, "B": 2.0, "C": 4.0}, {"A": 10.0, "B": 20.0, "C": 5.0}))
    args = ["explore", str(path), "--quiet", "--out"]
    assert main([*args, str(tmp_path / "one"), "--workers", "1"]) == 0
    assert main([*args, str(tmp_path / "two"), "--workers", "2"]) == 0
    # an interrupted run: the status quo and one combination are in the partial file
    plan = plan_explore(path, None)
    solver = ExploreSolver(plan.model)
    partial = tmp_path / ".three.partial"
    partial.mkdir()
    for label, members in ((STATUS_QUO, ()), (plan.label((1,)), (1,))):
        append_rows(partial / PARTIAL_ROWS, solver.solve(label, members))
    assert main([*args, str(tmp_path / "three"), "--workers", "1"]) == 2  # needs --resume
    assert main([*args, str(tmp_path / "three"), "--workers", "1", "--resume"]) == 0
    assert not partial.exists()
    sheets = ("candidates", "combinations", "combination_gains", "combination_prices")
    for sheet in sheets:
        one = pd.read_excel(tmp_path / "one" / "explore.xlsx", sheet_name=sheet)
        for other in ("two", "three"):
            pd.testing.assert_frame_equal(
                one, pd.read_excel(tmp_path / other / "explore.xlsx", sheet_name=sheet)
            )
    record = (tmp_path / "two" / "run.json").read_text()
    assert '"workers": 2' in record


def _explore_fails(path, out, capsys, *extra):
    assert main(["explore", str(path), "--out", str(out), "--quiet", "--workers", "1", *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert not out.exists()
    return err


def test_a_candidate_that_duplicates_a_link_is_refused(workbook, tmp_path, capsys):
    c, r = {"A": 1.0, "B": 2.0}, {"A": 10.0, "B": 20.0}
    path = workbook(
        linear_case(
            c,
            r,
            links=[{"from_system": "A", "to_system": "B"}],
            candidate_links=[{"from_system": "B", "to_system": "A", "direction": "one-way"}],
        )
    )
    err = _explore_fails(path, tmp_path / "out", capsys)
    assert "candidate_links!A2 (from_system)" in err or "candidate_links!B2" in err
    assert "duplicates an existing link" in err
    assert "Fix:" in err


def test_a_candidate_with_an_unknown_system_is_refused(workbook, tmp_path, capsys):
    c, r = {"A": 1.0, "B": 2.0}, {"A": 10.0, "B": 20.0}
    path = workbook(linear_case(c, r, candidate_links=[{"from_system": "A", "to_system": "X"}]))
    err = _explore_fails(path, tmp_path / "out", capsys)
    assert '"X" is not on sheet systems' in err
    assert "Fix:" in err


def test_no_possible_candidate_is_refused(workbook, tmp_path, capsys):
    c, r = {"A": 1.0, "B": 2.0}, {"A": 10.0, "B": 20.0}
    path = workbook(linear_case(c, r, links=[{"from_system": "A", "to_system": "B"}]))
    err = _explore_fails(path, tmp_path / "out", capsys)
    assert "there is no candidate link" in err
    assert "Fix: add rows on sheet candidate_links" in err


def test_max_size_below_one_is_refused(workbook, tmp_path, capsys):
    path = workbook(linear_case({"A": 1.0, "B": 2.0}, {"A": 10.0, "B": 20.0}))
    err = _explore_fails(path, tmp_path / "out", capsys, "--max-size", "0")
    assert "--max-size 0 is below 1" in err
    assert "Fix:" in err


def test_max_size_limits_the_combinations(workbook):
    path = workbook(linear_case(C, R))
    out = etslink.explore(path, max_size=2)
    assert sorted(set(out.combinations["size"])) == [1, 2]
    assert len(out.combinations) == 6 + math.comb(6, 2)


def _x_extent(svg: str, gid: str) -> tuple[float, float]:
    """Return the horizontal extent [px] of the bar drawn with SVG id `gid`."""
    path = re.search(rf'<g id="{re.escape(gid)}">\s*<path d="([^"]*)"', svg)
    assert path, gid
    numbers = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", path.group(1))]
    xs = numbers[0::2]
    return min(xs), max(xs)


def test_gains_chart_stacks_gains_right_and_losses_left(four):
    """One bar per candidate, a segment per system, widths in proportion to the gains."""
    from etslink.outputs.report.charts import gains_by_candidate

    gains = {"A-B": {"A": 30.0, "B": 10.0}, "C-D": {"C": 20.0, "D": -10.0}}
    svg = gains_by_candidate(gains, four.data, "MEUR")
    a, b = _x_extent(svg, "gain-A-B-A"), _x_extent(svg, "gain-A-B-B")
    c, d = _x_extent(svg, "gain-C-D-C"), _x_extent(svg, "gain-C-D-D")
    px = (a[1] - a[0]) / 30.0  # pixels per MEUR
    assert a[0] == pytest.approx(c[0]) == pytest.approx(d[1])  # all meet at zero
    assert b[0] == pytest.approx(a[1])  # B's gain stacked after A's
    assert (b[1] - b[0], c[1] - c[0], d[1] - d[0]) == pytest.approx(
        (10 * px, 20 * px, 10 * px), rel=1e-3
    )
    assert 'id="gain-A-B-C"' not in svg  # no segment where a system does not move


def test_combinations_start_from_the_status_quo_whatever_was_solved_before(workbook):
    """An LP with banking, where a solve's start could change which optimum HiGHS returns:
    every combination starts from the status quo's basis, so any order gives the same rows."""
    years = (2030, 2031, 2032)
    systems = {"A": 30.0, "B": 10.0, "C": 25.0, "D": 5.0}
    tables = linear_case(dict.fromkeys(systems, 1.0), systems, years)
    tables["mac_linear"] = []
    tables["mac_steps"] = [
        {"system": s, "year": y, "option": o, "abatement_MtCO2e": 20.0, "cost_per_tCO2e": c * k}
        for k, s in enumerate(systems, start=1)
        for y in years
        for o, c in (("x", 5.0), ("y", 10.0), ("z", 20.0))
    ]
    tables["links"] = [{"from_system": "A", "to_system": "B"}]
    plan = plan_explore(workbook(tables), 2)
    combinations = [(plan.label(c), c) for c in plan.solvable]
    forward = ExploreSolver(plan.model)
    rows = {label: forward.solve(label, members) for label, members in combinations}
    backward = ExploreSolver(plan.model)
    for label, members in reversed(combinations):
        pd.testing.assert_frame_equal(backward.solve(label, members), rows[label])
    assert len(combinations) == 15
    assert set(pd.concat(rows.values())["status"]) == {"optimal"}
