"""What the rest of the code needs to know about each model part, declared next to it.

Each `add_*` module declares its variables (with their role in the two stages) and its
restrictions (tag, what the shadow price means, where the restriction belongs in the
results). Stage two (E14), the `shadow_prices` table and the tests loop over these
declarations; no other module keeps a list of model names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from etslink.inputs.data import ModelData


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
    """

    name: str
    tag: str
    meaning: str
    locate: Callable[[ModelData, Any], Located]
    level: Callable[[Values, ModelData, Any], float]
    always_reported: bool = False


@dataclass(frozen=True)
class Holding:
    """A variable whose use holds a price at a set level (a floor or a ceiling).

    Each system-year where the variable is positive is a `shadow_prices` row whose shadow
    price is the allowance price itself.
    """

    restriction: str
    variable: str
    meaning: str


def level(solution: Values, name: str, key: Any, sign: float = 1.0) -> float:
    """Return sign x the value of component `name` at `key`, 0 where it has no such key."""
    return sign * solution.values(name).get(key, 0.0)
