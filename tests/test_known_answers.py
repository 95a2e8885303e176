"""Known answers: closed-form equilibria of linear MACs, derived in each test.

Systems have MAC_i(a) = c_i * a and must abate A_i = baseline - cap, so in autarky
p_i = c_i * A_i and, pooled by unrestricted links, p* = sum(A_i) / sum(1 / c_i).
"""

from __future__ import annotations

import pytest

from conftest import BASELINE, Tables, linear_case
from etslink.formulation import build_model
from etslink.outputs.report.story import group_stories
from etslink.solving.engine import QP_ITERATIONS_MIN, CompiledCase
from etslink.solving.stages import SOLVER_OPTIONS
from etslink.workflows.run import load_workbook

QP = 1e-5  # HiGHS QP duals are less exact than LP ones
LP = 1e-7

pytestmark = pytest.mark.solve


def test_two_way_link_equalises_prices(solve):
    c, need = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}
    pooled = sum(need.values()) / sum(1 / x for x in c.values())
    out = solve(linear_case(c, need, links=[{"from_system": "A", "to_system": "B"}]))
    for s in c:
        assert out.price("linked", s, 2030) == pytest.approx(pooled, rel=QP)
        assert out.price("autarky", s, 2030) == pytest.approx(c[s] * need[s], rel=QP)
    assert out.total_cost_pv("linked") < out.total_cost_pv("autarky")
    flows = out.table("transfers").set_index(["case", "from_system", "to_system"])
    exported = pooled / c["A"] - need["A"]  # A abates pooled / c_A and sells the surplus
    assert flows.loc[("linked", "A", "B"), "quantity_MtCO2e"] == pytest.approx(exported, rel=QP)


def test_chain_of_links_pools_all_systems(solve):
    c, need = {"A": 2.0, "B": 8.0, "C": 4.0}, {"A": 10.0, "B": 20.0, "C": 5.0}
    pooled = sum(need.values()) / sum(1 / x for x in c.values())
    links = [{"from_system": "A", "to_system": "B"}, {"from_system": "C", "to_system": "B"}]
    out = solve(linear_case(c, need, links=links))
    for s in c:
        assert out.price("linked", s, 2030) == pytest.approx(pooled, rel=QP)
    balances = out.table("balances")
    linked = balances[balances["case"] == "linked"]
    assert linked["net_imports_MtCO2e"].sum() == pytest.approx(0.0, abs=1e-6)


def test_one_way_link_converges_only_in_the_direction_that_pays(solve):
    c, need = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}
    pooled = sum(need.values()) / sum(1 / x for x in c.values())
    pays = solve(
        linear_case(c, need, links=[{"from_system": "A", "to_system": "B", "direction": "one-way"}])
    )
    assert pays.price("linked", "B", 2030) == pytest.approx(pooled, rel=QP)
    assert pays.price("linked", "A", 2030) == pytest.approx(pooled, rel=QP)

    idle = solve(
        linear_case(c, need, links=[{"from_system": "B", "to_system": "A", "direction": "one-way"}])
    )
    for s in c:
        assert idle.price("linked", s, 2030) == pytest.approx(c[s] * need[s], rel=QP)
    assert idle.table("transfers")["quantity_MtCO2e"].abs().max() < 1e-6


def test_binding_transfer_limit_leaves_a_gap_equal_to_its_dual(solve):
    c, need, limit = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, 2.0
    out = solve(
        linear_case(
            c, need, links=[{"from_system": "A", "to_system": "B", "max_transfer_MtCO2e": limit}]
        )
    )
    importer = c["B"] * (need["B"] - limit)  # B abates all but what it imports
    exporter = c["A"] * (need["A"] + limit)
    assert out.price("linked", "B", 2030) == pytest.approx(importer, rel=QP)
    assert out.price("linked", "A", 2030) == pytest.approx(exporter, rel=QP)
    shadow = out.table("shadow_prices").set_index("restriction")
    assert shadow.loc["transfer_limit", "shadow_price_EUR_per_tCO2e"] == pytest.approx(
        importer - exporter, rel=QP
    )
    assert shadow.loc["transfer_limit", "level_MtCO2e"] == pytest.approx(limit, rel=QP)


def test_reverse_limit_of_a_two_way_link_binds_the_other_way(solve):
    c, need, limit = {"A": 8.0, "B": 2.0}, {"A": 10.0, "B": 10.0}, 2.0  # B exports to A
    out = solve(
        linear_case(
            c, need, links=[{"from_system": "A", "to_system": "B", "max_transfer_MtCO2e": limit}]
        )
    )
    assert out.price("linked", "A", 2030) == pytest.approx(c["A"] * (need["A"] - limit), rel=QP)
    shadow = out.table("shadow_prices").set_index("restriction")
    gap = out.price("linked", "A", 2030) - out.price("linked", "B", 2030)
    assert shadow.loc["reverse_transfer_limit", "shadow_price_EUR_per_tCO2e"] == pytest.approx(
        gap, rel=QP
    )


def test_exchange_rate_scales_the_price(solve):
    """One allowance of A counts as r tonnes in B, so p_A = r * p_B when the link is used."""
    c, need, r = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, 2.0
    # B abates need_B - r*t, A abates need_A + t, and c_A (need_A + t) = r c_B (need_B - r t)
    t = (r * c["B"] * need["B"] - c["A"] * need["A"]) / (c["A"] + r**2 * c["B"])
    out = solve(
        linear_case(c, need, links=[{"from_system": "A", "to_system": "B", "exchange_rate": r}])
    )
    p_a, p_b = out.price("linked", "A", 2030), out.price("linked", "B", 2030)
    assert p_a == pytest.approx(r * p_b, rel=QP)
    assert p_a == pytest.approx(c["A"] * (need["A"] + t), rel=QP)
    flows = out.table("transfers").set_index(["case", "from_system", "to_system"])
    assert flows.loc[("linked", "A", "B"), "quantity_MtCO2e"] == pytest.approx(t, rel=QP)
    assert flows.loc[("linked", "A", "B"), "compliance_MtCO2e"] == pytest.approx(r * t, rel=QP)


def test_offsets_with_binding_share_limit(solve):
    """KKT: credits at price P are used up to share * emissions; the cap binds the rest.

    Abating one more tonne also lowers the credits allowed by share, so with mu = p - P
    (the limit's shadow price) the stationarity of abatement gives c*a = p - share*mu, i.e.
    p = (c*a - share*P) / (1 - share).
    """
    c, need, price, share = 8.0, 10.0, 20.0, 0.05
    free_use = need - price / c  # credits used if the share did not bind
    # share binds: a + share * (B - a) = need
    abated = (need - share * BASELINE) / (1 - share)
    assert free_use > share * (BASELINE - price / c)  # so the share limit does bind
    out = solve(
        linear_case(
            {"A": c},
            {"A": need},
            offsets=[
                {
                    "offset_type": "CDM",
                    "year": 2030,
                    "supply_MtCO2e": 1000,
                    "price_per_tCO2e": price,
                }
            ],
            offset_rules=[{"system": "A", "offset_type": "CDM", "max_share_of_emissions": share}],
        )
    )
    p = out.price("autarky", "A", 2030)
    assert p == pytest.approx((c * abated - share * price) / (1 - share), rel=QP)
    balances = out.table("balances").set_index("case")
    assert balances.loc["linked", "offsets_used_MtCO2e"] == pytest.approx(
        share * (BASELINE - abated), rel=QP
    )
    shadow = out.table("shadow_prices")
    limit = shadow[(shadow["case"] == "linked") & (shadow["restriction"] == "offset_share_limit")]
    assert limit["shadow_price_EUR_per_tCO2e"].iloc[0] == pytest.approx(p - price, rel=QP)


def test_offsets_without_binding_limit_set_the_price(solve):
    c, need, price = 8.0, 10.0, 20.0
    out = solve(
        linear_case(
            {"A": c},
            {"A": need},
            offsets=[
                {
                    "offset_type": "CDM",
                    "year": 2030,
                    "supply_MtCO2e": 1000,
                    "price_per_tCO2e": price,
                }
            ],
            offset_rules=[{"system": "A", "offset_type": "CDM"}],
        )
    )
    assert out.price("linked", "A", 2030) == pytest.approx(price, rel=QP)
    balances = out.table("balances").set_index("case")
    assert balances.loc["linked", "offsets_used_MtCO2e"] == pytest.approx(need - price / c, rel=QP)


def test_shared_scarce_offset_links_prices_indirectly(solve):
    """Both accept the same credit; its supply S is scarce, so p = (sum A - S) / sum(1/c)."""
    c, need, supply, ask = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, 15.0, 1.0
    pooled = (sum(need.values()) - supply) / sum(1 / x for x in c.values())
    assert pooled > ask
    assert all(need[s] - pooled / c[s] > 0 for s in c)  # both use credits at the margin
    out = solve(
        linear_case(
            c,
            need,
            offsets=[
                {
                    "offset_type": "CDM",
                    "year": 2030,
                    "supply_MtCO2e": supply,
                    "price_per_tCO2e": ask,
                }
            ],
            offset_rules=[{"system": s, "offset_type": "CDM"} for s in c],
        )
    )
    for s in c:
        assert out.price("autarky", s, 2030) == pytest.approx(pooled, rel=QP)
    market = out.cases["autarky"].offset_prices
    assert market["price_EUR_per_tCO2e"].iloc[0] == pytest.approx(pooled, rel=QP)


def test_banking_prices_rise_at_the_discount_rate(solve):
    c, rate, years = 2.0, 0.05, (2030, 2031, 2032)
    need_by_year = {2030: 0.0, 2031: 10.0, 2032: 20.0}
    growth = [(1 + rate) ** (y - years[0]) for y in years]
    first = sum(need_by_year.values()) / sum(g / c for g in growth)  # Hotelling path
    tables = linear_case(
        {"A": c}, {"A": 0.0}, years=years, settings=[{"key": "discount_rate", "value": rate}]
    )
    for row in tables["emissions"]:
        row["cap_MtCO2e"] = BASELINE - need_by_year[row["year"]]
    out = solve(tables)
    for y, g in zip(years, growth, strict=True):
        assert out.price("autarky", "A", y) == pytest.approx(first * g, rel=QP)
    banks = out.table("balances").set_index(["case", "year"])["bank_end_MtCO2e"]
    assert banks[("autarky", 2030)] == pytest.approx(first / c, rel=QP)
    assert banks[("autarky", 2031)] > 0


def test_unused_allowances_stay_in_the_bank_until_the_last_year(solve):
    """A surplus at a zero price is carried, not lost: the bank (TNAC) is the running sum."""
    years, surplus = (2030, 2031, 2032), {2030: 5.0, 2031: 3.0, 2032: 1.0}
    tables = linear_case({"A": 2.0}, {"A": 0.0}, years=years)
    for row in tables["emissions"]:
        row["cap_MtCO2e"] = BASELINE + surplus[row["year"]]
    tables["systems"][0]["initial_bank_MtCO2e"] = 2.0
    out = solve(tables)
    balances = out.table("balances").set_index(["case", "year"])
    held = 2.0
    for y in years:
        held += surplus[y]
        assert out.price("autarky", "A", y) == pytest.approx(0.0, abs=1e-9)
        assert balances.loc[("autarky", y), "bank_end_MtCO2e"] == pytest.approx(held, abs=1e-9)
        assert balances.loc[("autarky", y), "abatement_MtCO2e"] == pytest.approx(0.0, abs=1e-9)


def test_no_banking_makes_each_year_stand_alone(solve):
    c, years = 2.0, (2030, 2031)
    tables = linear_case({"A": c}, {"A": 10.0}, years=years)
    tables["systems"][0]["banking"] = "no"
    tables["emissions"][0]["cap_MtCO2e"] = BASELINE  # nothing to abate in 2030
    out = solve(tables)
    assert out.price("autarky", "A", 2030) == pytest.approx(0.0, abs=1e-6)
    assert out.price("autarky", "A", 2031) == pytest.approx(c * 10.0, rel=QP)


def test_borrowing_limit_binds_and_explains_the_gap(solve):
    c, years, limit = 2.0, (2030, 2031), 3.0
    tables = linear_case({"A": c}, {"A": 0.0}, years=years)
    tables["systems"][0]["borrowing_limit_MtCO2e"] = limit
    tables["emissions"][0]["cap_MtCO2e"] = BASELINE - 20.0  # tight now, loose later
    out = solve(tables)
    now, later = c * (20.0 - limit), c * limit  # borrow the limit, repay it next year
    assert out.price("autarky", "A", 2030) == pytest.approx(now, rel=QP)
    assert out.price("autarky", "A", 2031) == pytest.approx(later, rel=QP)
    shadow = out.table("shadow_prices")
    row = shadow[(shadow["case"] == "autarky") & (shadow["restriction"] == "borrowing_limit")]
    assert row["shadow_price_EUR_per_tCO2e"].iloc[0] == pytest.approx(now - later, rel=QP)


@pytest.mark.parametrize(("reserve", "expected"), [(None, 50.0), (2.0, 8.0 * (10.0 - 2.0))])
def test_ceiling_caps_the_price_until_the_reserve_runs_out(solve, reserve, expected):
    c, need, ceiling = 8.0, 10.0, 50.0  # autarky price c * need = 80 > ceiling
    out = solve(
        linear_case(
            {"A": c},
            {"A": need},
            price_controls=[
                {
                    "system": "A",
                    "year": 2030,
                    "ceiling_price_per_tCO2e": ceiling,
                    "ceiling_reserve_MtCO2e": reserve,
                }
            ],
        )
    )
    assert out.price("autarky", "A", 2030) == pytest.approx(expected, rel=QP)
    sold = out.table("balances").set_index("case").loc["autarky", "ceiling_sales_MtCO2e"]
    assert sold == pytest.approx(need - expected / c, rel=QP)
    if reserve is not None:
        shadow = out.table("shadow_prices").set_index(["case", "restriction"])
        assert shadow.loc[("autarky", "ceiling_reserve"), "shadow_price_EUR_per_tCO2e"] == (
            pytest.approx(expected - ceiling, rel=QP)
        )


@pytest.mark.parametrize(("floor", "expected"), [(30.0, 30.0), (10.0, 20.0)])
def test_floor_holds_the_price_only_when_the_market_is_below_it(solve, floor, expected):
    c, need = 2.0, 10.0  # market price c * need = 20
    out = solve(
        linear_case(
            {"A": c},
            {"A": need},
            price_controls=[{"system": "A", "year": 2030, "floor_price_per_tCO2e": floor}],
        )
    )
    assert out.price("autarky", "A", 2030) == pytest.approx(expected, rel=QP)
    unsold = out.table("balances").set_index("case").loc["autarky", "unsold_at_floor_MtCO2e"]
    assert unsold == pytest.approx(expected / c - need, abs=1e-5)


def test_stepwise_price_is_the_marginal_options_cost(solve):
    steps = [("cheap", 5.0, 10.0), ("middle", 5.0, 30.0), ("dear", 5.0, 50.0)]
    need = 7.0  # all of cheap and part of middle
    tables = linear_case({"A": 1.0}, {"A": need})
    del tables["mac_linear"]
    tables["mac_steps"] = [
        {"system": "A", "year": 2030, "option": o, "abatement_MtCO2e": q, "cost_per_tCO2e": p}
        for o, q, p in steps
    ]
    out = solve(tables)
    assert out.price("autarky", "A", 2030) == pytest.approx(30.0, rel=LP)
    expected_cost = 5.0 * 10.0 + (need - 5.0) * 30.0
    costs = out.table("costs").set_index("case")
    assert costs.loc["autarky", "abatement_cost_MEUR"] == pytest.approx(expected_cost, rel=LP)


def test_discounted_gains_match_the_pooled_closed_form(solve):
    """Gain from linking: the area between the two MACs, sum of c_i (A_i - a_i)^2 / 2."""
    c, need = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}
    pooled = sum(need.values()) / sum(1 / x for x in c.values())
    autarky = sum(c[s] * need[s] ** 2 / 2 for s in c)
    linked_abatement = sum(pooled**2 / (2 * c[s]) for s in c)
    out = solve(linear_case(c, need, links=[{"from_system": "A", "to_system": "B"}]))
    assert out.total_cost_pv("autarky") == pytest.approx(autarky, rel=QP)
    assert out.total_cost_pv("linked") == pytest.approx(linked_abatement, rel=QP)
    gains = out.gains.set_index("system")["gain_from_linking_pv_MEUR"]
    assert gains.sum() == pytest.approx(autarky - linked_abatement, rel=QP)
    assert (gains > 0).all()


@pytest.mark.parametrize("need", [1e-6, 1e-5, 6.1e-5])
def test_tiny_requirements_solve(solve, need):
    """HiGHS's QP solver rejects its own point on rows this small; solve.py retries scaled.

    1e-6 MtCO2e (one tonne) is the resolution the docs promise.
    """
    c = 4.0
    out = solve(linear_case({"A": c, "B": c}, {"A": need, "B": 0.0}))
    assert out.price("autarky", "A", 2030) == pytest.approx(c * need, abs=1e-8)
    assert out.cases["autarky"].outcome.termination == "optimal"


def test_no_trade_is_reported_when_none_is_needed(solve):
    """Twin systems with banking: many least-cost solutions trade; (E14) reports none."""
    c, years, rate = 2.0, (2030, 2031, 2032), 0.05
    tables = linear_case(
        {"A": c, "B": c},
        {"A": 10.0, "B": 10.0},
        years=years,
        links=[{"from_system": "A", "to_system": "B"}],
        settings=[{"key": "discount_rate", "value": rate}],
    )
    out = solve(tables)
    assert out.table("transfers")["quantity_MtCO2e"].abs().max() < 1e-7
    assert out.total_cost_pv("linked") == pytest.approx(out.total_cost_pv("autarky"), rel=QP)
    for y in years:
        assert out.price("linked", "A", y) == pytest.approx(out.price("autarky", "A", y), rel=QP)


def test_offset_limits_can_change_over_time(solve):
    """One rule row per period: a share limit of 5% in 2030, 20% in 2031."""
    c, need, price, shares = 8.0, 10.0, 20.0, {2030: 0.05, 2031: 0.20}
    tables = linear_case(
        {"A": c},
        {"A": need},
        years=(2030, 2031),
        offsets=[
            {"offset_type": "CDM", "year": y, "supply_MtCO2e": 1000, "price_per_tCO2e": price}
            for y in shares
        ],
        offset_rules=[
            {
                "system": "A",
                "offset_type": "CDM",
                "max_share_of_emissions": share,
                "first_year": y,
                "last_year": y,
            }
            for y, share in shares.items()
        ],
    )
    tables["systems"][0]["banking"] = "no"
    out = solve(tables)
    used = out.table("balances").set_index(["case", "year"])["offsets_used_MtCO2e"]
    abated_2030 = (need - shares[2030] * BASELINE) / (1 - shares[2030])  # share binds
    assert used["autarky", 2030] == pytest.approx(shares[2030] * (BASELINE - abated_2030), rel=QP)
    assert used["autarky", 2031] == pytest.approx(need - price / c, rel=QP)  # share slack
    assert out.price("autarky", "A", 2031) == pytest.approx(price, rel=QP)


def test_a_link_can_change_its_limit_over_time(solve):
    """Two rows for one pair, in different years: limited in 2030, free in 2031."""
    c, need, limit = {"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, 2.0
    pooled = sum(need.values()) / sum(1 / x for x in c.values())
    tables = linear_case(
        c,
        need,
        years=(2030, 2031),
        links=[
            {
                "from_system": "A",
                "to_system": "B",
                "max_transfer_MtCO2e": limit,
                "first_year": 2030,
                "last_year": 2030,
            },
            {"from_system": "A", "to_system": "B", "first_year": 2031},
        ],
    )
    for row in tables["systems"]:
        row["banking"] = "no"
    out = solve(tables)
    assert out.price("linked", "B", 2030) == pytest.approx(c["B"] * (need["B"] - limit), rel=QP)
    assert out.price("linked", "B", 2031) == pytest.approx(pooled, rel=QP)
    assert out.price("linked", "A", 2031) == pytest.approx(pooled, rel=QP)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(100.0, 12.0), (2.0, 2.0 * (10.0 - 2.0))],  # the trigger holds; the step runs out
)
def test_a_release_step_holds_the_price_at_its_trigger_until_it_runs_out(
    solve_data, quantity, expected
):
    c, need, trigger = 2.0, 10.0, 12.0  # autarky price c * need = 20 > trigger
    out = solve_data(linear_case({"A": c}, {"A": need}), [("A", 2030, trigger, quantity)])
    assert out.price("autarky", "A", 2030) == pytest.approx(expected, rel=QP)
    balances = out.table("balances").set_index("case")
    released = min(quantity, need - trigger / c)
    assert balances.loc["autarky", "supply_steps_MtCO2e"] == pytest.approx(released, rel=QP)
    costs = out.table("costs").set_index("case")
    assert costs.loc["autarky", "supply_step_purchases_MEUR"] == pytest.approx(
        released * trigger, rel=QP
    )


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(-100.0, 30.0), (-2.0, 2.0 * (10.0 + 2.0))],  # the trigger holds; all withheld
)
def test_a_withholding_step_holds_the_price_at_its_trigger_until_it_is_all_withheld(
    solve_data, quantity, expected
):
    c, need, trigger = 2.0, 10.0, 30.0  # autarky price 20 < trigger: allowances are withheld
    out = solve_data(linear_case({"A": c}, {"A": need}), [("A", 2030, trigger, quantity)])
    assert out.price("autarky", "A", 2030) == pytest.approx(expected, rel=QP)
    withheld = min(-quantity, trigger / c - need)
    balances = out.table("balances").set_index("case")
    assert balances.loc["autarky", "supply_steps_MtCO2e"] == pytest.approx(-withheld, rel=QP)


def test_a_step_whose_trigger_is_not_reached_does_nothing(solve_data):
    out = solve_data(linear_case({"A": 2.0}, {"A": 10.0}), [("A", 2030, 25.0, 5.0)])
    assert out.price("autarky", "A", 2030) == pytest.approx(20.0, rel=QP)
    balances = out.table("balances").set_index("case")
    assert balances.loc["autarky", "supply_steps_MtCO2e"] == pytest.approx(0.0, abs=1e-9)


def test_the_supply_steps_sheet_releases_at_the_trigger(solve):
    tables = linear_case({"A": 2.0}, {"A": 10.0})
    tables["supply_steps"] = [
        {"system": "A", "year": 2030, "trigger_price_per_tCO2e": 12.0, "quantity_MtCO2e": 100.0}
    ]
    out = solve(tables)
    assert out.price("autarky", "A", 2030) == pytest.approx(12.0, rel=QP)


@pytest.mark.parametrize(
    ("fee", "p_a", "p_b", "moved"), [(5.0, 31.0, 36.0, 5.5), (70.0, 20.0, 80.0, 0)]
)
def test_a_border_fee_is_the_price_wedge_while_the_link_is_used(solve, fee, p_a, p_b, moved):
    # c_A = 2, c_B = 8, each must abate 10. Used link: p_B = p_A + fee and
    # p_A / 2 + (p_A + 5) / 8 = 20 -> p_A = 31; a fee above the autarky gap (60) stops trade.
    link = {"from_system": "A", "to_system": "B", "transfer_fee_per_tCO2e": fee}
    out = solve(linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, links=[link]))
    assert out.price("linked", "A", 2030) == pytest.approx(p_a, rel=QP)
    assert out.price("linked", "B", 2030) == pytest.approx(p_b, rel=QP)
    flows = out.table("transfers").set_index(["case", "from_system", "to_system"])
    assert flows.loc[("linked", "A", "B"), "quantity_MtCO2e"] == pytest.approx(moved, abs=1e-6)
    costs = out.table("costs").set_index(["case", "system"])
    paid = costs.loc[("linked", "B"), "transfer_fees_paid_MEUR"]
    assert paid == pytest.approx(fee * moved, abs=1e-6)
    assert costs.loc[("linked", "B"), "transfer_fee_revenue_MEUR"] == pytest.approx(paid)
    if moved:
        shadow = out.table("shadow_prices").set_index("restriction")
        assert shadow.loc["transfer_fee", "shadow_price_EUR_per_tCO2e"] == pytest.approx(fee)
        (story,) = group_stories(out)  # the report's headline says why prices differ
        assert (
            f"a border fee of {fee:.2f} EUR per tCO2e on allowances from A to B "
            f"({moved:.2f} MtCO2e moved)" in story.reasons[0]
        )


def test_a_limit_as_a_share_of_the_importers_cap_holds_prices_apart(solve):
    # Pooled, B would import 6 (p = 32); B's cap is 90, so 5% lets in 4.5:
    # p_A = 2 (10 + 4.5) = 29, p_B = 8 (10 - 4.5) = 44, and the limit's shadow price is 15.
    link = {"from_system": "A", "to_system": "B", "max_transfer_share_of_cap": 0.05}
    out = solve(linear_case({"A": 2.0, "B": 8.0}, {"A": 10.0, "B": 10.0}, links=[link]))
    assert out.price("linked", "A", 2030) == pytest.approx(29.0, rel=QP)
    assert out.price("linked", "B", 2030) == pytest.approx(44.0, rel=QP)
    shadow = out.table("shadow_prices").set_index(["case", "restriction"])
    row = shadow.loc[("linked", "transfer_share_limit")]
    assert row["shadow_price_EUR_per_tCO2e"] == pytest.approx(15.0, rel=QP)
    assert row["level_MtCO2e"] == pytest.approx(4.5, rel=QP)
    (story,) = group_stories(out)  # the report's headline says why prices differ
    assert story.reasons[0] == (
        "the share-of-cap limit from A to B binds at 4.50 MtCO2e; one more allowance "
        "through it is worth 15.00 EUR per tCO2e"
    )


def _banking_towards_a_short_year(timing: str) -> Tables:
    """A (cheap, needs nothing) linked to B (short 30 Mt in 2032 only), both banking."""
    tables = linear_case(
        {"A": 1.0, "B": 4.0},
        {"A": 0.0, "B": 0.0},
        years=(2030, 2031, 2032),
        links=[{"from_system": "A", "to_system": "B"}],
        settings=[
            {"key": "discount_rate", "value": 0.05},
            {"key": "transfer_timing", "value": timing},
        ],
    )
    short = next(r for r in tables["emissions"] if r["system"] == "B" and r["year"] == 2032)
    short["cap_MtCO2e"] -= 30.0
    return tables


def test_allowances_cross_the_border_as_early_as_the_plan_allows(solve):
    """(E14) Among transfers of the same total, the earliest: the seller's bank stays empty.

    B is short only in 2032; both bank towards it, and A's surplus could wait in A's bank or
    move to B's at once at the same cost. The convention moves it at once, each year's
    transfer being A's abatement that year (A needs none itself).
    """
    out = solve(_banking_towards_a_short_year("earliest"))
    balances = out.table("balances").set_index(["case", "system", "year"])
    flows = out.table("transfers").set_index(["case", "from_system", "year"])
    for y in (2030, 2031, 2032):
        assert balances.loc[("linked", "A", y), "bank_end_MtCO2e"] == pytest.approx(0, abs=1e-7)
        assert flows.loc[("linked", "A", y), "quantity_MtCO2e"] == pytest.approx(
            balances.loc[("linked", "A", y), "abatement_MtCO2e"], rel=QP
        )
    assert balances.loc[("linked", "B", 2030), "bank_end_MtCO2e"] > 1.0


def test_transfer_timing_latest_keeps_each_bank_at_home(solve):
    """With transfer_timing = latest, A banks its own surplus and it moves in 2032; prices
    and the present value of costs are those of the earliest timing."""
    earliest = solve(_banking_towards_a_short_year("earliest"))
    latest = solve(_banking_towards_a_short_year("latest"))
    balances = latest.table("balances").set_index(["case", "system", "year"])
    flows = latest.table("transfers").set_index(["case", "from_system", "year"])
    abated = [balances.loc[("linked", "A", y), "abatement_MtCO2e"] for y in (2030, 2031, 2032)]
    assert flows.loc[("linked", "A", 2030), "quantity_MtCO2e"] == pytest.approx(0, abs=1e-7)
    assert flows.loc[("linked", "A", 2031), "quantity_MtCO2e"] == pytest.approx(0, abs=1e-7)
    assert flows.loc[("linked", "A", 2032), "quantity_MtCO2e"] == pytest.approx(sum(abated))
    assert balances.loc[("linked", "A", 2031), "bank_end_MtCO2e"] == pytest.approx(sum(abated[:2]))
    for y in (2030, 2031, 2032):
        assert latest.price("linked", "B", y) == pytest.approx(
            earliest.price("linked", "B", y), rel=QP
        )
    assert latest.total_cost_pv("linked") == pytest.approx(earliest.total_cost_pv("linked"))


def test_a_qp_solve_stopped_by_its_iteration_limit_is_retried(workbook):
    """A cycling QP solve (HiGHS#1583) ends at the iteration limit and is retried cold."""
    costs = {s: 1.0 + i for i, s in enumerate("ABCDEF")}
    tables = linear_case(costs, {s: 2.0 * c for s, c in costs.items()}, years=(2030, 2031, 2032))
    data, _ = load_workbook(workbook(tables))
    stuck = {**SOLVER_OPTIONS, "qp_iteration_limit": 1}
    alone = CompiledCase(build_model(data), stuck).solve(60.0)
    assert alone.termination == "maxIterations"
    case = CompiledCase(build_model(data), stuck)
    retried = case.solve(60.0, retries=(SOLVER_OPTIONS,))
    assert retried.optimal
    assert retried.options["qp_iteration_limit"] == QP_ITERATIONS_MIN
    plain = CompiledCase(build_model(data), SOLVER_OPTIONS)
    assert plain.solve(60.0).optimal
    expected = plain.solution().duals("compliance")
    assert case.solution().duals("compliance") == pytest.approx(expected, rel=1e-9)
