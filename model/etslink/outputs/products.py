"""What each workflow returns, and how it is written into a folder, all or nothing.

`RunResult` (run), `SweepResult` (sweep), `ExploreResult` (explore), `CalibrationResult`
(calibrate) and `CompareResult` (compare) are what the Python API returns and what the
commands write; their `write` methods and the command line share `write_run`,
`write_sweep`, `write_explore`, `write_calibration` and `write_compare`. Importing this
module is light: pandas and the report writers are imported by the functions that need them.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from etslink.core.data import ModelData
    from etslink.outputs.comparison import Comparison
    from etslink.outputs.results import ExploreTables, Results

StrPath = str | os.PathLike[str]
"""A file or folder name, as a string or a path."""
DRAWS_FILE = "draws.parquet"
"""A sweep's draws. Parquet, not gzip CSV: 500 draws of 20 systems x 20 years (400,000 rows
of 11 columns) take 7.8 MB instead of 18.2 MB, and formatting the CSV took 4.4 ms a draw, more
than half of a draw's time in the command (measured)."""
COLLECTION_THRESHOLDS = (100_000, 50, 100)
"""Python's garbage collector thresholds while a run builds, solves and writes (default
700, 10, 10). A run makes millions of small objects (Pyomo's model, the tables, the charts)
that live to its end; scanning them every 700 new objects took about 1.3 s of a 50x30x20
run (measured), for about 15 MB more at its peak."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often (`COLLECTION_THRESHOLDS`) within, as before after."""
    before = gc.get_threshold()
    gc.set_threshold(*COLLECTION_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


EXPLORE_WORKBOOK = "explore.xlsx"


@dataclass(repr=False)
class RunResult:
    """A solved workbook: the result tables of both cases, the warnings and the run record.

    Each table is a new pandas DataFrame with exactly the columns of the results.xlsx sheet
    of the same name, in its order; all but `gains` start with `case` (`linked`, `autarky`).

    Attributes:
        workbook: The input workbook.
        results: The model's own results object (per-case tables, the validated data).
        warnings: Messages about the workbook that did not stop the run, and about results
            that sit on a reserve's switch (outputs/switches.py), as `etslink run` prints them.
        record: The run record, as run.json holds it (but for the time of writing).
    """

    workbook: Path
    results: Results
    warnings: list[str]
    record: dict[str, Any]

    @property
    def prices(self) -> pd.DataFrame:
        """Allowance price per case, system and year [CUR per tCO2e, money of the year]."""
        return self.results.table("prices")

    @property
    def balances(self) -> pd.DataFrame:
        """Where each system-year's compliance comes from, per case [MtCO2e]."""
        return self.results.table("balances")

    @property
    def transfers(self) -> pd.DataFrame:
        """Allowances moved per direction of each link and year [MtCO2e of the exporter's]."""
        return self.results.table("transfers")

    @property
    def costs(self) -> pd.DataFrame:
        """Compliance cost items per case, system and year [M CUR, money of the year]."""
        return self.results.table("costs")

    @property
    def gains(self) -> pd.DataFrame:
        """Per system: discounted cost items of each case and the gain [M CUR, base-year money]."""
        return self.results.gains.copy()

    @property
    def shadow_prices(self) -> pd.DataFrame:
        """Every binding restriction per case with its shadow price [CUR per tCO2e]."""
        return self.results.table("shadow_prices")

    @property
    def offset_prices(self) -> pd.DataFrame:
        """Credit market price per case, offset type and year [CUR per tCO2e]."""
        return self.results.table("offset_prices")

    @property
    def offset_use(self) -> pd.DataFrame:
        """Credits used per case, system, type and year [MtCO2e] and their cost [M CUR]."""
        return self.results.table("offset_use")

    @property
    def gains_by_year(self) -> pd.DataFrame:
        """Per system and year: both cases' compliance cost and the gain [M CUR, and PV]."""
        from etslink.outputs.results import gains_by_year

        return gains_by_year(self.results)

    def gains_between(self, first: int, last: int) -> pd.DataFrame:
        """Per system: `gains_by_year` summed over the years `first` to `last`, both included.

        Money of each year summed as it is (a nominal total) and discounted to the base year
        (`_pv`) [M CUR]; e.g. `gains_between(2028, 2035)` for a link's first eight years.

        Raises:
            ValueError: no model year lies in the window.
        """
        by_year = self.gains_by_year
        window = by_year[by_year["year"].between(first, last)]
        if window.empty:
            years = f"{by_year['year'].min()}-{by_year['year'].max()}"
            msg = f"no model year lies in {first}-{last}; the model's years are {years}"
            raise ValueError(msg)
        return window.drop(columns="year").groupby("system", sort=False).sum().reset_index()

    @property
    def msr(self) -> pd.DataFrame:
        """A reserve's operations per case, system and year [MtCO2e] (empty without one)."""
        return self.results.table("msr")

    @property
    def fit(self) -> pd.DataFrame:
        """Each `observed` row beside the linked case's figure (empty without observations).

        Columns as the `fit` sheet: `observed` and `model` in the row's `unit`,
        `difference` = model / observed - 1.
        """
        from etslink.outputs.fit import fit_table

        return fit_table(self.results)

    def write(self, out: StrPath) -> Path:
        """Write results.xlsx, report.html and run.json into `out`, as `etslink run --out`.

        The files appear all at once or not at all.

        Args:
            out: The output folder; it must not exist or be empty.

        Returns:
            The output folder.

        Raises:
            FileExistsError: `out` exists and is not an empty folder; it is left untouched.
        """
        return _write_into(Path(out), lambda folder, check: write_run(self, folder, check))

    def __repr__(self) -> str:
        d = self.results.data
        return (
            f"RunResult(workbook={str(self.workbook)!r}, systems={len(d.systems)}, "
            f"system_years={len(d.system_years)}, links={len(d.links)}, "
            f"warnings={len(self.warnings)})"
        )


@dataclass(repr=False)
class SweepResult:
    """A sweep: every draw's rows, the summary tables, the warnings and the run record.

    Attributes:
        workbook: The input workbook.
        data: The validated workbook, before any draw.
        draws: One row per draw, case, system and year, as draws.parquet holds them.
        summary: The sheets of summary.xlsx but `run`: `gains`, `distributions`,
            `gains_by_draw`, `volatility`, `price_statistics`.
        warnings: Messages about the workbook that did not stop the sweep.
        record: The run record, as run.json holds it (with the seeds and failed draws).
    """

    workbook: Path
    data: ModelData
    draws: pd.DataFrame
    summary: dict[str, pd.DataFrame]
    warnings: list[str]
    record: dict[str, Any]

    @property
    def price_statistics(self) -> pd.DataFrame:
        """Price mean, sd and percentiles per case, system and year [CUR per tCO2e]."""
        return self.summary["price_statistics"]

    @property
    def gains(self) -> pd.DataFrame:
        """Per system: expected gain from linking, its sd [M CUR, PV], chance of a gain."""
        return self.summary["gains"]

    @property
    def distributions(self) -> pd.DataFrame:
        """Per system: the spread over draws of the gain, money paid abroad, emissions change."""
        return self.summary["distributions"]

    @property
    def gains_by_draw(self) -> pd.DataFrame:
        """Per draw and system: gain, money paid abroad [M CUR, PV], emissions change [MtCO2e]."""
        return self.summary["gains_by_draw"]

    @property
    def volatility(self) -> pd.DataFrame:
        """Per system: price sd over draws within a year, averaged over years [CUR per tCO2e]."""
        return self.summary["volatility"]

    def write(self, out: StrPath) -> Path:
        """Write draws.parquet, summary.xlsx, report.html and run.json, as `etslink sweep --out`.

        Args:
            out: The output folder; it must not exist or be empty.

        Returns:
            The output folder.

        Raises:
            FileExistsError: `out` exists and is not an empty folder; it is left untouched.
        """
        return _write_into(Path(out), lambda folder, check: write_sweep(self, folder, check))

    def __repr__(self) -> str:
        return (
            f"SweepResult(workbook={str(self.workbook)!r}, draws={self.record['draws']}, "
            f"failed_draws={len(self.record['failed_draws'])}, warnings={len(self.warnings)})"
        )


@dataclass(repr=False)
class ExploreResult:
    """An exploration of candidate links: the tables of explore.xlsx, warnings, run record.

    Attributes:
        workbook: The input workbook.
        data: The validated workbook with every candidate's links added (the status quo's
            links first).
        tables: The sheets of explore.xlsx but `run`.
        warnings: Messages about the workbook that did not stop the exploration.
        record: The run record, as run.json holds it.
    """

    workbook: Path
    data: ModelData
    tables: ExploreTables
    warnings: list[str]
    record: dict[str, Any]

    @property
    def candidates(self) -> pd.DataFrame:
        """One row per candidate row: id, link columns, gain alone [M CUR, PV]."""
        return self.tables.candidates

    @property
    def combinations(self) -> pd.DataFrame:
        """One row per combination: id, size, gain of all systems [M CUR, PV], status."""
        return self.tables.combinations

    @property
    def combination_gains(self) -> pd.DataFrame:
        """Per combination and system: cost, gain, money abroad [M CUR, PV], emissions [Mt]."""
        return self.tables.combination_gains

    @property
    def combination_prices(self) -> pd.DataFrame:
        """Per combination, system and year: the allowance price [CUR per tCO2e]."""
        return self.tables.combination_prices

    def write(self, out: StrPath) -> Path:
        """Write explore.xlsx, report.html and run.json, as `etslink explore --out`.

        Args:
            out: The output folder; it must not exist or be empty.

        Returns:
            The output folder.

        Raises:
            FileExistsError: `out` exists and is not an empty folder; it is left untouched.
        """
        return _write_into(Path(out), lambda folder, check: write_explore(self, folder, check))

    def __repr__(self) -> str:
        return (
            f"ExploreResult(workbook={str(self.workbook)!r}, "
            f"candidates={len(self.record['candidates'])}, "
            f"combinations={self.record['combinations']}, warnings={len(self.warnings)})"
        )


@dataclass(repr=False)
class CalibrationResult:
    """A calibration: the fitted parameters, the fit before and after, the run record.

    Attributes:
        workbook: The input workbook (never changed).
        data: The validated workbook as it stands (before calibration).
        tables: Its validated records (they locate the cells the factors scale).
        factors: The fitted factor per (parameter, system).
        settings: Settings keys the calibration sets (foresight_years).
        parameters: calibration.xlsx's `parameters` sheet.
        fit: calibration.xlsx's `fit` sheet.
        horizons: The best objective at each foresight horizon tried (empty if none).
        figures: The linked case's figure per (quantity, system, year), "before" and
            "after" calibration [CUR per tCO2e or MtCO2e].
        warnings: Messages about the workbook that did not stop the calibration.
        record: The run record, as run.json holds it (with `calibration`).
    """

    workbook: Path
    data: ModelData
    tables: dict[str, list[dict[str, Any]]]
    factors: dict[tuple[str, str], float]
    settings: dict[str, Any]
    parameters: pd.DataFrame
    fit: pd.DataFrame
    horizons: pd.DataFrame
    figures: dict[str, dict[tuple[str, str, int], float]]
    warnings: list[str]
    record: dict[str, Any]

    def write(self, out: StrPath) -> Path:
        """Write calibrated.xlsx, calibration.xlsx, report.html and run.json into `out`.

        Args:
            out: The output folder; it must not exist or be empty.

        Returns:
            The output folder.

        Raises:
            FileExistsError: `out` exists and is not an empty folder; it is left untouched.
        """
        return _write_into(Path(out), lambda folder, check: write_calibration(self, folder, check))

    def __repr__(self) -> str:
        c = self.record["calibration"]
        return (
            f"CalibrationResult(workbook={str(self.workbook)!r}, "
            f"objective={c['objective_before']:.4g}->{c['objective_after']:.4g}, "
            f"trials={c['trials']})"
        )


@dataclass(repr=False)
class CompareResult:
    """Finished runs side by side, the first the base: the tables of comparison.xlsx.

    Attributes:
        comparison: The model's own comparison (runs, stacked tables, linked groups).
        record: The comparison's run record, as run.json holds it.
    """

    comparison: Comparison
    record: dict[str, Any]

    @property
    def scenarios(self) -> pd.DataFrame:
        """Per scenario: compliance costs and gain of all systems [M CUR, PV], its run."""
        from etslink.outputs.comparison import scenarios_table

        return scenarios_table(self.comparison)

    @property
    def prices(self) -> pd.DataFrame:
        """Every run's `prices` under a leading `scenario` column [CUR per tCO2e]."""
        return self.comparison.stacked["prices"].copy()

    @property
    def balances(self) -> pd.DataFrame:
        """Every run's `balances` under a leading `scenario` column [MtCO2e]."""
        return self.comparison.stacked["balances"].copy()

    @property
    def costs(self) -> pd.DataFrame:
        """Every run's `costs` under a leading `scenario` column [M CUR]."""
        return self.comparison.stacked["costs"].copy()

    @property
    def gains(self) -> pd.DataFrame:
        """Every run's `gains` under a leading `scenario` column [M CUR, PV]."""
        return self.comparison.stacked["gains"].copy()

    @property
    def differences(self) -> dict[str, pd.DataFrame]:
        """Per sheet (prices, balances, costs, gains): each later run minus the first."""
        return {sheet: frame.copy() for sheet, frame in self.comparison.differences.items()}

    def write(self, out: StrPath) -> Path:
        """Write comparison.xlsx, report.html and run.json into `out`, as `etslink compare`.

        Args:
            out: The output folder; it must not exist or be empty.

        Returns:
            The output folder.

        Raises:
            FileExistsError: `out` exists and is not an empty folder; it is left untouched.
        """
        return _write_into(Path(out), lambda folder, check: write_compare(self, folder, check))

    def __repr__(self) -> str:
        return f"CompareResult(scenarios={list(self.comparison.scenarios)!r})"


def _write_into(folder: Path, write: Callable[[Path, Callable[[Path], None]], None]) -> Path:
    """Write a result into `folder` as the API does: refuse a folder in use; return it."""
    from etslink.outputs.runrecord import refuse_output_dir_in_use

    write(folder, refuse_output_dir_in_use)
    return folder


def case_record(results: Results) -> dict[str, Any]:
    """Return per case the solver's status, objective [M CUR, PV], time [s] and options.

    `stage_two` is the second stage's status (E14): "optimal", "not needed" or HiGHS's
    termination when it failed (the first stage's transfers then stay); with a reserve,
    `reserve_steps` is how many solves its fixed point took (E15).
    """
    from etslink.outputs.results import case_name

    return {
        case_name(case, results.data): {
            "status": r.outcome.status,
            "termination": r.outcome.termination,
            "stage_two": r.outcome.stage_two,
            **({"reserve_steps": r.outcome.reserve_iterations} if r.outcome.reserve else {}),
            "objective_pv_M" + results.data.currency: r.outcome.objective_Mcur,
            "solve_seconds": round(r.outcome.seconds, 4),
            "solver": r.outcome.solver,
            "solver_options": r.outcome.options,
        }
        for case, r in results.cases.items()
    }


@fewer_collections()
def write_run(result: RunResult, out: Path, check: Callable[[Path], None]) -> None:
    """Write results.xlsx, report.html and run.json into `out`, all or nothing.

    run.json adds the time of writing [s] to the record's timings.

    Args:
        result: The solved workbook.
        out: The output folder.
        check: Raises unless `out` may be used (the CLI's InputError, the API's
            FileExistsError).
    """
    from etslink.outputs.report.excel import write_results_workbook
    from etslink.outputs.report.html import write_report
    from etslink.outputs.runrecord import Timings, atomic_output_dir, write_json

    start = time.perf_counter()
    with atomic_output_dir(out, check) as tmp:
        write_results_workbook(result.results, result.record, tmp / "results.xlsx")
        write_report(result.results, result.record, tmp / "report.html")
        timings = Timings(dict(result.record["timings_s"]))
        timings.stage("write", start)
        write_json(tmp / "run.json", result.record | {"timings_s": timings.seconds})


def write_sweep(result: SweepResult, out: Path, check: Callable[[Path], None]) -> None:
    """Write draws.parquet, summary.xlsx, report.html and run.json into `out`, all or nothing.

    Args:
        result: The finished sweep.
        out: The output folder.
        check: Raises unless `out` may be used (the CLI's InputError, the API's
            FileExistsError).
    """
    from etslink.outputs.report.sweep import write_sweep_report, write_sweep_workbook
    from etslink.outputs.runrecord import atomic_output_dir, write_json

    currency = result.data.currency
    with atomic_output_dir(out, check) as tmp:
        result.draws.to_parquet(tmp / DRAWS_FILE, index=False)
        write_sweep_workbook(result.summary, result.record, currency, tmp / "summary.xlsx")
        write_sweep_report(result.summary, result.data, result.record, tmp / "report.html")
        write_json(tmp / "run.json", result.record)


def write_explore(result: ExploreResult, out: Path, check: Callable[[Path], None]) -> None:
    """Write explore.xlsx, report.html and run.json into `out`, all or nothing.

    Args:
        result: The finished exploration.
        out: The output folder.
        check: Raises unless `out` may be used (the CLI's InputError, the API's
            FileExistsError).
    """
    from etslink.outputs.report.explore import write_explore_report, write_explore_workbook
    from etslink.outputs.runrecord import atomic_output_dir, write_json

    with atomic_output_dir(out, check) as tmp:
        write_explore_workbook(
            result.tables, result.record, result.data.currency, tmp / EXPLORE_WORKBOOK
        )
        write_explore_report(result.tables, result.data, result.record, tmp / "report.html")
        write_json(tmp / "run.json", result.record)


def write_calibration(result: CalibrationResult, out: Path, check: Callable[[Path], None]) -> None:
    """Write calibrated.xlsx, calibration.xlsx, report.html and run.json, all or nothing.

    Args:
        result: The finished calibration.
        out: The output folder.
        check: Raises unless `out` may be used (the CLI's InputError, the API's
            FileExistsError).
    """
    from etslink.inputs.calibration import write_calibrated
    from etslink.outputs.report.calibration import (
        write_calibration_report,
        write_calibration_workbook,
    )
    from etslink.outputs.runrecord import atomic_output_dir, write_json

    with atomic_output_dir(out, check) as tmp:
        write_calibrated(
            result.workbook, tmp / "calibrated.xlsx", result.tables, result.factors, result.settings
        )
        sheets = {
            "parameters": result.parameters,
            "fit": result.fit,
            "horizons": result.horizons,
        }
        write_calibration_workbook(
            sheets, result.record, result.data.currency, tmp / "calibration.xlsx"
        )
        write_calibration_report(
            result.data, sheets, result.figures, result.record, tmp / "report.html"
        )
        write_json(tmp / "run.json", result.record)


def write_compare(result: CompareResult, out: Path, check: Callable[[Path], None]) -> None:
    """Write comparison.xlsx, report.html and run.json into `out`, all or nothing.

    Args:
        result: The finished comparison.
        out: The output folder.
        check: Raises unless `out` may be used (the CLI's InputError, the API's
            FileExistsError).
    """
    from etslink.outputs.report.compare import write_comparison_report, write_comparison_workbook
    from etslink.outputs.runrecord import atomic_output_dir, write_json

    with atomic_output_dir(out, check) as tmp:
        write_comparison_workbook(result.comparison, result.record, tmp / "comparison.xlsx")
        write_comparison_report(result.comparison, result.record, tmp / "report.html")
        write_json(tmp / "run.json", result.record)
