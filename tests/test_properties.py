"""Properties that hold for any inputs (hypothesis, few examples: each one solves a QP)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BASELINE, linear_case

pytestmark = pytest.mark.solve

SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Workbook-like numbers: slopes to 0.01 and requirements to 0.1 MtCO2e. Requirements of a few
# tonnes are test_tiny_requirements_solve's subject (HiGHS's QP solver needs a retry there).
slopes = st.integers(min_value=50, max_value=2000).map(lambda x: x / 100)
needs = st.integers(min_value=0, max_value=400).map(lambda x: x / 10)


@st.composite
def three_systems(draw: st.DrawFn) -> tuple[dict[str, float], dict[str, float], list[dict]]:
    names = ("A", "B", "C")
    c = {s: draw(slopes) for s in names}
    need = {s: draw(needs) for s in names}
    limit = draw(st.one_of(st.none(), st.floats(min_value=0.0, max_value=10.0)))
    links = [
        {"from_system": "A", "to_system": "B", "max_transfer_MtCO2e": limit},
        {"from_system": "C", "to_system": "B", "direction": "one-way"},
    ]
    return c, need, links


def _prices(out, case: str) -> dict[str, float]:
    table = out.table("prices")
    rows = table[table["case"] == case]
    return dict(zip(rows["system"], rows["price_EUR_per_tCO2e"], strict=True))


@SETTINGS
@given(three_systems())
def test_linking_never_costs_more_and_prices_are_non_negative(solve, systems):
    c, need, links = systems
    out = solve(linear_case(c, need, links=links))
    assert out.total_cost_pv("linked") <= out.total_cost_pv("autarky") * (1 + 1e-6) + 1e-6
    assert min(out.table("prices")["price_EUR_per_tCO2e"]) >= -1e-6


YEARS = (2030, 2031, 2032)


@st.composite
def banking_markets(draw: st.DrawFn) -> tuple[dict, dict[str, float]]:
    """Three linked systems over three years with banking, offsets, a floor and a ceiling.

    Returns the tables and each system's initial bank [MtCO2e].
    """
    c, need, links = draw(three_systems())
    tables = linear_case(
        c,
        need,
        years=YEARS,
        links=links,
        settings=[
            {"key": "currency", "value": "EUR"},
            {"key": "discount_rate", "value": draw(st.sampled_from([0.0, 0.05]))},
        ],
        offsets=[
            {"offset_type": "CDM", "year": 2031, "supply_MtCO2e": 5, "price_per_tCO2e": 3},
        ],
        offset_rules=[{"system": "A", "offset_type": "CDM", "max_MtCO2e": 4}],
    )
    initial = {}
    for row in tables["systems"]:
        row["banking"] = draw(st.sampled_from(["yes", "no"]))
        initial[row["system"]] = row["initial_bank_MtCO2e"] = draw(st.integers(0, 20))
    for row in tables["emissions"]:  # each year its own requirement
        row["cap_MtCO2e"] = BASELINE - draw(needs)
    floor = draw(st.integers(0, 60))
    tables["price_controls"] = [
        {
            "system": draw(st.sampled_from(("A", "B", "C"))),
            "year": draw(st.sampled_from(YEARS)),
            "floor_price_per_tCO2e": floor,
            "ceiling_price_per_tCO2e": floor + draw(st.integers(0, 100)),
            "ceiling_reserve_MtCO2e": draw(st.one_of(st.none(), st.integers(0, 10))),
        }
    ]
    return tables, initial


@SETTINGS
@given(banking_markets())
def test_every_balance_closes_from_the_balances_sheet(solve, market):
    """(E11) from the output columns alone: owed = available, the surplus being what expires.

    emissions + bank_end (banking, not the last year) + unsold_at_floor + surplus
      = cap + bank brought in (the previous bank_end, or the initial bank in the first year)
        + net_imports + offsets_used + ceiling_sales
    """
    tables, initial = market
    banks = {r["system"]: r["banking"] == "yes" for r in tables["systems"]}
    out = solve(tables)
    balances = out.table("balances").sort_values(["case", "system", "year"])
    assert len(balances) == 2 * len(tables["emissions"])
    for (_, system), rows in balances.groupby(["case", "system"]):
        bank_in = float(initial[system])
        for position, r in enumerate(rows.itertuples()):
            last = position == len(rows) - 1
            carried = r.bank_end_MtCO2e if banks[system] and not last else 0.0
            owed = r.emissions_MtCO2e + carried + r.unsold_at_floor_MtCO2e + r.surplus_MtCO2e
            available = (
                r.cap_MtCO2e
                + bank_in
                + r.net_imports_MtCO2e
                + r.offsets_used_MtCO2e
                + r.ceiling_sales_MtCO2e
            )
            assert owed == pytest.approx(available, abs=1e-6), (system, r.year)
            assert r.surplus_MtCO2e >= -1e-6
            if last:
                assert r.bank_end_MtCO2e == pytest.approx(r.surplus_MtCO2e, abs=1e-9)
            elif banks[system]:  # unused allowances stay in the bank until the last year
                assert r.surplus_MtCO2e == pytest.approx(0.0, abs=1e-6)
            else:
                assert r.bank_end_MtCO2e == 0.0  # nothing carried
            bank_in = carried


@SETTINGS
@given(three_systems())
def test_row_order_does_not_matter(solve, systems):
    c, need, links = systems
    tables = linear_case(c, need, links=links)
    reversed_tables = {name: list(reversed(rows)) for name, rows in tables.items()}
    first, second = solve(tables), solve(reversed_tables)
    for case in ("linked", "autarky"):
        a, b = _prices(first, case), _prices(second, case)
        for s in c:
            assert b[s] == pytest.approx(a[s], rel=1e-5, abs=1e-5)


@SETTINGS
@given(three_systems(), st.floats(min_value=0.1, max_value=10.0))
def test_scaling_quantities_and_slopes_leaves_prices(solve, systems, k):
    """Multiplying every Mt by k and every slope by 1/k leaves every price unchanged."""
    c, need, links = systems
    scaled_links = [
        {
            **link,
            "max_transfer_MtCO2e": None
            if link.get("max_transfer_MtCO2e") is None
            else k * link["max_transfer_MtCO2e"],
        }
        for link in links
    ]
    base = solve(linear_case(c, need, links=links))
    scaled = solve(
        linear_case(
            {s: x / k for s, x in c.items()},
            {s: k * x for s, x in need.items()},
            baseline=k * BASELINE,
            links=scaled_links,
        )
    )
    for case in ("linked", "autarky"):
        a, b = _prices(base, case), _prices(scaled, case)
        for s in c:
            assert b[s] == pytest.approx(a[s], rel=1e-4, abs=1e-4)
