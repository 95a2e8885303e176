"""Every model part is declared once, next to its add_* function, with what others need."""

from __future__ import annotations

from dataclasses import fields

import pyomo.environ as pyo
import pytest

from conftest import EXAMPLE
from etslink.core.data import ModelData, Rows
from etslink.formulation import HELD, INSTRUMENTS, RESTRICTIONS, TERMS, VARIABLES, build_model
from etslink.formulation.compliance import PRICE_ROWS
from etslink.inputs.validate import validate
from etslink.inputs.workbook import read_workbook
from etslink.workflows.run import load_workbook

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def example_model() -> pyo.ConcreteModel:
    data, _ = load_workbook(EXAMPLE)
    return build_model(data, shortfall_penalty_per_tCO2e=1e6)


def test_every_variable_has_a_role(example_model):
    built = {v.name for v in example_model.component_objects(pyo.Var)}
    declared = [v.name for v in VARIABLES]
    assert len(declared) == len(set(declared))
    assert built == set(declared), "declare each Var with its Role next to its add_* function"


def test_every_constraint_is_a_declared_restriction_or_the_price_row(example_model):
    built = {c.name for c in example_model.component_objects(pyo.Constraint)}
    declared = [r.name for r in RESTRICTIONS]
    assert len(declared) == len(set(declared))
    assert built == {*declared, PRICE_ROWS}


def test_held_prices_name_declared_variables():
    assert {h.variable for h in HELD if h.variable} <= {v.name for v in VARIABLES}


def test_every_balance_term_names_a_model_part(example_model):
    for term in TERMS:
        if term.expression is None:
            assert hasattr(example_model, term.name), term.name


def test_instruments_have_unique_names_and_output_columns():
    names = [i.name for i in INSTRUMENTS]
    columns = [c.name for i in INSTRUMENTS for c in i.columns]
    costs = [c.name for i in INSTRUMENTS for c in i.costs]
    assert len(names) == len(set(names))
    assert len(columns) == len(set(columns))
    assert len(costs) == len(set(costs))


def test_tags_are_unique():
    tags = [v.tag for v in VARIABLES] + [r.tag for r in RESTRICTIONS]
    assert len(tags) == len(set(tags))


def test_every_uncertain_parameter_of_the_schema_moves_model_inputs():
    from etslink.core.values import INDEX, SWEPT
    from etslink.inputs.schema import UNCERTAIN_PARAMETERS

    assert set(SWEPT) == set(UNCERTAIN_PARAMETERS)
    assert {name for names in SWEPT.values() for name in names} <= set(INDEX)


def test_each_instrument_reads_its_own_model_data_fields():
    """The instruments' `read` share out their ModelData fields: each read by one instrument,
    and together they give the shipped example's data (rules in force)."""
    checked = validate(read_workbook(EXAMPLE))
    data, _ = load_workbook(EXAMPLE)
    years_of = {s: set(data.years_of(s)) for s in data.systems}
    rows = Rows(checked.tables, years_of, data.baseline_MtCO2e, None)
    read = [(name, value) for i in INSTRUMENTS if i.read for name, value in i.read(rows).items()]
    names = [name for name, _ in read]
    assert len(names) == len(set(names)), "two instruments read the same field"
    assert set(names) <= {f.name for f in fields(ModelData)}
    assert {"links", "reserve_rules", "mac_linear", "intensity"} <= set(names)
    for name, value in read:
        assert getattr(data, name) == value, name
