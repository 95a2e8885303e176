"""`etslink calibrate`: the free parameters of sheet `calibration` fitted to sheet `observed`.

Each trial scales the validated records as the calibrated workbook's cells are scaled
(inputs/calibration.py), rebuilds the model data, moves the compiled linked case's Params to
it and re-solves from the last basis (`solving.solve.Resolver`). Factors are fitted on their
logarithms by scipy's bounded least squares (trust region reflective, finite differences);
`foresight_years`, a whole number, by fitting the factors at every horizon from lower to
upper (one batch item each, on dask with --workers > 1) and keeping the best. The objective
is the weighted sum of squared log ratios model / observed for prices and of squared relative
differences for quantities (observed quantities of 0 are shown, not fitted).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etslink.core.data import ModelData, Observation
from etslink.core.values import SWEPT
from etslink.errors import InfeasibleError, InputError, Issue, SolverTroubleError, messages
from etslink.inputs.calibration import (
    FreeParameter,
    Tables,
    factors_of,
    free_parameters,
    scaled_tables,
)
from etslink.inputs.model_data import build_model_data
from etslink.inputs.validate import validate
from etslink.inputs.workbook import read_workbook
from etslink.outputs.fit import FAR, fit_rows, model_figures
from etslink.outputs.products import CalibrationResult
from etslink.outputs.results import Columns, extract_case
from etslink.outputs.runrecord import Timings, run_record, utc_stamp
from etslink.solving.solve import Resolver, solve_case
from etslink.solving.stages import DEFAULT_TIME_LIMIT_S, solver_version
from etslink.workflows.batch import Batch, run_batch

MOVES = {
    "mac_scale": ("mac_slope", "mac_intercept", "step_cost"),
    "baseline_scale": ("baseline",),
}
"""The sweep inputs (`values.SWEPT`) whose Params each factor moves."""
PRICE_FLOOR = 1e-3
"""A model price below this share of the observed one counts as this share (the log of a
price of 0 is not a number)."""
NO_SOLUTION_RESIDUAL = 10.0
"""Each observation's residual in a trial whose inputs admit no solution: far worse than
any solved trial near the observations, so the search turns back."""
DIFF_STEP = 1e-3
"""Relative step of the finite differences, on the logarithm of each factor: well above the
noise of HiGHS's duals (about 1e-5 relative)."""
MAX_TRIALS = 200
"""Solves per fit at most (one horizon)."""
ENDINGS = {
    0: f"it stopped after {MAX_TRIALS} solves, the most allowed, still improving",
    1: "no small change of the parameters improves the fit (a local optimum)",
    2: "the fit stopped improving (by less than 1e-8 relative)",
    3: "the parameters stopped moving (by less than 1e-8 relative)",
    4: "the fit and the parameters stopped moving",
}
"""How a search ended, by scipy's `least_squares` status, in words."""


@dataclass(frozen=True)
class Problem:
    """What every trial of a calibration shares (sent once to each dask worker).

    Attributes:
        tables: The validated records of the workbook.
        settings: Its settings.
        name: The scenario's default name (the workbook's file name).
        scales: The factors to fit, in sheet order.
        observations: The observations fitted (weight > 0; quantities of 0 left out).
        time_limit_s: HiGHS's time limit per solve [s].
    """

    tables: Tables
    settings: dict[str, Any]
    name: str
    scales: tuple[FreeParameter, ...]
    observations: tuple[Observation, ...]
    time_limit_s: float = DEFAULT_TIME_LIMIT_S

    def data(self, values: list[float], horizon: int | None | str = "as is") -> ModelData:
        """Return the model data with the factors at `values` and the horizon set.

        `horizon` "as is" keeps the workbook's `foresight_years`; None is perfect foresight.
        """
        settings = (
            self.settings if horizon == "as is" else self.settings | {"foresight_years": horizon}
        )
        tables = scaled_tables(self.tables, factors_of(list(self.scales), values))
        return build_model_data(tables, settings, self.name)

    def residuals(self, figures: dict[tuple[str, str, int], float]) -> np.ndarray:
        """Return each observation's weighted residual (log ratio for prices, else relative)."""
        out = np.empty(len(self.observations))
        for i, o in enumerate(self.observations):
            model = figures.get((o.quantity, o.system, o.year), 0.0)
            if o.quantity == "price":
                gap = math.log(max(model, PRICE_FLOOR * o.value) / o.value)
            else:
                gap = model / o.value - 1.0
            out[i] = math.sqrt(o.weight) * gap
        return out


class Trials:
    """The linked case of one horizon, re-solved warm for each set of factors.

    `progress`, if given, is called with a short message before each solve.
    """

    def __init__(
        self,
        problem: Problem,
        horizon: int | None | str,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.problem = problem
        self.horizon = horizon
        self.progress = progress
        start = [p.initial for p in problem.scales]
        moved = frozenset(
            name for p in problem.scales for swept in MOVES[p.parameter] for name in SWEPT[swept]
        )
        self.resolver = Resolver(problem.data(start, horizon), moved)
        self.count = 0

    def figures(self, values: list[float]) -> dict[tuple[str, str, int], float] | None:
        """Return the linked case's figures at the factors `values` (None: no solution)."""
        data = self.problem.data(values, self.horizon)
        self.count += 1
        if self.progress:
            self.progress(f"fitting: solve {self.count}")
        try:
            solution, outcome = self.resolver.solve("linked", data, self.problem.time_limit_s)
        except (InfeasibleError, SolverTroubleError):
            return None
        case = extract_case("linked", solution, data, outcome)
        return model_figures(case, Columns(data.currency).price)

    def residuals(self, logs: np.ndarray) -> np.ndarray:
        """Return the residuals at factors exp(`logs`) (scipy's function to fit)."""
        figures = self.figures([math.exp(x) for x in logs])
        if figures is None:
            return np.full(len(self.problem.observations), NO_SOLUTION_RESIDUAL)
        return self.problem.residuals(figures)


@dataclass
class Fitted:
    """The best factors at one horizon, and how the fit got there.

    Attributes:
        horizon: foresight_years of the fit ("as is": the workbook's).
        values: The fitted factors, in the order of `Problem.scales`.
        cost: The objective: the weighted sum of squared residuals.
        trials: Solves taken.
        message: How the search ended (scipy's words), or why it could not start.
        jacobian: d residual / d log factor at the end (observations x factors).
        residuals: The residuals at the end.
    """

    horizon: int | None | str
    values: list[float]
    cost: float
    trials: int
    message: str
    jacobian: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    residuals: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _log_bound(value: float | None, none: float) -> float:
    return none if value is None else (math.log(value) if value > 0 else -np.inf)


def fit_factors(
    problem: Problem,
    horizon: int | None | str,
    start: list[float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Fitted:
    """Return the factors that fit the observations best at one horizon.

    Args:
        problem: The calibration.
        horizon: foresight_years of every trial ("as is": the workbook's).
        start: Where the search starts (default: each parameter's `initial`).
        progress: Called with a short message before each solve.
    """
    from scipy.optimize import least_squares

    trials = Trials(problem, horizon, progress)
    values = start or [p.initial for p in problem.scales]
    if not problem.scales:
        residuals = trials.residuals(np.zeros(0))
        return Fitted(
            horizon, [], float(residuals @ residuals), 1, "nothing to fit", residuals=residuals
        )
    lower = [_log_bound(p.lower, -np.inf) for p in problem.scales]
    upper = [_log_bound(p.upper, np.inf) for p in problem.scales]
    found = least_squares(
        trials.residuals,
        np.clip(np.log(values), lower, upper),
        bounds=(lower, upper),
        method="trf",
        diff_step=DIFF_STEP,
        max_nfev=MAX_TRIALS,
    )
    return Fitted(
        horizon,
        [math.exp(x) for x in found.x],
        float(found.fun @ found.fun),
        trials.count,
        ENDINGS.get(found.status, str(found.message)),
        np.asarray(found.jac),
        np.asarray(found.fun),
    )


HORIZON_COLUMNS = ("foresight_years", "objective", "trials", "message")


def fit_horizons(problem: Problem, horizons: list[int]) -> pd.DataFrame:
    """Return a row per horizon: the objective of its best factors (a batch's solve)."""
    rows = []
    for horizon in horizons:
        fitted = fit_factors(problem, horizon)
        rows.append(
            {
                "foresight_years": horizon,
                "objective": fitted.cost,
                "trials": fitted.trials,
                "message": fitted.message,
                **{f"factor_{i}": v for i, v in enumerate(fitted.values)},
            }
        )
    return pd.DataFrame(rows)


@dataclass
class Plan:
    """A validated calibration: the problem, the horizons to try and the workbook's warnings."""

    workbook: Path
    problem: Problem
    parameters: list[FreeParameter]
    horizons: list[int]
    before: ModelData
    warnings: list[Issue]


def plan_calibration(workbook: Path, time_limit_s: float | None = None) -> Plan:
    """Read and validate a workbook for calibration.

    Raises:
        InputError: the workbook has problems, no calibration rows or no fitted observation,
            or is not an .xlsx file (the calibrated workbook is written as one).
    """
    if workbook.suffix.lower() != ".xlsx" and workbook.exists():
        raise InputError(
            [
                Issue(
                    "",
                    None,
                    "",
                    "",
                    f"etslink calibrate writes {workbook.name} again with the fitted values, "
                    "and writes .xlsx workbooks only",
                    "save the workbook as .xlsx (Excel) and calibrate that file",
                )
            ]
        )
    checked = validate(read_workbook(workbook))
    before = build_model_data(checked.tables, checked.settings, default_name=workbook.stem)
    parameters = free_parameters(checked.tables["calibration"], before.systems)
    observations = tuple(
        o for o in before.observations if o.weight > 0 and (o.quantity == "price" or o.value)
    )
    missing = []
    if not parameters:
        missing.append(
            Issue(
                "calibration",
                None,
                "",
                "",
                "there is nothing to fit",
                "add a sheet calibration with a row per free parameter (etslink template has one)",
            )
        )
    if not observations:
        missing.append(
            Issue(
                "observed",
                None,
                "",
                "",
                "there is nothing to fit to",
                "add rows with weight above 0 on sheet observed (within the model's years)",
            )
        )
    horizon_rows = [p for p in parameters if p.parameter == "foresight_years"]
    if horizon_rows and before.foresight_schedule:
        missing.append(
            Issue(
                "calibration",
                horizon_rows[0].row,
                "",
                "parameter",
                "the sheet foresight sets the horizons, so a fitted foresight_years would "
                "not apply where it does",
                "delete this row, or the sheet foresight to fit one horizon for all years",
            )
        )
    if missing:
        raise InputError(missing)
    horizons = (
        list(range(int(horizon_rows[0].lower or 1), int(horizon_rows[0].upper or 1) + 1))
        if horizon_rows
        else []
    )
    problem = Problem(
        checked.tables,
        checked.settings,
        workbook.stem,
        tuple(p for p in parameters if p.parameter != "foresight_years"),
        observations,
        time_limit_s or DEFAULT_TIME_LIMIT_S,
    )
    return Plan(workbook, problem, parameters, horizons, before, checked.warnings)


def _figures_as_is(problem: Problem) -> dict[tuple[str, str, int], float]:
    """Return the linked case's figures of the workbook as it stands.

    Raises:
        InfeasibleError: the workbook admits no solution (as `etslink run` says).
        SolverTroubleError: HiGHS stopped without an optimal solution.
    """
    data = problem.data([1.0] * len(problem.scales))
    solution, outcome = solve_case("linked", data, problem.time_limit_s)
    return model_figures(
        extract_case("linked", solution, data, outcome), Columns(data.currency).price
    )


def _best_horizon(
    plan: Plan, workers: int, scheduler: str | None, progress: Callable[[str], None]
) -> tuple[Fitted, pd.DataFrame]:
    """Fit the factors at every horizon (a batch); return the best, polished, and the table."""
    factors = [f"factor_{i}" for i in range(len(plan.problem.scales))]
    batch = Batch(
        "foresight_years",
        (*HORIZON_COLUMNS, *factors),
        plan.problem,
        fit_horizons,
        [(h, h) for h in plan.horizons],
    )
    with tempfile.TemporaryDirectory(prefix="etslink-calibrate-") as folder:
        rows = run_batch(
            batch,
            Path(folder) / "horizons",
            workers=workers,
            scheduler=scheduler,
            progress=lambda done, total: progress(f"fitting: {done} of {total} horizons done"),
        )
    rows = rows.sort_values("foresight_years", ignore_index=True)
    best = rows.loc[rows["objective"].idxmin()]
    fitted = fit_factors(
        plan.problem, int(best["foresight_years"]), [float(best[f]) for f in factors], progress
    )
    fitted.trials += int(rows["trials"].sum())
    return fitted, rows[list(HORIZON_COLUMNS)]


def pulls(problem: Problem, fitted: Fitted, share: float = 0.2) -> list[str]:
    """Return, per factor, the observations that pull it hardest in opposite directions.

    Observation i pulls log factor k by -J_ik r_i (its part of the objective's downhill
    direction). A factor pulled both ways by at least `share` of its strongest pull cannot
    satisfy both observations: where the fit stays far from them, that is why.
    """
    out: list[str] = []
    if fitted.jacobian.size == 0:
        return out
    pull = -fitted.jacobian * fitted.residuals[:, None]
    for k, parameter in enumerate(problem.scales):
        strongest = np.abs(pull[:, k]).max()
        up, down = int(pull[:, k].argmax()), int(pull[:, k].argmin())
        if strongest == 0 or min(pull[up, k], -pull[down, k]) < share * strongest:
            continue
        out.append(
            f"{parameter.parameter} of {parameter.target}: {_named(problem, up)} pulls it up, "
            f"{_named(problem, down)} pulls it down"
        )
    return out


def _named(problem: Problem, i: int) -> str:
    o = problem.observations[i]
    return f"{o.system}'s {o.quantity.replace('_', ' ')} {o.year}"


PARAMETER_COLUMNS = ("parameter", "target", "lower", "upper", "initial", "fitted")
"""Columns of calibration.xlsx's `parameters` sheet."""


def parameter_rows(plan: Plan, fitted: Fitted) -> pd.DataFrame:
    """Return a row per calibration row: its range, start and fitted value."""
    values = iter(fitted.values)
    rows = [
        (
            p.parameter,
            p.target,
            p.lower,
            p.upper,
            p.initial,
            fitted.horizon if p.parameter == "foresight_years" else next(values),
        )
        for p in plan.parameters
    ]
    return pd.DataFrame(rows, columns=list(PARAMETER_COLUMNS))


def calibrate(
    plan: Plan,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[str], None] | None = None,
    started: str | None = None,
    command: list[str] | None = None,
) -> CalibrationResult:
    """Fit the plan's parameters; return the fit before and after and the run record.

    Raises:
        InfeasibleError: the workbook as it stands admits no solution.
        SolverTroubleError: HiGHS stopped without an optimal solution on it.
    """
    started = started or utc_stamp()
    timings = Timings()
    start = time.perf_counter()
    problem = plan.problem
    before = _figures_as_is(problem)
    objective_before = float(np.sum(problem.residuals(before) ** 2))
    horizons = pd.DataFrame(columns=list(HORIZON_COLUMNS))
    say = progress or (lambda _message: None)
    if plan.horizons:
        fitted, horizons = _best_horizon(plan, workers, scheduler, say)
    else:
        fitted = fit_factors(problem, "as is", progress=say)
    after = Trials(problem, fitted.horizon).figures(fitted.values) or {}
    timings.stage("calibrate", start)
    factors = factors_of(list(problem.scales), fitted.values)
    settings = {} if fitted.horizon == "as is" else {"foresight_years": fitted.horizon}
    fit = fit_rows(plan.before, {"_before": before, "_after": after})
    record = run_record(plan.workbook, {}, timings.seconds, solver_version(), started, command)
    record["calibration"] = {
        "objective_before": objective_before,
        "objective_after": fitted.cost,
        "trials": fitted.trials,
        "message": fitted.message,
        "fitted": parameter_rows(plan, fitted).to_dict("records"),
        "pulls": pulls(problem, fitted),
        "far_after": int((fit["difference_after"].abs() > FAR).sum()),
    }
    return CalibrationResult(
        plan.workbook,
        plan.before,
        problem.tables,
        factors,
        settings,
        parameter_rows(plan, fitted),
        fit,
        horizons,
        {"before": before, "after": after},
        messages(plan.warnings),
        record,
    )
