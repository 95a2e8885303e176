"""Solving the cases of a run, and a sweep's draws, through the stack of `stack.py`.

Autarky is a warm re-solve of the linked case; a sweep's draws re-solve one compiled case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

import numpy as np

from etslink.core.data import Frozen, ModelData
from etslink.core.values import VALUES, swept_parameters
from etslink.errors import InfeasibleError, SolverTroubleError
from etslink.formulation import build_model
from etslink.inputs.uncertainty import perturbed, with_drawn_quantities
from etslink.solving.cases import Case
from etslink.solving.engine import CompiledCase, Solution
from etslink.solving.stack import Job, move_inputs, rolling, stack
from etslink.solving.stages import (
    DEFAULT_TIME_LIMIT_S,
    RETRY_OPTIONS,
    SolveOutcome,
    compile_case,
    diagnose_infeasibility,
)


def solve_case(
    case: str, data: ModelData, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> tuple[Solution, SolveOutcome]:
    """Build and solve one case; return its solution.

    Raises:
        InfeasibleError: the inputs admit no solution (names the short system-years).
        SolverTroubleError: HiGHS stopped for another reason (time limit, numerics).
    """
    return solve_compiled(case, compile_case(build_model(data)), data, time_limit_s)


def solve_cases(
    cases: Mapping[Case, ModelData],
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
) -> Iterator[tuple[Case, Solution, SolveOutcome]]:
    """Solve the linked case, then the second case as the same model with links switched off.

    The second case (autarky, or the counterfactual's links only) is the linked model with
    the other links' transfers held at zero by their bounds, re-solved warm from the linked
    basis: the same problem as building it without them, for the cost of one warm
    re-solve. Yields (case, solution, outcome) as each case is solved.
    """
    compiled = compile_case(build_model(cases["linked"]))
    solution, outcome = solve_compiled("linked", compiled, cases["linked"], time_limit_s, progress)
    yield "linked", solution, outcome
    kept = {link.name for link in cases["autarky"].links}
    transfers = [key for key in compiled.model.transfer_MtCO2e if key[0] not in kept]
    compiled.set_column_bounds("transfer_MtCO2e", dict.fromkeys(transfers, (0.0, 0.0)))
    solution, outcome = solve_compiled(
        "autarky", compiled, cases["autarky"], time_limit_s, progress
    )
    yield "autarky", solution, outcome


def solve_compiled(
    case: str,
    compiled: CompiledCase,
    data: ModelData,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
) -> tuple[Solution, SolveOutcome]:
    """Solve (or re-solve warm) a compiled case as its workbook asks (`stack.stack`).

    Raises:
        InfeasibleError: the inputs admit no solution (names the short system-years).
        SolverTroubleError: HiGHS stopped for another reason (time limit, numerics), or the
            reserve's operations found no fixed point.
    """
    return stack(data)(Job(case, compiled, data, time_limit_s, progress))


class DrawSolver:
    """One case's model compiled once and re-solved draw after draw.

    Each draw only moves the mutable parameters (the swept inputs), by arrays; HiGHS starts
    from the previous draw's basis. A reserve's fixed point and limited foresight's plans
    re-solve the same compiled case.
    """

    def __init__(self, data: ModelData) -> None:
        self.data = data
        self.model = build_model(data, mutable=swept_parameters(data))
        self.compiled = compile_case(self.model)
        self._order = {
            name: _positions_of(list(VALUES[name](data)), self.compiled.parameter_keys(name))
            for name in swept_parameters(data)
        }
        self._loops = bool(data.reserve_rules) or rolling(data)
        """Whether a draw is solved in loops (a reserve's fixed point, plans): the same for
        every draw, found once (per draw it took about 0.1 ms, 20 systems x 20 years)."""

    def solve(self, draw: int, values: Mapping[str, np.ndarray]) -> Solution | str:
        """Re-solve draw `draw` with its Params' values; return the solution.

        `values` are `uncertainty.DrawPlan.values`, each in the order of `parameters.VALUES`.
        Returns HiGHS's termination instead when it is not optimal.
        """
        self.compiled.move_parameters({name: values[name][o] for name, o in self._order.items()})
        if self._loops:
            return self._solve_loops(draw, self._drawn(draw, values))
        run = self.compiled.solve(DEFAULT_TIME_LIMIT_S, RETRY_OPTIONS)
        return self.compiled.solution() if run.optimal else run.termination

    def _drawn(self, draw: int, values: Mapping[str, np.ndarray]) -> ModelData:
        """Return the data of draw `draw`: the rules in force drawn, and those of each year.

        With rows announced later each plan moves the Params to the inputs known in its year,
        so those are drawn too, with the same random numbers (`perturbed`): a cap drawn 5%
        high is 5% high in every plan that sees it, whichever rule it sees.
        """
        drawn = with_drawn_quantities(self.data, values)
        if not self.data.vintages:
            return drawn
        known = {year: perturbed(rules, draw) for year, rules in self.data.vintages.items()}
        return replace(drawn, vintages=Frozen(known))

    def _solve_loops(self, draw: int, drawn: ModelData) -> Solution | str:
        """Solve a reserve's fixed point or limited foresight's plans; say why none, if so.

        An infeasible draw is diagnosed with every input drawn (`perturbed`).
        """
        try:
            return solve_compiled("drawn", self.compiled, drawn)[0]
        except InfeasibleError:
            full = perturbed(self.data, draw)
            return f"no solution: {InfeasibleError('drawn', diagnose_infeasibility(full))}"
        except SolverTroubleError as exc:
            return f"no solution: {exc}"


def _positions_of(keys: list[object], wanted: list[object]) -> np.ndarray:
    """Return the position in `keys` of each key of `wanted`."""
    position = {key: i for i, key in enumerate(keys)}
    return np.array([position[key] for key in wanted], dtype=np.int64)


class Resolver:
    """One case compiled once and re-solved warm for data that differs in some inputs only.

    The inputs named in `moved` (names of `values.VALUES`) are mutable Params; every other
    input must be the same in the data of each `solve`. A reserve's fixed point and limited
    foresight's plans run on the same compiled case (`stack.stack`).
    """

    def __init__(self, data: ModelData, moved: frozenset[str]) -> None:
        self.moved = frozenset(name for name in moved if VALUES[name](data))
        self.compiled = compile_case(build_model(data, mutable=self.moved))

    def solve(
        self, case: str, data: ModelData, time_limit_s: float = DEFAULT_TIME_LIMIT_S
    ) -> tuple[Solution, SolveOutcome]:
        """Move the Params to `data`'s values and re-solve from the last basis.

        Raises:
            InfeasibleError: the inputs admit no solution.
            SolverTroubleError: HiGHS stopped without an optimal solution.
        """
        move_inputs(self.compiled, data, self.moved)
        return solve_compiled(case, self.compiled, data, time_limit_s)
