"""One re-solvable case: a Pyomo model compiled to arrays and kept alive in HiGHS.

Pyomo states the model (formulation/); this module walks its expressions once with Pyomo's
quadratic walker (named expressions such as emissions are walked once and reused), hands
HiGHS the arrays, and keeps one highspy model per case. Every loop that solves a model more
than once (stage two, sweep draws, fixed points) changes numbers in place here and re-solves
warm from the last basis. Results are read back as arrays (`Solution`), not through Pyomo.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.tee import capture_output
from pyomo.core.expr.numvalue import native_numeric_types
from pyomo.core.expr.visitor import identify_mutable_parameters
from pyomo.repn.quadratic import QuadraticRepnVisitor
from pyomo.repn.standard_repn import generate_standard_repn
from pyomo.repn.util import VarRecorder

_PYOMO_LOG = logging.getLogger("pyomo")
_PYOMO_LOG.handlers = [logging.NullHandler()]  # Pyomo prints its warnings to stdout otherwise
"""Pyomo's messages go where the application sends its logs (the command: a log file)."""

INF = highspy.kHighsInf
Hessian = dict[tuple[int, int], float]
"""Entries of the objective's Hessian by (row, column) in the lower triangle."""

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


_VERDICTS = {
    highspy.HighsModelStatus.kOptimal,
    highspy.HighsModelStatus.kInfeasible,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kTimeLimit,
}
"""Statuses that answer the problem; after any other ("solve error", "not set", the QP's
iteration limit) the next option set of `solve`'s retries is tried, from a cold start."""

QP_ITERATIONS_PER_ROW_AND_COLUMN = 20
QP_ITERATIONS_MIN = 10_000
"""HiGHS's QP solver may cycle without end (ERGO-Code/HiGHS#1583, open), which would hold a
run until its time limit (an hour). Its iteration limit is set to 20 x (rows + columns), at
least 10,000: the QPs of the tests, the example and the benchmarks take 0.4-1.2 iterations
per column (measured: the example 399 of 356 columns, 40x30 2,751 of 4,970), so only a
cycling solve reaches it, and is retried with the next option set."""


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
class _Terms:
    """Sparse terms sum_k coef_k * x[col_k] (and x[col_k] * x[other_k]) grouped by entry."""

    entry: list[int] = field(default_factory=list)
    col: list[int] = field(default_factory=list)
    other: list[int] = field(default_factory=list)
    coef: list[float] = field(default_factory=list)

    def add(self, entry: int, col: int, coef: float, other: int = -1) -> None:
        """Add one term to entry `entry`."""
        self.entry.append(entry)
        self.col.append(col)
        self.other.append(other)
        self.coef.append(coef)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return (entry, col, other, coef) as numpy arrays."""
        return (
            np.array(self.entry, dtype=np.int64),
            np.array(self.col, dtype=np.int64),
            np.array(self.other, dtype=np.int64),
            np.array(self.coef, dtype=float),
        )


@dataclass
class _Form:
    """The entries of one Pyomo Expression component as constant + linear + quadratic terms."""

    keys: list[Any]
    constant: np.ndarray
    terms: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    mutable: bool

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Return every entry's value at the solution x."""
        entry, col, other, coef = self.terms
        factor = np.where(other >= 0, x[np.maximum(other, 0)], 1.0)
        weights = coef * x[col] * factor
        return self.constant + np.bincount(entry, weights, minlength=len(self.keys))


def _has_mutable_params(expr: Any) -> bool:
    return next(iter(identify_mutable_parameters(expr)), None) is not None


Basis = highspy.HighsBasis
"""HiGHS's basis of a solve (`Basis()` is an invalid one: start cold)."""


class _Params:
    """The values of a model's mutable Params as one vector, component by component."""

    def __init__(self, model: pyo.ConcreteModel) -> None:
        self.entries: list[Any] = []
        self.keys: dict[str, list[Any]] = {}
        self.slices: dict[str, slice] = {}
        self.components: dict[str, Any] = {}
        for param in model.component_objects(pyo.Param):
            if param.mutable:
                start = len(self.entries)
                self.keys[param.name] = list(param.keys())
                self.entries += [param[key] for key in self.keys[param.name]]
                self.slices[param.name] = slice(start, len(self.entries))
                self.components[param.name] = param
        self.position = {id(entry): i for i, entry in enumerate(self.entries)}
        self.name_of = np.empty(len(self.entries), dtype=object)
        for name, part in self.slices.items():
            self.name_of[part] = name
        self.values = np.zeros(len(self.entries))
        self.read()

    def read(self) -> None:
        """Take the values the Params hold now."""
        self.values = np.fromiter((e.value for e in self.entries), float, len(self.entries))

    def move(self, name: str, values: np.ndarray) -> None:
        """Set a Param's values (in the order of its keys), here and in Pyomo."""
        self.values[self.slices[name]] = values
        self.components[name].store_values(
            dict(zip(self.keys[name], values.tolist(), strict=True)), check=False
        )


class _Refreshable:
    """Numbers of the compiled model that mutable Params move, as affine maps of the Params.

    Each number is an expression of mutable Params; its coefficients are found once by moving
    each Param by 1 and 2 (exact for affine expressions). A number that is not affine in its
    Params is evaluated through Pyomo each time instead.
    """

    def __init__(self, positions: list[int], expressions: list[Any], params: _Params) -> None:
        self.positions = np.array(positions, dtype=np.int32)
        self._expressions = expressions
        entries, indices, coefs, constants, self._other = [], [], [], [], []
        for entry, expr in enumerate(expressions):
            terms = _affine_terms(expr)
            if terms is None:
                self._other.append(entry)
                constants.append(0.0)
                continue
            constant, linear = terms
            constants.append(constant)
            for param, coef in linear:
                entries.append(entry)
                indices.append(params.position[id(param)])
                coefs.append(coef)
        self._constant = np.array(constants, dtype=float)
        self._terms = (
            np.array(entries, dtype=np.int64),
            np.array(indices, dtype=np.int64),
            np.array(coefs, dtype=float),
        )
        other_params = (identify_mutable_parameters(expressions[e]) for e in self._other)
        self.names = frozenset(params.name_of[self._terms[1]]) | frozenset(
            params.name_of[params.position[id(q)]] for found in other_params for q in found
        )
        """The Params (by component name) that move these numbers."""

    def evaluate(self, p: np.ndarray) -> np.ndarray:
        """Return the numbers at the Params' values p (a `_Params` vector)."""
        entries, indices, coefs = self._terms
        values = self._constant + np.bincount(
            entries, coefs * p[indices], minlength=len(self._constant)
        )
        for entry in self._other:
            values[entry] = pyo.value(self._expressions[entry])
        return values


def _affine_terms(expr: Any) -> tuple[float, list[tuple[Any, float]]] | None:
    """Return (constant, [(param, coefficient)]) of an affine expression of mutable Params.

    None when the expression is not affine in them (checked at a second point).
    """
    if _number(expr):
        return (_finite(expr, INF), [])
    base = pyo.value(expr)
    linear = []
    for param in identify_mutable_parameters(expr):
        value = param.value
        param.set_value(value + 1.0)
        step = pyo.value(expr) - base
        param.set_value(value + 2.0)
        affine = abs(pyo.value(expr) - base - 2.0 * step) <= 1e-9 * (1.0 + abs(base))
        param.set_value(value)
        if not affine:
            return None
        linear.append((param, step))
    constant = base - sum(coef * param.value for param, coef in linear)
    return constant, linear


def _number(x: Any) -> bool:
    return x is None or type(x) in native_numeric_types


def _finite(x: float | None, default: float) -> float:
    return default if x is None else float(x)


def run_interruptibly(highs: highspy.Highs) -> None:
    """Run HiGHS in a worker thread so that Ctrl-C reaches Python while it solves.

    highspy releases the GIL while HiGHS runs, but a signal is only handled between Python
    byte codes, so a long `run()` in the main thread ignored Ctrl-C until it returned. The
    main thread now waits on an event and raises KeyboardInterrupt at once; the solver
    thread (a daemon) is abandoned with the process.
    """
    done = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            highs.run()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(error)
        finally:
            done.set()

    threading.Thread(target=work, daemon=True, name="highs").start()
    done.wait()
    if failure:
        raise failure[0]


class CompiledCase:
    """A Pyomo model as one highspy model: change numbers in place, re-solve warm, read back.

    The model's structure is fixed at construction; what may change later are the values of
    its mutable Params (`refresh`: the right-hand sides, coefficients, bounds and costs they
    move), row right-hand sides (`set_rhs`) and column bounds (`set_column_bounds`).
    `solution()` returns the numbers of the last solve.
    """

    def __init__(self, model: pyo.ConcreteModel, options: dict[str, Any]) -> None:
        self.model = model
        self.options = dict(options)
        self.columns: list[Any] = []
        self._column_of: dict[int, int] = {}
        self._new_walker()
        objective = next(model.component_data_objects(pyo.Objective, active=True))
        self.rows, self._matrix, lower, upper = self._compile_rows()
        self._lower_open, self._upper_open = lower == -INF, upper == INF
        self._lifted = np.zeros(len(self.rows), dtype=bool)
        self._rhs = np.where(self._upper_open, lower, upper)
        self._cost, self._hessian, self._offset = self._compile_objective(objective.expr)
        self.highs = _new_highs()
        self._pass(self._cost, self._offset, lower, upper)
        self._pass_hessian()
        self.row_positions = _positions(model, pyo.Constraint, self.rows)
        self.column_positions = _positions(model, pyo.Var, self.columns)
        self._forms: dict[str, _Form] = {}
        self._variable_columns: dict[str, tuple[list[Any], np.ndarray, list[int]]] = {}
        self._constraint_rows: dict[str, tuple[list[Any], np.ndarray]] = {}
        # a mutable Param without entries (a reserve's supply, when none) moves nothing
        self._mutable = any(p.mutable and len(p) for p in model.component_objects(pyo.Param))
        self._params = _Params(model)
        self._refreshable = self._parameter_entries(objective) if self._mutable else {}

    # -- compiling -------------------------------------------------------------------------

    def _new_walker(self) -> None:
        """Start a walker with an empty cache of named expressions (values of Params change)."""
        self._var_of: dict[int, Any] = {}
        self._walker = QuadraticRepnVisitor({}, var_recorder=VarRecorder(self._var_of, None))

    def _column(self, var_id: int) -> int:
        """Return the column of a variable met by the walker, numbering columns as met."""
        position = self._column_of.get(var_id)
        if position is None:
            position = self._column_of[var_id] = len(self.columns)
            self.columns.append(self._var_of[var_id])
        return position

    def _compile_rows(self) -> tuple[list[Any], _Terms, np.ndarray, np.ndarray]:
        """Return the active constraints with variables, their terms and their bounds."""
        rows: list[Any] = []
        lower: list[float] = []
        upper: list[float] = []
        terms = _Terms()
        for con in self.model.component_data_objects(pyo.Constraint, active=True):
            lb, body, ub = con.to_bounded_expression(evaluate_bounds=True)
            repn = self._walker.walk_expression(body)
            if repn.quadratic or repn.nonlinear is not None:
                msg = f"constraint {con.name} is not linear"
                raise ValueError(msg)
            if not repn.linear:
                continue
            for var_id, coef in repn.linear.items():
                terms.add(len(rows), self._column(var_id), float(coef))
            lower.append(-INF if lb is None else lb - repn.constant)
            upper.append(INF if ub is None else ub - repn.constant)
            rows.append(con)
        return rows, terms, np.array(lower, dtype=float), np.array(upper, dtype=float)

    def _compile_objective(self, expr: Any) -> tuple[np.ndarray, Hessian, float]:
        """Return the objective's linear costs, Hessian entries (lower triangle) and constant."""
        repn = self._walker.walk_expression(expr)
        linear = {self._column(i): float(c) for i, c in repn.linear.items()}
        hessian: dict[tuple[int, int], float] = {}
        for (i, j), coef in (repn.quadratic or {}).items():
            a, b = self._column(i), self._column(j)
            key = (max(a, b), min(a, b))
            hessian[key] = hessian.get(key, 0.0) + float(coef) * (2.0 if a == b else 1.0)
        cost = np.zeros(len(self.columns))
        for position, coef in linear.items():
            cost[position] += coef
        return cost, hessian, float(repn.constant)

    def _pass(self, cost: np.ndarray, offset: float, lower: np.ndarray, upper: np.ndarray) -> None:
        """Pass the LP part to HiGHS: costs, column bounds, the row matrix and row bounds."""
        n = len(self.columns)
        row, col, _, coef = self._matrix.arrays()
        order = np.lexsort((row, col))
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, len(lower)
        lp.offset_ = offset
        lp.col_cost_ = cost
        lp.col_lower_ = np.fromiter((_finite(v.lb, -INF) for v in self.columns), float, n)
        lp.col_upper_ = np.fromiter((_finite(v.ub, INF) for v in self.columns), float, n)
        lp.row_lower_, lp.row_upper_ = lower, upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.concatenate(([0], np.cumsum(np.bincount(col, minlength=n))))
        lp.a_matrix_.index_ = row[order]
        lp.a_matrix_.value_ = coef[order]
        self.highs.passModel(lp)
        self._rows_of = (row, col, coef)

    def _pass_hessian(self) -> None:
        """Pass the objective's quadratic part (none for an LP)."""
        if not self._hessian:
            return
        n = len(self.columns)
        entries = sorted(self._hessian.items(), key=lambda item: (item[0][1], item[0][0]))
        counts = np.bincount([col for (_, col), _ in entries], minlength=n)
        hessian = highspy.HighsHessian()
        hessian.dim_ = n
        hessian.format_ = highspy.HessianFormat.kTriangular
        hessian.start_ = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
        hessian.index_ = np.array([row for (row, _), _ in entries], dtype=np.int32)
        hessian.value_ = np.array([value for _, value in entries], dtype=float)
        self.highs.passHessian(hessian)

    def form(self, name: str) -> _Form:
        """Return the compiled form of an Expression component (compiled on first use)."""
        form = self._forms.get(name)
        if form is None:
            form = self._forms[name] = self._compile_form(getattr(self.model, name))
        return form

    def _compile_form(self, component: Any) -> _Form:
        keys: list[Any] = []
        constant: list[float] = []
        terms = _Terms()
        for key, data in component.items():
            repn = self._walker.walk_expression(data)  # named: cached if a row had it
            value = float(repn.constant)
            for var_id, coef in repn.linear.items():
                value += self._term(terms, len(keys), float(coef), var_id)
            for (i, j), coef in (repn.quadratic or {}).items():
                value += self._term(terms, len(keys), float(coef), i, j)
            keys.append(key)
            constant.append(value)
        mutable = self._mutable and any(
            _has_mutable_params(data.expr) for data in component.values()
        )
        return _Form(keys, np.array(constant, dtype=float), terms.arrays(), mutable)

    def _term(self, terms: _Terms, entry: int, coef: float, i: int, j: int | None = None) -> float:
        """Add a term of a form; return its value instead when a variable is in no row."""
        ids = [i] if j is None else [i, j]
        if any(k not in self._column_of for k in ids):
            return coef * float(np.prod([pyo.value(self._var_of[k]) or 0.0 for k in ids]))
        other = -1 if j is None else self._column_of[j]
        terms.add(entry, self._column_of[i], coef, other)
        return 0.0

    # -- mutable parameters ----------------------------------------------------------------

    def _parameter_entries(self, objective: Any) -> dict[str, _Refreshable]:
        """Return the row bounds, coefficients, column bounds and costs that mutable Params move.

        Found once, from Pyomo's expressions with the Params kept symbolic; `refresh`
        evaluates only these.
        """
        params = self._params
        lower, upper, columns = [], [], []
        for position, var in enumerate(self.columns):
            if not (_number(var.lower) and _number(var.upper)):
                columns.append(position)
                lower.append(var.lower if var.lower is not None else -INF)
                upper.append(var.upper if var.upper is not None else INF)
        return {
            **self._row_entries(),
            "lower": _Refreshable(columns, lower, params),
            "upper": _Refreshable(columns, upper, params),
            **self._objective_entries(objective),
        }

    def _row_entries(self) -> dict[str, _Refreshable]:
        """Return the right-hand sides and the matrix coefficients that mutable Params move.

        A coefficient is a Param's where a constraint multiplies a variable by one (the
        benchmark of an intensity standard, E18).
        """
        rhs, rows, coefficients, entries = [], [], [], []
        for position, con in enumerate(self.rows):
            repn = generate_standard_repn(con.body, compute_values=False, quadratic=False)
            bound = con.upper if con.upper is not None else con.lower
            if not (_number(repn.constant) and _number(bound)):
                rows.append(position)
                rhs.append(bound - repn.constant)
            for var, coef in zip(repn.linear_vars, repn.linear_coefs, strict=True):
                if not _number(coef):
                    entries.append((position, self._column_of[id(var)]))
                    coefficients.append(coef)
        return {
            "rhs": _Refreshable(rows, rhs, self._params),
            "matrix": _Refreshable(self._matrix_positions(entries), coefficients, self._params),
        }

    def _matrix_positions(self, entries: list[tuple[int, int]]) -> list[int]:
        """Return the position of each (row, column) among the matrix's entries (`_rows_of`).

        An entry that was 0 when compiled (the walker leaves it out) is added, as 0.
        """
        if not entries:
            return []
        row, col, coef = self._rows_of
        index = {pair: i for i, pair in enumerate(zip(row.tolist(), col.tolist(), strict=True))}
        missing = [pair for pair in dict.fromkeys(entries) if pair not in index]
        for pair in missing:
            index[pair] = len(index)
        if missing:
            self._rows_of = (
                np.append(row, [r for r, _ in missing]),
                np.append(col, [c for _, c in missing]),
                np.append(coef, np.zeros(len(missing))),
            )
        return [index[pair] for pair in entries]

    def _objective_entries(self, objective: Any) -> dict[str, _Refreshable]:
        """Return the costs, Hessian diagonal and constant that mutable Params move."""
        repn = generate_standard_repn(objective.expr, compute_values=False, quadratic=True)
        costs = [
            (self._column_of[id(v)], c)
            for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True)
            if not _number(c)
        ]
        squares = [
            (self._column_of[id(a)], c)
            for (a, b), c in zip(repn.quadratic_vars, repn.quadratic_coefs, strict=True)
            if not _number(c) and a is b
        ]
        offset = [] if _number(repn.constant) else [repn.constant]
        params = self._params
        return {
            "cost": _Refreshable([p for p, _ in costs], [c for _, c in costs], params),
            "square": _Refreshable([p for p, _ in squares], [c for _, c in squares], params),
            "offset": _Refreshable([0] * len(offset), offset, params),
        }

    def refresh(self) -> None:
        """Pass HiGHS the numbers that moved since the model's mutable Params were set."""
        if not self._refreshable:
            return
        self._params.read()
        self._pass_parameters(frozenset(self._params.slices))

    def move_parameters(self, values: Mapping[str, np.ndarray]) -> None:
        """Set mutable Params by arrays and pass HiGHS only the numbers they move.

        Args:
            values: Values of Param components by name, each in the order of its keys
                (`parameter_keys`) [the Param's unit].
        """
        for name, array in values.items():
            self._params.move(name, array)
        self._pass_parameters(frozenset(values))

    def parameter_keys(self, name: str) -> list[Any]:
        """Return the keys of a mutable Param component, in the order `move_parameters` takes."""
        return self._params.keys[name]

    def _pass_parameters(self, moved: frozenset[str]) -> None:
        """Pass HiGHS the numbers that the Params `moved` move; forget forms they changed."""
        p = self._params.values
        self._pass_rows(p, moved)
        lower, upper = self._refreshable["lower"], self._refreshable["upper"]
        if len(lower.positions) and (lower.names | upper.names) & moved:
            self.highs.changeColsBounds(
                len(lower.positions), lower.positions, lower.evaluate(p), upper.evaluate(p)
            )
        self._pass_objective(p, moved)
        for name in [name for name, form in self._forms.items() if form.mutable]:
            del self._forms[name]
        self._new_walker()  # its cache of named expressions holds the Params' old values

    def _pass_rows(self, p: np.ndarray, moved: frozenset[str]) -> None:
        """Pass HiGHS the right-hand sides and coefficients that the Params `moved` move."""
        rhs = self._refreshable["rhs"]
        if len(rhs.positions) and rhs.names & moved:
            self._set_rhs(rhs.positions, rhs.evaluate(p))
        matrix = self._refreshable["matrix"]
        if len(matrix.positions) and matrix.names & moved:
            row, col, coef = self._rows_of
            coef[matrix.positions] = matrix.evaluate(p)
            for i in matrix.positions.tolist():
                self.highs.changeCoeff(int(row[i]), int(col[i]), float(coef[i]))

    def _pass_objective(self, p: np.ndarray, moved: frozenset[str]) -> None:
        """Pass HiGHS the costs, Hessian diagonal and constant that the Params `moved` move."""
        cost = self._refreshable["cost"]
        if len(cost.positions) and cost.names & moved:
            self._cost[cost.positions] = cost.evaluate(p)
            self.highs.changeColsCost(
                len(cost.positions), cost.positions, self._cost[cost.positions]
            )
        square = self._refreshable["square"]
        if len(square.positions) and square.names & moved:
            for position, value in zip(square.positions, square.evaluate(p), strict=True):
                self._hessian[int(position), int(position)] = 2.0 * float(value)
            self._pass_hessian()
        offset = self._refreshable["offset"]
        if len(offset.positions) and offset.names & moved:
            self._offset = float(offset.evaluate(p)[0])
            self.highs.changeObjectiveOffset(self._offset)

    # -- changing numbers directly ---------------------------------------------------------

    def rhs(self, name: str) -> dict[Any, float]:
        """Return the right-hand side of each row of a constraint, by key [the row's unit]."""
        positions = self.row_positions.get(name, {})
        return {key: float(self._rhs[p]) for key, p in positions.items()}

    def set_rhs(self, name: str, rhs: Mapping[Any, float]) -> None:
        """Set the right-hand side of rows of a constraint, by key [the row's unit]."""
        positions = self.row_positions[name]
        index = np.array([positions[key] for key in rhs], dtype=np.int32)
        self._set_rhs(index, np.fromiter(rhs.values(), float, len(rhs)))

    def _set_rhs(self, index: np.ndarray, rhs: np.ndarray) -> None:
        """Set the right-hand side of rows (the bound of one-sided rows, both of equalities).

        Rows lifted by `lift_rows` stay lifted.
        """
        self._rhs[index] = rhs
        keep = ~self._lifted[index]
        index, rhs = index[keep], rhs[keep]
        lower = np.where(self._lower_open[index], -INF, rhs)
        upper = np.where(self._upper_open[index], INF, rhs)
        self.highs.changeRowsBounds(  # type: ignore[attr-defined]  # not in highspy's stubs
            len(index), index, lower, upper
        )

    def lift_rows(self, name: str, lifted: Mapping[Any, bool]) -> None:
        """Lift rows of a constraint (both sides open) or put them back, by key.

        A lifted row keeps its right-hand side, which `set_rhs` and `refresh` still move,
        for when it is put back.
        """
        positions = self.row_positions[name]
        index = np.array([positions[key] for key in lifted], dtype=np.int32)
        self._lifted[index] = np.fromiter(lifted.values(), bool, len(lifted))
        rhs = self._rhs[index]
        lower = np.where(self._lifted[index] | self._lower_open[index], -INF, rhs)
        upper = np.where(self._lifted[index] | self._upper_open[index], INF, rhs)
        self.highs.changeRowsBounds(  # type: ignore[attr-defined]  # not in highspy's stubs
            len(index), index, lower, upper
        )

    def constraint_rows(self, name: str) -> tuple[list[Any], np.ndarray]:
        """Return the keys of a constraint component's rows and their positions."""
        found = self._constraint_rows.get(name)
        if found is None:
            positions = self.row_positions.get(name, {})
            found = (list(positions), np.fromiter(positions.values(), np.int64, len(positions)))
            self._constraint_rows[name] = found
        return found

    def variable_columns(self, name: str) -> tuple[list[Any], np.ndarray, list[int]]:
        """Return a variable component's keys, their columns and which keys have none.

        A key without a column (a variable in no row) has column 0 here, to be replaced.
        """
        found = self._variable_columns.get(name)
        if found is None:
            positions = self.column_positions.get(name, {})
            keys = list(getattr(self.model, name).keys())
            columns = np.array([positions.get(key, -1) for key in keys], dtype=np.int64)
            loose = np.flatnonzero(columns < 0).tolist()
            found = self._variable_columns[name] = (keys, np.maximum(columns, 0), loose)
        return found

    def column_bounds(self, name: str) -> dict[Any, tuple[float, float]]:
        """Return (lower, upper) of each column of a variable component, by key."""
        lp = self.highs.getLp()
        positions = self.column_positions.get(name, {})
        return {key: (lp.col_lower_[p], lp.col_upper_[p]) for key, p in positions.items()}

    def objective_value(self, x: np.ndarray) -> float:
        """Return the objective at the solution x [the objective's unit]."""
        value = float(self._cost @ x) + self._offset
        for (i, j), h in self._hessian.items():
            value += (0.5 if i == j else 1.0) * h * x[i] * x[j]
        return value

    def set_column_bounds(self, name: str, bounds: Mapping[Any, tuple[float, float]]) -> None:
        """Set the bounds of columns of a variable component (None = open on that side)."""
        positions = self.column_positions.get(name, {})
        keys = [key for key in bounds if key in positions]
        index = np.array([positions[key] for key in keys], dtype=np.int32)
        lower = np.array([_finite(bounds[k][0], -INF) for k in keys], dtype=float)
        upper = np.array([_finite(bounds[k][1], INF) for k in keys], dtype=float)
        self.highs.changeColsBounds(len(index), index, lower, upper)

    # -- solving and reading ---------------------------------------------------------------

    def basis(self) -> Basis:
        """Return HiGHS's basis after the last solve (invalid after a QP: it keeps none)."""
        return self.highs.getBasis()

    def start_from(self, basis: Basis | None) -> None:
        """Start the next solve from `basis` (of this case's structure); without one, cold."""
        self.highs.clearSolver()
        if basis is not None and basis.valid:
            self.highs.setBasis(basis)

    def solve(self, time_limit_s: float, retries: Iterable[dict[str, Any]] = ()) -> Solve:
        """Solve from the last basis; without a verdict from HiGHS, retry with each option set."""
        start = time.perf_counter()
        for options in (self.options, *retries):
            used = {**self._qp_guard(), **options, "time_limit": float(time_limit_s)}
            self.highs.resetOptions()
            self.highs.setOptionValue("output_flag", False)
            for name, value in used.items():
                self.highs.setOptionValue(name, value)
            run_interruptibly(self.highs)
            status = self.highs.getModelStatus()
            if status in _VERDICTS:
                break
            self.highs.clearSolver()
        termination = STATUS.get(status, self.highs.modelStatusToString(status))
        objective = self.highs.getInfo().objective_function_value
        return Solve(termination, float(objective), time.perf_counter() - start, used)

    def _qp_guard(self) -> dict[str, int]:
        """Return the QP iteration limit that stops a cycling QP solve (none for an LP)."""
        if not self._hessian:
            return {}
        size = len(self.columns) + len(self.rows)
        return {
            "qp_iteration_limit": max(QP_ITERATIONS_MIN, QP_ITERATIONS_PER_ROW_AND_COLUMN * size)
        }

    def solution(self) -> Solution:
        """Return the numbers of the last solve."""
        solution = self.highs.getSolution()
        return Solution(
            self, np.array(solution.col_value, dtype=float), np.array(solution.row_dual)
        )


class Solution:
    """A solved case's numbers by component name.

    Values of variables and expressions, duals and slacks of constraints. Variable values may
    be replaced (`set_values`, as stage two does); expressions follow.
    """

    def __init__(self, case: CompiledCase, x: np.ndarray, duals: np.ndarray) -> None:
        self.case = case
        self.x = x
        self._duals = duals
        self._cache: dict[str, dict[Any, float]] = {}

    @property
    def model(self) -> pyo.ConcreteModel:
        """Return the Pyomo model (for its index sets)."""
        return self.case.model

    def values(self, name: str) -> dict[Any, float]:
        """Return the value of each entry of a Var or Expression component, by key."""
        if name not in self._cache:
            keys, values = self.array(name)
            self._cache[name] = dict(zip(keys, values.tolist(), strict=True))
        return self._cache[name]

    def array(self, name: str) -> tuple[list[Any], np.ndarray]:
        """Return the keys of a Var or Expression component and its values, in that order.

        The keys are in the same order at every solution of the compiled case; a variable in
        no row keeps its own (fixed) value, or 0.
        """
        component = getattr(self.case.model, name)
        if component.ctype is not pyo.Var:
            form = self.case.form(name)
            return form.keys, form.evaluate(self.x)
        keys, columns, loose = self.case.variable_columns(name)
        values = self.x[columns]
        for i in loose:
            values[i] = float(component[keys[i]].value or 0.0)
        return keys, values

    def set_values(self, name: str, values: Mapping[Any, float]) -> None:
        """Replace values of a variable component, by key (every expression follows)."""
        positions = self.case.column_positions.get(name, {})
        for key, value in values.items():
            if key in positions:
                self.x[positions[key]] = value
        self._cache.clear()

    @property
    def row_duals(self) -> np.ndarray:
        """Return every row's dual, in the compiled case's row order (HiGHS's sign)."""
        return self._duals

    def duals(self, name: str) -> dict[Any, float]:
        """Return the dual of each row of a constraint component, by key (HiGHS's sign)."""
        keys, rows = self.case.constraint_rows(name)
        return dict(zip(keys, self._duals[rows].tolist(), strict=True))

    def slacks(self, name: str) -> dict[Any, float]:
        """Return upper bound - activity of each `<=` row of a constraint component, by key."""
        row, col, coef = self.case._rows_of
        activity = np.bincount(row, coef * self.x[col], minlength=len(self.case.rows))
        upper = self.case.highs.getLp().row_upper_
        positions = self.case.row_positions.get(name, {})
        return {key: float(upper[p] - activity[p]) for key, p in positions.items()}


def _new_highs() -> highspy.Highs:
    """Return a new, silent highspy model (HiGHS prints its banner on the first)."""
    with capture_output(capture_fd=True):
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


def _positions(model: pyo.ConcreteModel, ctype: Any, items: list[Any]) -> dict[str, dict[Any, int]]:
    """Return {component name: {key: position}} of rows (constraints) or columns (variables)."""
    position_of = {id(item): position for position, item in enumerate(items)}
    positions = {}
    for component in model.component_objects(ctype):
        found = {key: position_of.get(id(data)) for key, data in component.items()}
        positions[component.name] = {k: p for k, p in found.items() if p is not None}
    return positions
