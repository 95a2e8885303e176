"""Sweeps: the linked and autarky cases solved for every draw of the uncertainty sheet.

`plan_sweep`, `solve_sweep` and `write_sweep` (outputs/products.py) are what both `etslink
sweep` and `etslink.sweep` do. Each dask worker builds the two models once, keeps a
persistent HiGHS instance per model, and for each draw only moves the mutable parameters, by
arrays drawn once for both cases (`uncertainty.DrawPlan`), and re-solves (warm). Draw i
depends on the base seed and i alone (uncertainty.py), so results do not depend on the
number of workers or the order in which draws finish.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from etslink.core.data import ModelData
from etslink.errors import InfeasibleError, Issue, messages, reject
from etslink.inputs.uncertainty import DrawPlan, perturbed
from etslink.outputs.columns import EMISSIONS_CHANGE, Columns
from etslink.outputs.products import SweepResult
from etslink.outputs.results import DrawReader, draw_results
from etslink.outputs.runrecord import run_record
from etslink.solving.cases import Case, case_data
from etslink.solving.solve import DrawSolver
from etslink.solving.stages import solver_version
from etslink.workflows.batch import Batch, run_batch


@dataclass
class CaseSolver:
    """One case's data, its draw solver and the reader of its draws' rows."""

    case: str
    data: ModelData
    solver: DrawSolver = field(init=False)
    reader: DrawReader = field(init=False)

    def __post_init__(self) -> None:
        self.solver = DrawSolver(self.data)
        self.reader = DrawReader(self.data)
        keys = self.data.system_years
        self._systems = np.array([s for s, _ in keys], dtype=object)
        self._years = np.array([y for _, y in keys], dtype=np.int64)
        self._unsolved = np.full(len(keys), np.nan)

    def columns(self, draw: int, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Return the rows of one draw of this case by column: draw, case, the results, status.

        A draw without an optimal solution has its results empty (NaN) and HiGHS's
        termination as its status; every draw has the same columns, in the same order.

        Args:
            draw: The draw's number.
            values: The drawn Params' values (`DrawPlan.values`).
        """
        solved = self.solver.solve(draw, values)
        if isinstance(solved, str):
            found = dict.fromkeys(self.reader.names, self._unsolved)
            status = solved
        else:
            found = self.reader.read(solved)
            status = "optimal"
        rows = len(self._years)
        return {
            "draw": np.full(rows, draw, dtype=np.int64),
            "case": _repeated(self.case, rows),
            "system": self._systems,
            "year": self._years,
            **found,
            "status": _repeated(status, rows),
        }

    def solve(self, draw: int, values: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """Return the rows of one draw of this case (see `columns`)."""
        return _frame(self.columns(draw, values))


def _frame(columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Return columns as a frame, the text ones (case, system, status) as Python objects.

    With pyarrow installed, pandas would convert them to Arrow strings: 0.7 ms of a draw's
    5 ms (measured, 20x20x10); Parquet converts them in one go when a task is written.
    """
    return pd.DataFrame(
        {
            name: pd.Series(array, dtype=object, copy=False) if array.dtype == object else array
            for name, array in columns.items()
        }
    )


def _repeated(text: str, rows: int) -> np.ndarray:
    """Return `rows` references to one string (pickled once per task; `np.full` copies it)."""
    return np.array([text] * rows, dtype=object)


@dataclass
class WorkbookSolvers:
    """What a worker keeps per workbook: where draws go, and each case's solver."""

    plan: DrawPlan
    cases: dict[Case, CaseSolver]


_WORKERS: dict[str, WorkbookSolvers] = {}
"""Per worker process: the draw plan and case solvers of each workbook, built on first use."""


def solve_draws(data: ModelData, draws: list[int]) -> pd.DataFrame:
    """Return the rows of several draws (one dask task: fewer round trips per draw).

    Cases in the order of draws.parquet within each draw; one frame built from the columns
    of all of them.
    """
    parts = [columns for draw in draws for columns in _case_columns(data, draw)]
    return _frame({name: np.concatenate([part[name] for part in parts]) for name in parts[0]})


def _solvers(data: ModelData) -> WorkbookSolvers:
    if data.digest not in _WORKERS:
        cases = {case: CaseSolver(case, d) for case, d in case_data(data).items()}
        _WORKERS[data.digest] = WorkbookSolvers(DrawPlan(data), cases)
    return _WORKERS[data.digest]


def solve_draw(data: ModelData, draw: int) -> pd.DataFrame:
    """Return the rows of draw `draw` for both cases."""
    return solve_draws(data, [draw])


def _case_columns(data: ModelData, draw: int) -> list[dict[str, np.ndarray]]:
    """Return the columns of draw `draw` of each case, cases in the order of draws.parquet.

    Both cases draw the same numbers (they differ only in links), so the draw is made once.
    """
    solvers = _solvers(data)
    values = solvers.plan.values(draw)
    return [solvers.cases[case].columns(draw, values) for case in sorted(solvers.cases)]


PARTIAL_ROWS = "draws"
"""The folder, in the partial folder, of the finished draws' rows (`batch.append_rows`)."""
EMISSIONS = "emissions_MtCO2e"
"""Emissions of a draw's system-year [MtCO2e], as on the `balances` sheet."""
GAIN_TOLERANCE = 1e-5
"""A gain below this share of the autarky cost counts as none (solver accuracy)."""


def summarise(draws: pd.DataFrame, currency: str) -> dict[str, pd.DataFrame]:
    """Return the sweep's summary tables: gains from linking, their spread, price statistics.

    From the draws with an optimal solution: `gains`, `distributions`, `gains_by_draw`,
    `volatility` and `price_statistics` (docs/workbook.md says what each holds).
    """
    cols = Columns(currency)
    ok = draws[draws["status"] == "optimal"]
    by_draw = gains_by_draw(ok, cols)
    return {
        "gains": _gains(ok, cols),
        "distributions": distributions(by_draw),
        "gains_by_draw": by_draw,
        "volatility": _volatility(ok, cols),
        "price_statistics": _percentiles(ok, ["case", "system", "year"], cols.price),
    }


PERCENTILES = (0.05, 0.5, 0.95)
"""The percentiles of the summary's distributions over draws."""


def _percentiles(rows: pd.DataFrame, by: list[str], column: str, sort: bool = True) -> pd.DataFrame:
    """Return per group of `by` the column's draws, mean, sd, min, percentiles and max.

    Groups sorted, or with `sort` False in the order they first appear.
    """
    stats = rows.groupby(by, sort=sort)[column].describe(percentiles=list(PERCENTILES))
    stats = stats.rename(columns={"count": "draws", "std": "sd"})
    stats["draws"] = stats["draws"].astype(int)  # a count, shown as one (was 20.00)
    return stats.reset_index()


def _gains(ok: pd.DataFrame, cols: Columns) -> pd.DataFrame:
    """Return per system the expected gain from linking, its sd [M CUR, PV] and its odds."""
    cost = cols.money("compliance_cost", pv=True)
    by_draw = ok.pivot_table(
        index=["draw", "system"], columns="case", values=cost, aggfunc="sum"
    ).reset_index()
    by_draw["gain"] = by_draw["autarky"] - by_draw["linked"]
    # a gain within the solver's accuracy is no gain: QP duals are exact to about 1e-5
    by_draw["gains"] = by_draw["gain"] > GAIN_TOLERANCE * by_draw["autarky"].abs()
    gains = by_draw.groupby("system").agg(
        expected=("gain", "mean"), sd=("gain", "std"), probability_of_gain=("gains", "mean")
    )
    gains = gains.rename(
        columns={
            "expected": cols.money("expected_gain", pv=True),
            "sd": cols.money("gain_sd", pv=True),
        }
    )
    return gains.reset_index()


def gains_by_draw(ok: pd.DataFrame, cols: Columns) -> pd.DataFrame:
    """Return per draw and system what linking does over all years.

    The gain from linking and the money the linked case pays abroad [M CUR, PV], and
    emissions linked minus alone [MtCO2e]; NaN where a case of the draw has no solution.
    """
    cost, abroad = cols.money("compliance_cost", pv=True), cols.money("paid_abroad", pv=True)
    totals = ok.pivot_table(
        index=["draw", "system"], columns="case", values=[cost, abroad, EMISSIONS], aggfunc="sum"
    )
    out = totals.index.to_frame(index=False)
    out[cols.money("gain_from_linking", pv=True)] = _case_gap(totals[cost], "autarky")
    out[cols.case_money("linked", "paid_abroad")] = totals[abroad]["linked"].to_numpy()
    out[EMISSIONS_CHANGE] = _case_gap(totals[EMISSIONS], "linked")
    return out


def _case_gap(totals: pd.DataFrame, minuend: str) -> np.ndarray:
    """Return `minuend`'s column less the other case's (NaN where either is missing)."""
    other = "linked" if minuend == "autarky" else "autarky"
    return (totals[minuend] - totals[other]).to_numpy()


def distributions(by_draw: pd.DataFrame) -> pd.DataFrame:
    """Return per system and quantity of `gains_by_draw` its spread over the draws.

    The number of draws, mean, sd, min, 5%, 50% and 95% percentiles (linear interpolation
    between draws, as numpy's percentile) and max, in the quantity's unit.
    """
    quantities = [c for c in by_draw.columns if c not in ("draw", "system")]
    long = by_draw.melt(id_vars=["draw", "system"], value_vars=quantities, var_name="quantity")
    long = long.sort_values("system", kind="stable")
    return _percentiles(long, ["system", "quantity"], "value", sort=False)


def _volatility(ok: pd.DataFrame, cols: Columns) -> pd.DataFrame:
    """Return per system the price sd over draws within a year, averaged over the years.

    Linked and alone [CUR per tCO2e]: pooling the years would mostly measure the price
    path's trend (the EU's 25.4 pooled against 9.6 within 2030).
    """
    within = ok.groupby(["case", "system", "year"])[cols.price].std()
    volatility = within.groupby(["case", "system"]).mean().unstack("case").reset_index()
    return volatility.rename(
        columns={c: cols.per_tonne(f"{c}_price_sd") for c in ("linked", "autarky")}
    )


def total_gain_by_draw(draws: pd.DataFrame, currency: str) -> pd.Series:
    """Return the gain from linking of all systems together, per draw [M CUR, PV]."""
    cost = Columns(currency).money("compliance_cost", pv=True)
    totals = draws.pivot_table(index="draw", columns="case", values=cost, aggfunc="sum")
    return totals["autarky"] - totals["linked"]


def draw_columns(currency: str) -> tuple[str, ...]:
    """Return the columns of draws.parquet: a draw's rows per case, system and year."""
    return ("draw", "case", "system", "year", *draw_results(Columns(currency)), "status")


def sweep_batch(data: ModelData, draws: int) -> Batch:
    """Return the batch of a sweep: draws 0..draws-1, both cases of each, in tasks."""
    return Batch(
        key="draw",
        columns=draw_columns(data.currency),
        shared=data,
        solve=solve_draws,
        items=[(draw, draw) for draw in range(draws)],
    )


@dataclass(frozen=True)
class SweepPlan:
    """A workbook validated for a sweep: its data, its warnings and the number of draws."""

    workbook: Path
    data: ModelData
    warnings: list[Issue]
    draws: int


def plan_sweep(
    workbook: Path, draws: int | None, warn: Callable[[list[Issue]], None] | None = None
) -> SweepPlan:
    """Read and validate a workbook for a sweep.

    Args:
        workbook: The input workbook.
        draws: Number of draws; None: the workbook's `draws` setting.
        warn: Called with the workbook's warnings once it is validated.

    Raises:
        InputError: listing every problem of the workbook, or saying it has no uncertain
            inputs.
    """
    from etslink.workflows.run import (
        load_workbook,  # not on dask workers, which never read workbooks
    )

    data, warnings = load_workbook(workbook)
    if warn:
        warn(warnings)
    if data.second_case != "autarky":
        reject(
            "links",
            "etslink sweep does not yet solve a counterfactual (links marked "
            "in_counterfactual): its summary compares every draw with autarky",
            "set in_counterfactual to no for the sweep, or use etslink run",
        )
    if not data.uncertainty:
        reject(
            "uncertainty",
            "a sweep needs uncertain inputs and the sheet is missing or empty",
            "add rows on sheet uncertainty (etslink template shows one)",
        )
    return SweepPlan(workbook, data, warnings, draws or data.draws)


def _raise_if_no_draw_solved(plan: SweepPlan, table: pd.DataFrame) -> None:
    """Raise InfeasibleError (exit 3) when no draw of a case has a solution.

    The first draw's inputs of that case are diagnosed, as `run` diagnoses a workbook.
    """
    from etslink.solving.stages import diagnose_infeasibility

    solved = set(table.loc[table["status"] == "optimal", "case"])
    for case, data in case_data(perturbed(plan.data, 0)).items():
        if case not in solved:
            label = f"{case} case of draw 0; no draw of the sweep has a solution in the {case}"
            raise InfeasibleError(label, diagnose_infeasibility(data))


def solve_sweep(
    plan: SweepPlan,
    partial: Path,
    *,
    workers: int,
    scheduler: str | None,
    started: str,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
    command: list[str] | None = None,
) -> SweepResult:
    """Solve the draws not yet in `partial` (`batch.run_batch`), then summarise all of them.

    Args:
        plan: The validated workbook and the number of draws.
        partial: The folder that collects finished draws (`batch.append_rows`; kept for
            a resume).
        workers: Worker processes of a local cluster.
        scheduler: Address of a running dask scheduler; None: start a local cluster.
        started: When the sweep started (`runrecord.utc_stamp`).
        progress: Called with the number of draws done and the total.
        command: How the sweep was started, for the record; None: the command line.
    """
    start = time.perf_counter()
    batch = sweep_batch(plan.data, plan.draws)
    table = run_batch(batch, partial, workers=workers, scheduler=scheduler, progress=progress)
    table = table[table["draw"] < plan.draws].sort_values(["draw", "case", "system", "year"])
    table = table.reset_index(drop=True)
    _raise_if_no_draw_solved(plan, table)
    summary = summarise(table, plan.data.currency)
    seconds = {"sweep": round(time.perf_counter() - start, 3)}
    record = run_record(plan.workbook, {}, seconds, solver_version(), started, command)
    record |= {
        "draws": plan.draws,
        "seed": plan.data.seed,
        "draw_seeds": f"numpy SeedSequence(({plan.data.seed}, i)) for draw i",
        "workers": scheduler or workers,
        "failed_draws": sorted(set(table.loc[table["status"] != "optimal", "draw"])),
    }
    return SweepResult(plan.workbook, plan.data, table, summary, messages(plan.warnings), record)
