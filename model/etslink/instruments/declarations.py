"""What the rest of the code needs to know about each model part, declared next to it.

Each instrument module declares one `Instrument`: its `add_*` function, its variables (with
their role in the two stages), its restrictions (tag, what the shadow price means, where the
restriction belongs in the results), the terms it adds to the allowance balance (E11) and to
the objective (E12), and the columns it contributes to the `balances` and `costs` sheets.
The balance, the objective, stage two (E14), the result tables, their documentation and the
tests loop over these declarations; no other module keeps a list of model names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import numpy as np

from etslink.core.checking import Checker, Tables
from etslink.core.data import ModelData, Rows
from etslink.core.sheet import Sheet

SystemYear = tuple[str, int]
LEVEL_TOLERANCE_MtCO2e = 1e-9
"""Quantities below this [MtCO2e] are solver noise and reported as 0."""


class Role(Enum):
    """What the second stage (E14) does with a variable."""

    DECIDED = "decided in stage one, fixed in stage two (it moves costs)"
    REDECIDED = "decided again in stage two: the smallest transfers among least-cost solutions"
    DIAGNOSIS = "only in the infeasibility diagnosis (E13)"


@dataclass(frozen=True)
class Variable:
    """A variable component of the model: its name, equation tag and role.

    `year_position` is where its keys hold the year (limited foresight fixes each year's
    decisions in turn).
    """

    name: str
    tag: str
    role: Role
    year_position: int = -1


class Values(Protocol):
    """A solved case's values of variables and expressions by component name."""

    def values(self, name: str) -> Mapping[Any, float]:
        """Return the value of each entry of a component, by key."""
        ...

    def slacks(self, name: str) -> Mapping[Any, float]:
        """Return how far each row of a constraint component is from binding."""
        ...


Located = tuple[str, str, int]
"""(system, counterpart, year) of a restriction row in `shadow_prices`."""


@dataclass(frozen=True)
class Restriction:
    """A constraint component whose shadow price the results report; its keys end in the year.

    Attributes:
        name: The constraint component's name.
        tag: Its equation tag in docs/formulation.md.
        meaning: One sentence: what its shadow price means [CUR per tCO2e].
        locate: (data, key) -> (system, counterpart, year) of a row.
        level: (solution, data, key) -> the restricted quantity [MtCO2e].
        always_reported: report every row, binding or not (e.g. a credit market's price).
        gap_words: How the report's headline names it where it keeps linked prices apart
            (e.g. "the transfer limit"); blank when it does not sit between two systems.
    """

    name: str
    tag: str
    meaning: str
    locate: Callable[[ModelData, Any], Located]
    level: Callable[[Values, ModelData, Any], float]
    always_reported: bool = False
    gap_words: str = ""


HeldRow = tuple[str, str, int, float, float]
"""(system, counterpart, year, level [MtCO2e], shadow price [CUR per tCO2e]) of a held price."""


@dataclass(frozen=True)
class Held:
    """A price held at a level set in the inputs: a floor, a ceiling, a border fee.

    No constraint carries it, so no dual: each row of `shadow_prices` it gives is found from
    the solution, with the held price as its shadow price.

    Attributes:
        restriction: Its name in `shadow_prices`.
        meaning: One sentence: what its shadow price means.
        rows: (solution, data, allowance price per system-year) -> the rows where it holds.
        variable: The variable whose use holds the price, if one does.
    """

    restriction: str
    meaning: str
    rows: Callable[[Values, ModelData, Mapping[SystemYear, float]], Iterable[HeldRow]]
    variable: str = ""


def holding(restriction: str, variable: str, meaning: str) -> Held:
    """Return the held price of a variable whose use holds the allowance price (floor, ceiling).

    Each system-year where the variable is positive is a row whose shadow price is the
    allowance price itself.
    """

    def rows(sol: Values, d: ModelData, prices: Mapping[SystemYear, float]) -> list[HeldRow]:
        used = sol.values(variable).items()
        return [(s, "", y, q, prices[s, y]) for (s, y), q in used if q > LEVEL_TOLERANCE_MtCO2e]

    return Held(restriction, meaning, rows, variable)


class Side(Enum):
    """Which side of the allowance balance (E11) a term is on."""

    OWED = "surrendered or set aside"
    AVAILABLE = "can be surrendered"


@dataclass(frozen=True)
class Term:
    """A quantity an instrument adds to each system-year's allowance balance (E11) [MtCO2e].

    Attributes:
        name: The model component, indexed by system-year (a Var, Expression or Param, or a
            plain mapping for an input that is not swept); 0 where it has no such key.
        side: Owed (left of E11) or available (right).
        expression: (model, data, system, year) -> the term, where it is not simply the
            component's entry (e.g. the bank carried in from the previous year).
    """

    name: str
    side: Side
    expression: Callable[[Any, ModelData, str, int], Any] | None = None

    def of(self, m: Any, d: ModelData, s: str, y: int) -> Any:
        """Return the term of system s in year y, as a Pyomo expression or a number."""
        if self.expression is not None:
            return self.expression(m, d, s, y)
        component = getattr(m, self.name)
        if isinstance(component, dict):
            return component.get((s, y), 0.0)
        return component[s, y] if (s, y) in component.index_set() else 0.0


Reader = Callable[[Values, ModelData], Mapping[SystemYear, float]]
"""(solution, data) -> a quantity by system-year."""


@dataclass(frozen=True)
class Solved:
    """A `Reader` of a model component's values by system-year, which names the component."""

    component: str

    def __call__(self, sol: Values, d: ModelData) -> Mapping[SystemYear, float]:
        """Return the component's values by key."""
        return sol.values(self.component)


def solved(name: str) -> Solved:
    """Return a reader of a model component's values by system-year."""
    return Solved(name)


def given(name: str) -> Reader:
    """Return a reader of an input by system-year (a `ModelData` field)."""
    return lambda sol, d: getattr(d, name)


@dataclass(frozen=True)
class BalanceColumn:
    """A column of the `balances` sheet: a quantity per system-year [MtCO2e].

    Attributes:
        name: The column name, with its unit.
        doc: What it is, for docs/workbook.md.
        read: (solution, data) -> its values by system-year (0 where absent).
    """

    name: str
    doc: str
    read: Reader


class Priced(Protocol):
    """A solved case's prices, which cost items need besides the solution."""

    @property
    def positions(self) -> Mapping[SystemYear, int]:
        """Return each system-year's position in the data's `system_years`."""
        ...

    @property
    def prices(self) -> np.ndarray:
        """Return the allowance price per system-year [CUR per tCO2e, money of the year]."""
        ...

    @property
    def offset_prices(self) -> Mapping[tuple[str, int], float]:
        """Return each credit market's price [CUR per tCO2e, money of the year]."""
        ...

    @property
    def shared(self) -> dict[str, Any]:
        """Return what an instrument's cost items of this solution compute once, by name."""
        ...


class Payee(Enum):
    """Who receives the money of a cost item; the `costs` sheet's columns go in this order."""

    ABATEMENT = "the system's own firms, abating"
    ABROAD = "other systems and credit markets"
    SUPPLY = "the system's own government, for extra allowances"
    FEES = "the system's own government, as border fees (paid and received: they cancel)"


@dataclass(frozen=True)
class CostItem:
    """A column of the `costs` sheet: a cost item per system-year [M CUR, money of the year].

    Attributes:
        name: The item, e.g. "abatement_cost" (the column is `abatement_cost_M<CUR>`).
        sign: +1 for money paid, -1 for money received, in the compliance cost.
        payee: Who receives it: the columns are grouped so, in the order of `Payee`.
        doc: What it is, for docs/workbook.md.
        value: (solution, data, prices) -> the item per system-year, in `system_years` order.
    """

    name: str
    sign: float
    payee: Payee
    doc: str
    value: Callable[[Values, ModelData, Priced], np.ndarray]


Check = Callable[[Checker, Tables], None]
"""A check of the typed records of every sheet: it flags (or warns of) problems by cell."""


@dataclass(frozen=True)
class Instrument:
    """One model part: its input sheets and their checks, how it is built, what it contributes.

    Attributes:
        name: A short name, e.g. "links".
        sheets: Its input sheets (inputs/schema.py gathers them: template, reading, docs).
        checks: Its checks across sheets, run once every sheet's cells are read; each flags
            errors with `Checker.flag` (the run stops).
        warnings: Its checks that only warn (`Checker.warn`), run when no check found an
            error.
        read: (typed rows) -> its `ModelData` fields by name, or None when it reads none.
        add: Adds its variables, expressions and restrictions to a model, or None when it
            adds nothing of its own (its terms name inputs).
        variables: Its variable components, with their role in the two stages.
        restrictions: Its constraint components whose shadow prices `shadow_prices` reports.
        held: Prices it holds at input levels (rows of `shadow_prices` without a dual).
        terms: What it adds to each system-year's allowance balance (E11), in order.
        objective: Its cost components in the objective (E12) [M CUR, money of the year the
            key ends in]; each is discounted and summed over its keys.
        columns: Its columns of the `balances` sheet.
        costs: Its columns of the `costs` sheet.
    """

    name: str
    add: Callable[[Any, ModelData], None] | None = None
    sheets: tuple[Sheet, ...] = ()
    checks: tuple[Check, ...] = ()
    warnings: tuple[Check, ...] = ()
    read: Callable[[Rows], Mapping[str, Any]] | None = None
    variables: tuple[Variable, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    held: tuple[Held, ...] = ()
    terms: tuple[Term, ...] = ()
    objective: tuple[str, ...] = ()
    columns: tuple[BalanceColumn, ...] = ()
    costs: tuple[CostItem, ...] = ()


def clean(x: float) -> float:
    """Return x, or 0.0 when it is solver noise (below LEVEL_TOLERANCE_MtCO2e)."""
    return 0.0 if abs(x) < LEVEL_TOLERANCE_MtCO2e else float(x)


def cleaned(values: Mapping[Any, float]) -> dict[Any, float]:
    """Return values by key with solver noise reported as 0 (`clean`)."""
    return {k: clean(x) for k, x in values.items()}


def cleaned_array(values: np.ndarray) -> np.ndarray:
    """Return values with solver noise reported as 0 (`clean`), entry by entry."""
    return np.where(np.abs(values) < LEVEL_TOLERANCE_MtCO2e, 0.0, values)


def by_system_year(d: ModelData, values: Mapping[SystemYear, float]) -> np.ndarray:
    """Return values by system-year as an array in `system_years` order (0 where absent)."""
    keys = d.system_years
    return np.fromiter((values.get(k, 0.0) for k in keys), float, len(keys))


def level(solution: Values, name: str, key: Any, sign: float = 1.0) -> float:
    """Return sign x the value of component `name` at `key`, 0 where it has no such key."""
    return sign * solution.values(name).get(key, 0.0)
