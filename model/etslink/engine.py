"""One re-solvable case: a Pyomo model compiled to matrices and kept alive in HiGHS.

Pyomo states the model (formulation/); this module hands it to HiGHS as arrays, with Pyomo's
standard-form compiler for the rows and its quadratic walker for the objective, and keeps one
highspy model per case. Every loop that solves a model more than once (stage two, sweep
draws, fixed points) changes numbers in place here and re-solves warm from the last basis.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.tee import capture_output
from pyomo.core.expr.numvalue import native_numeric_types
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
from pyomo.repn.quadratic import QuadraticRepnVisitor
from pyomo.repn.standard_repn import generate_standard_repn
from pyomo.repn.util import VarRecorder

INF = highspy.kHighsInf

STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasibleOrUnbounded",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
    highspy.HighsModelStatus.kTimeLimit: "maxTimeLimit",
    highspy.HighsModelStatus.kIterationLimit: "maxIterations",
    highspy.HighsModelStatus.kSolveError: "error",
}
"""HiGHS model status -> the termination words recorded in run.json (Pyomo's spelling)."""


@dataclass(frozen=True)
class Solve:
    """What one HiGHS run did: termination, objective [model units], wall time [s], options."""

    termination: str
    objective: float
    seconds: float
    options: dict[str, Any]

    @property
    def optimal(self) -> bool:
        """Return whether HiGHS proved optimality."""
        return self.termination == "optimal"


@dataclass
class _Entries:
    """Numbers of the compiled model that depend on mutable Params, with their expressions."""

    positions: np.ndarray
    expressions: list[Any]

    def evaluate(self) -> np.ndarray:
        """Return the expressions' current values."""
        return np.fromiter((pyo.value(e) for e in self.expressions), float, len(self.expressions))


def _number(x: Any) -> bool:
    return x is None or type(x) in native_numeric_types


class CompiledCase:
    """A Pyomo model as one highspy model: change numbers in place, re-solve warm, read back.

    The model's structure is fixed at construction; what may change later are the values of
    its mutable Params (`refresh`), row bounds and column bounds (`set_rhs`,
    `set_column_bounds`). Values and duals are read as arrays by component (`values`,
    `duals`) or loaded into the Pyomo model (`load`) for code that reads Pyomo components.
    """

    def __init__(self, model: pyo.ConcreteModel, options: dict[str, Any]) -> None:
        self.model = model
        self.options = dict(options)
        objective = next(model.component_data_objects(pyo.Objective, active=True))
        objective.deactivate()
        try:
            info = LinearStandardFormCompiler().write(model, mixed_form=True)
        finally:
            objective.activate()
        self.rows = [row for row, _ in info.rows]
        self.columns = list(info.columns)
        self._column_of = {id(v): i for i, v in enumerate(self.columns)}
        cost, hessian, offset = self._objective(objective.expr)
        self.highs = _new_highs()
        self._pass(info, cost, offset)
        self._hessian = hessian
        self._pass_hessian()
        self._row_positions = _positions(self.rows)
        self._column_positions = _positions(self.columns)
        self._refreshable = self._parameter_entries(objective) if _has_mutable_params(model) else {}

    # -- compiling -------------------------------------------------------------------------

    def _column(self, var: Any) -> int:
        """Return the column of a variable, adding one for a variable in no row."""
        position = self._column_of.get(id(var))
        if position is None:
            position = self._column_of[id(var)] = len(self.columns)
            self.columns.append(var)
        return position

    def _objective(self, expr: Any) -> tuple[np.ndarray, dict[tuple[int, int], float], float]:
        """Return the objective's linear costs, Hessian entries (lower triangle) and constant."""
        visitor = QuadraticRepnVisitor({}, var_recorder=VarRecorder({}, None))
        repn = visitor.walk_expression(expr)
        var_of = visitor.var_recorder.var_map
        linear = {self._column(var_of[i]): float(c) for i, c in repn.linear.items()}
        hessian: dict[tuple[int, int], float] = {}
        for (i, j), coef in (repn.quadratic or {}).items():
            a, b = self._column(var_of[i]), self._column(var_of[j])
            key = (max(a, b), min(a, b))
            hessian[key] = hessian.get(key, 0.0) + float(coef) * (2.0 if a == b else 1.0)
        cost = np.zeros(len(self.columns))
        for position, coef in linear.items():
            cost[position] += coef
        return cost, hessian, float(repn.constant)

    def _pass(self, info: Any, cost: np.ndarray, offset: float) -> None:
        """Pass the LP part to HiGHS: costs, column bounds, the row matrix and row bounds."""
        n = len(self.columns)
        a = info.A.tocsc()
        a.resize((a.shape[0], n))
        rhs = np.asarray(info.rhs, dtype=float)
        sense = np.fromiter((s for _, s in info.rows), int, len(info.rows))
        self._upper_open, self._lower_open = sense == -1, sense == 1
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, a.shape[0]
        lp.offset_ = offset
        lp.col_cost_ = cost
        lp.col_lower_, lp.col_upper_ = _bounds(self.columns)
        lp.row_lower_ = np.where(self._lower_open, -INF, rhs)
        lp.row_upper_ = np.where(self._upper_open, INF, rhs)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr
        lp.a_matrix_.index_ = a.indices
        lp.a_matrix_.value_ = a.data
        self.highs.passModel(lp)

    def _pass_hessian(self) -> None:
        """Pass the objective's quadratic part (none for an LP)."""
        if not self._hessian:
            return
        n = len(self.columns)
        entries = sorted(self._hessian.items(), key=lambda item: (item[0][1], item[0][0]))
        starts = np.zeros(n + 1, dtype=np.int32)
        for (_, col), _ in entries:
            starts[col + 1] += 1
        self.highs.passHessian(
            n,
            len(entries),
            highspy.HessianFormat.kTriangular,
            np.cumsum(starts).astype(np.int32),
            np.array([row for (row, _), _ in entries], dtype=np.int32),
            np.array([value for _, value in entries], dtype=float),
        )

    # -- mutable parameters ----------------------------------------------------------------

    def _parameter_entries(self, objective: Any) -> dict[str, _Entries]:
        """Return the row bounds, column bounds and costs that mutable Params move.

        Found once, from Pyomo's expressions with the Params kept symbolic; `refresh`
        evaluates only these.
        """
        rhs, rows = [], []
        for position, con in enumerate(self.rows):
            repn = generate_standard_repn(con.body, compute_values=False, quadratic=False)
            bound = con.upper if con.upper is not None else con.lower
            if not (_number(repn.constant) and _number(bound)):
                rows.append(position)
                rhs.append(bound - repn.constant)
            if not all(_number(c) for c in repn.linear_coefs):
                msg = f"row {con.name} has a coefficient that is a mutable Param"
                raise NotImplementedError(msg)
        lower, upper, columns = [], [], []
        for position, var in enumerate(self.columns):
            if not (_number(var.lower) and _number(var.upper)):
                columns.append(position)
                lower.append(var.lower if var.lower is not None else -INF)
                upper.append(var.upper if var.upper is not None else INF)
        repn = generate_standard_repn(objective.expr, compute_values=False, quadratic=True)
        costs = [
            (self._column(v), c)
            for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True)
            if not _number(c)
        ]
        squares = [
            (self._column(a), c)
            for (a, b), c in zip(repn.quadratic_vars, repn.quadratic_coefs, strict=True)
            if not _number(c) and a is b
        ]
        return {
            "rhs": _Entries(np.array(rows, dtype=np.int32), rhs),
            "lower": _Entries(np.array(columns, dtype=np.int32), lower),
            "upper": _Entries(np.array(columns, dtype=np.int32), upper),
            "cost": _Entries(
                np.array([p for p, _ in costs], dtype=np.int32), [c for _, c in costs]
            ),
            "square": _Entries(
                np.array([p for p, _ in squares], dtype=np.int32), [c for _, c in squares]
            ),
        }

    def refresh(self) -> None:
        """Pass HiGHS the numbers that changed since the model's mutable Params were set."""
        if not self._refreshable:
            return
        rhs = self._refreshable["rhs"]
        if len(rhs.positions):
            self._set_rhs(rhs.positions, rhs.evaluate())
        bounds = self._refreshable["lower"]
        if len(bounds.positions):
            self.highs.changeColsBounds(
                len(bounds.positions),
                bounds.positions,
                bounds.evaluate(),
                self._refreshable["upper"].evaluate(),
            )
        cost = self._refreshable["cost"]
        if len(cost.positions):
            self.highs.changeColsCost(len(cost.positions), cost.positions, cost.evaluate())
        square = self._refreshable["square"]
        if len(square.positions):
            for position, value in zip(square.positions, square.evaluate(), strict=True):
                self._hessian[int(position), int(position)] = 2.0 * float(value)
            self._pass_hessian()

    # -- changing numbers directly ---------------------------------------------------------

    def set_rhs(self, component: Any, upper: dict[Any, float]) -> None:
        """Set the right-hand side of rows of a constraint, by key [the row's unit]."""
        positions = self._row_positions[component.name]
        index = np.array([positions[key] for key in upper], dtype=np.int32)
        self._set_rhs(index, np.fromiter(upper.values(), float, len(upper)))

    def _set_rhs(self, index: np.ndarray, rhs: np.ndarray) -> None:
        """Set the right-hand side of rows (the bound of one-sided rows, both of equalities)."""
        lower = np.where(self._lower_open[index], -INF, rhs)
        upper = np.where(self._upper_open[index], INF, rhs)
        self.highs.changeRowsBounds(len(index), index, lower, upper)

    def set_column_bounds(self, component: Any, bounds: dict[Any, tuple[float, float]]) -> None:
        """Set the bounds of columns of a variable (None = unbounded on that side)."""
        positions = self._column_positions[component.name]
        keys = [key for key in bounds if key in positions]
        index = np.array([positions[key] for key in keys], dtype=np.int32)
        lower = np.array([_finite(bounds[k][0], -INF) for k in keys], dtype=float)
        upper = np.array([_finite(bounds[k][1], INF) for k in keys], dtype=float)
        self.highs.changeColsBounds(len(index), index, lower, upper)

    # -- solving and reading ---------------------------------------------------------------

    def solve(self, time_limit_s: float, retries: Iterable[dict[str, Any]] = ()) -> Solve:
        """Solve from the last basis; after a HiGHS "solve error", retry with each option set."""
        start = time.perf_counter()
        for options in (self.options, *retries):
            used = {**options, "time_limit": float(time_limit_s)}
            self.highs.resetOptions()
            self.highs.setOptionValue("output_flag", False)
            for name, value in used.items():
                self.highs.setOptionValue(name, value)
            self.highs.run()
            status = self.highs.getModelStatus()
            if status != highspy.HighsModelStatus.kSolveError:
                break
            self.highs.clearSolver()
        termination = STATUS.get(status, self.highs.modelStatusToString(status))
        objective = self.highs.getInfo().objective_function_value
        return Solve(termination, float(objective), time.perf_counter() - start, used)

    def values(self, component: Any) -> dict[Any, float]:
        """Return the solution's value of each column of a variable component, by key."""
        x = self.highs.getSolution().col_value
        return {key: x[p] for key, p in self._column_positions.get(component.name, {}).items()}

    def duals(self, component: Any) -> dict[Any, float]:
        """Return the dual of each row of a constraint component, by key (HiGHS's sign)."""
        y = self.highs.getSolution().row_dual
        return {key: y[p] for key, p in self._row_positions.get(component.name, {}).items()}

    def load(self) -> None:
        """Load primal values into the model's Vars and every row's dual into `model.dual`.

        Variables in no row keep their value, or take the bound nearest zero; constraints
        with no variable left get a dual of zero.
        """
        solution = self.highs.getSolution()
        with quiet_pyomo():
            for var, x in zip(self.columns, solution.col_value, strict=True):
                var.set_value(x, skip_validation=True)
        if not hasattr(self.model, "dual"):
            self.model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        self.model.dual.clear()
        self.model.dual.update(zip(self.rows, solution.row_dual, strict=True))
        for con in self.model.component_data_objects(pyo.Constraint, active=True):
            self.model.dual.setdefault(con, 0.0)
        for var in self.model.component_data_objects(pyo.Var):
            if var.value is None:
                var.set_value(min(max(0.0, var.lb or 0.0), var.ub if var.ub is not None else 0.0))


def _new_highs() -> highspy.Highs:
    """Return a new highspy model; HiGHS prints its banner on the first, to the terminal."""
    with capture_output(capture_fd=True):
        return highspy.Highs()


def _finite(x: float | None, default: float) -> float:
    return default if x is None else float(x)


def _bounds(columns: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return the columns' lower and upper bounds, infinite where a side is open."""
    lower = np.fromiter((_finite(v.lb, -INF) for v in columns), float, len(columns))
    upper = np.fromiter((_finite(v.ub, INF) for v in columns), float, len(columns))
    return lower, upper


def _positions(items: list[Any]) -> dict[str, dict[Any, int]]:
    """Return {component name: {key: position}} of rows or columns."""
    positions: dict[str, dict[Any, int]] = {}
    for position, item in enumerate(items):
        positions.setdefault(item.parent_component().name, {})[item.index()] = position
    return positions


def _has_mutable_params(model: pyo.ConcreteModel) -> bool:
    return any(p.mutable for p in model.component_objects(pyo.Param))


@contextlib.contextmanager
def quiet_pyomo() -> Iterator[None]:
    """Hide Pyomo's warnings (not errors) for the duration of the block.

    Values a hair outside their bounds are solver tolerance, not news for an analyst.
    """
    logger = logging.getLogger("pyomo.core")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
