"""The `etslink` command: run, sweep, explore, calibrate, compare, validate, template.

The only printer.

`run`, `sweep` and `explore` call what `etslink.run`, `etslink.sweep` and `etslink.explore`
call (api.py, sweeps.py, explore.py); this module adds progress, printing, exit codes and,
for sweeps and explore, the resumable partial folder.

Exit codes: 0 success; 1 internal error (details in a log file); 2 bad input; 3 the inputs
admit no solution; 4 the solver stopped without an optimal solution.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from etslink.errors import (
    EtslinkError,
    InfeasibleError,
    InputError,
    Issue,
    SolverTroubleError,
    format_issues,
    reject,
)

if TYPE_CHECKING:
    from etslink.inputs.frames import Frames

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER = 0, 1, 2, 3, 4
QUIET_HELP = "print only problems and the line that says where the results are"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="etslink", description="Model linked carbon emissions trading systems."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="solve the linked and autarky cases of a workbook")
    run.add_argument("workbook", type=Path)
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (must not exist or be empty); default "
        "outputs/<workbook name>/<UTC time>/",
    )
    run.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    _systems_option(run)
    run.add_argument(
        "--time-limit",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="solver time limit per case (default 3600)",
    )
    sweep = commands.add_parser(
        "sweep", help="solve both cases for every draw of the uncertainty sheet (dask)"
    )
    sweep.add_argument("workbook", type=Path)
    sweep.add_argument(
        "--draws",
        type=int,
        default=None,
        help="number of draws (default: settings draws, else 100)",
    )
    sweep.add_argument(
        "--workers", type=int, default=2, help="worker processes of the local cluster (default 2)"
    )
    sweep.add_argument(
        "--scheduler",
        default=None,
        help="address of an existing dask scheduler, e.g. tcp://host:8786",
    )
    sweep.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (must not exist or be empty); default "
        "outputs/<workbook name>/sweep-<UTC time>/",
    )
    sweep.add_argument(
        "--resume", action="store_true", help="continue an interrupted sweep into the same --out"
    )
    sweep.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    _explore_parser(commands)
    _calibrate_parser(commands)
    compare = commands.add_parser(
        "compare", help="put finished runs side by side (the first is the base)"
    )
    compare.add_argument("runs", type=Path, nargs="+", metavar="DIR")
    compare.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (must not exist or be empty); default outputs/compare/<UTC time>/",
    )
    compare.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    validate = commands.add_parser("validate", help="check a workbook without solving")
    validate.add_argument("workbook", type=Path)
    _systems_option(validate)
    template = commands.add_parser("template", help="write an empty, documented input workbook")
    template.add_argument("path", type=Path)
    return parser


def _systems_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--systems",
        default=None,
        metavar="IDS",
        help="only these systems (ids joined by commas, e.g. CA,QC) and what belongs to "
        "them: their rows, links and border adjustments between them, the credits they accept",
    )


def _workbook(args: argparse.Namespace) -> Path | Frames:
    """Return the workbook to solve: the file, or its tables cut to --systems.

    Raises:
        InputError: the file cannot be read, or --systems names a system it does not have.
    """
    if args.systems is None:
        return args.workbook
    from etslink.inputs.frames import Frames

    try:
        return Frames.read(args.workbook).subset(args.systems)
    except ValueError as error:
        reject(
            "--systems",
            str(error),
            "give ids from sheet systems joined by commas, e.g. --systems CA,QC",
        )


def _explore_parser(commands: Any) -> None:
    explore = commands.add_parser(
        "explore", help="which candidate links pay: every combination added to the status quo"
    )
    explore.add_argument("workbook", type=Path)
    explore.add_argument(
        "--max-size",
        type=int,
        default=None,
        metavar="K",
        help="largest combination of candidates (default: all combinations of up to 6 "
        "candidates, else each alone and all together)",
    )
    explore.add_argument(
        "--workers", type=int, default=2, help="worker processes of the local cluster (default 2)"
    )
    explore.add_argument(
        "--scheduler",
        default=None,
        help="address of an existing dask scheduler, e.g. tcp://host:8786",
    )
    explore.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (must not exist or be empty); default "
        "outputs/<workbook name>/explore-<UTC time>/",
    )
    explore.add_argument(
        "--resume", action="store_true", help="continue an interrupted explore into the same --out"
    )
    explore.add_argument("--quiet", action="store_true", help=QUIET_HELP)


def _calibrate_parser(commands: Any) -> None:
    calibrate = commands.add_parser(
        "calibrate", help="fit the calibration sheet's parameters to the observed sheet"
    )
    calibrate.add_argument("workbook", type=Path)
    calibrate.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (must not exist or be empty); default "
        "outputs/<workbook name>/calibrate-<UTC time>/",
    )
    calibrate.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes that fit foresight horizons side by side (default 1)",
    )
    calibrate.add_argument(
        "--scheduler",
        default=None,
        help="address of an existing dask scheduler, e.g. tcp://host:8786",
    )
    calibrate.add_argument(
        "--time-limit",
        type=_positive_seconds,
        default=None,
        metavar="SECONDS",
        help="solver time limit per solve (default 3600)",
    )
    calibrate.add_argument("--quiet", action="store_true", help=QUIET_HELP)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        msg = f"{text!r} is not a positive number of seconds"
        raise argparse.ArgumentTypeError(msg)
    return value


def _print_warnings(warnings: list[Issue]) -> None:
    if warnings:
        print("Warnings (the run goes on):", file=sys.stderr)
        print(format_issues(warnings), file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    from etslink.workflows.run import load_workbook

    data, warnings = load_workbook(_workbook(args))
    _print_warnings(warnings)
    print(
        f"{args.workbook}: OK, {len(data.systems)} systems, {len(data.system_years)} "
        f"system-years, {len(data.links)} links."
    )
    return EXIT_OK


def _template(args: argparse.Namespace) -> int:
    from etslink.inputs.workbook import write_template

    path: Path = args.path
    if path.exists():
        reject(
            str(path),
            "the file already exists",
            "choose a new file name; etslink never overwrites a file",
        )
    if path.suffix.lower() != ".xlsx":
        reject(
            str(path),
            "the name does not end in .xlsx",
            "use a name such as my_scenario.xlsx",
        )
    write_template(path)
    print(f"Wrote {path}")
    return EXIT_OK


@contextmanager
def _stages(quiet: bool) -> Iterator[Callable[[str], None]]:
    """Yield a function that shows the current stage with a spinner; ticks off the last."""
    if quiet:
        yield lambda _stage: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True
    ) as progress:
        task = progress.add_task("starting")
        done: list[str] = []

        def show(stage: str) -> None:
            """Tick off the last stage and show this one; "stage: detail" only updates it."""
            if done and stage.split(":")[0] == done[-1].split(":")[0]:
                done[-1] = stage.split(":")[0]
            elif done:
                progress.console.print(f"[green]done[/green] {done[-1]}")
                done.append(stage.split(":")[0])
            else:
                done.append(stage.split(":")[0])
            progress.update(task, description=stage)

        yield show
        if done:
            progress.console.print(f"[green]done[/green] {done[-1]}")


def _compare(args: argparse.Namespace) -> int:
    from etslink.outputs.runrecord import check_output_dir, utc_stamp
    from etslink.workflows.compare import compare_runs, write_comparison

    out: Path = args.out or Path("outputs") / "compare" / utc_stamp()
    check_output_dir(out)
    write_comparison(compare_runs(args.runs), out)
    if not args.quiet:
        print(f"Compared {len(args.runs)} runs, the first as the base.")
    _say_where(out)
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from etslink.outputs.products import write_run
    from etslink.outputs.runrecord import check_output_dir, utc_stamp
    from etslink.workflows.run import solve_workbook

    started = utc_stamp()
    out: Path = args.out or Path("outputs") / args.workbook.stem / started
    check_output_dir(out)
    workbook = _workbook(args)
    with _stages(args.quiet) as stage:
        result = solve_workbook(
            workbook,
            time_limit_s=args.time_limit,
            progress=stage,
            warn=_print_warnings,
            started=started,
        )
        stage(f"writing {out}")
        _collect_the_solve()
        write_run(result, out, check_output_dir)
    if not args.quiet:
        _print_summary(result.results)
    _say_where(out)
    return EXIT_OK


def _collect_the_solve() -> None:
    """Free the solve's garbage (its dead Pyomo models) before writing.

    A run as a process collects none otherwise (`main`): this one collection of about 0.1 s
    keeps the peak memory of a 50 systems x 30 years x 20 steps run at 270-288 MB (313-334
    MB without it, above the 300 MB target; 275-292 MB with Python's rare collections
    throughout).
    """
    if not gc.isenabled():
        gc.collect()


def _sweep(args: argparse.Namespace) -> int:
    from etslink.outputs.products import write_sweep
    from etslink.outputs.runrecord import check_output_dir, utc_stamp
    from etslink.workflows.sweep import PARTIAL_ROWS, plan_sweep, solve_sweep

    started = utc_stamp()
    _at_least_one("--draws", args.draws, "draws")
    _at_least_one("--workers", args.workers, "workers")
    out = _resumable_out(args, "sweep", started)
    plan = plan_sweep(args.workbook, args.draws, _print_warnings)
    _batch(
        args,
        "sweep",
        out,
        (plan.draws, "draws"),
        lambda partial, progress: solve_sweep(
            plan,
            partial / PARTIAL_ROWS,
            workers=args.workers,
            scheduler=args.scheduler,
            started=started,
            progress=progress,
        ),
        lambda result: write_sweep(result, out, check_output_dir),
    )
    if not args.quiet:
        print(f"Solved both cases of {plan.draws} draws.")
    _say_where(out)
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from etslink.outputs.products import write_calibration
    from etslink.outputs.runrecord import check_output_dir, utc_stamp
    from etslink.workflows.calibrate import calibrate, plan_calibration

    started = utc_stamp()
    _at_least_one("--workers", args.workers, "workers")
    out: Path = args.out or Path("outputs") / args.workbook.stem / f"calibrate-{started}"
    check_output_dir(out)
    with _stages(args.quiet) as stage:
        stage(f"reading and validating {args.workbook}")
        plan = plan_calibration(args.workbook, args.time_limit)
        _print_warnings(plan.warnings)
        stage("fitting")
        result = calibrate(
            plan,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=stage,
            started=started,
        )
        stage(f"writing {out}")
        write_calibration(result, out, check_output_dir)
    if not args.quiet:
        _print_calibration(result.record["calibration"])
    _say_where(out)
    return EXIT_OK


def _say_where(out: Path) -> None:
    """Print where the results are and the files written: the line even --quiet prints."""
    files = ", ".join(sorted(path.name for path in out.iterdir()))
    print(f"Results in {out}: {files}")


def _print_calibration(c: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from etslink.outputs.fit import FAR

    table = Table(title="Calibrated parameters")
    for column in ("parameter", "target", "initial", "fitted"):
        table.add_column(column, justify="left" if column in ("parameter", "target") else "right")
    for row in c["fitted"]:
        table.add_row(
            row["parameter"], row["target"], f"{row['initial']:g}", f"{row['fitted']:.4g}"
        )
    console = Console()
    console.print(table)
    console.print(
        f"Objective {c['objective_before']:.4g} before, {c['objective_after']:.4g} after "
        f"({c['trials']} solves). {c['far_after']} observation(s) still more than "
        f"{FAR:.0%} off."
    )
    for line in c["pulls"]:
        console.print(f"Pulling apart: {line}")


def _batch(
    args: argparse.Namespace,
    what: str,
    out: Path,
    count: tuple[int, str],
    solve: Callable[[Path, Callable[[int, int], None]], Any],
    write: Callable[[Any], None],
) -> Any:
    """Solve a sweep or explore with its partial folder and a progress bar, then write it.

    Args:
        args: The command's arguments (workbook, --resume, --quiet).
        what: "sweep" or "explore", for messages.
        out: The output folder, checked.
        count: How many items and what they are called, for the progress bar.
        solve: solve(partial folder, progress) returns the result.
        write: write(result) writes the outputs into `out`.
    """
    if args.scheduler:
        from etslink.workflows.batch import client

        client(1, args.scheduler).close()  # refused now, not after a partial folder is made
    partial = _partial_folder(out, args.resume, what, args.workbook)
    try:
        with _draw_progress(args.quiet, *count) as progress:
            result = solve(partial, progress)
    except InfeasibleError:
        shutil.rmtree(partial)  # final: the same inputs would fail again on --resume
        raise
    write(result)
    shutil.rmtree(partial)
    return result


def _at_least_one(option: str, value: int | None, what: str) -> None:
    """Refuse a count below 1 given on the command line (None: not given)."""
    if value is not None and value < 1:
        reject(option, f"{option} {value} is below 1", f"give 1 or more {what}")


def _resumable_out(args: argparse.Namespace, what: str, started: str) -> Path:
    """Return the output folder of a sweep or explore, checked (--resume needs --out)."""
    from etslink.outputs.runrecord import check_output_dir

    if args.resume and args.out is None:
        reject(
            "--resume",
            f"--resume needs the --out folder of the interrupted {what}",
            "add --out with that folder",
        )
    out: Path = args.out or Path("outputs") / args.workbook.stem / f"{what}-{started}"
    check_output_dir(out)
    return out


WORKBOOK_HASH = "workbook.sha256"
"""The file in a partial folder that records the SHA-256 of the workbook being solved."""


def _partial_folder(out: Path, resume: bool, what: str, workbook: Path) -> Path:
    """Return the folder that keeps finished work for --resume, next to `out`.

    It records the workbook's SHA-256 and the etslink version; --resume refuses a workbook
    or a version that has changed since, which would mix results of two workbooks or two
    versions. Options (--draws, --max-size, --workers) may change: the finished items stay
    valid.
    """
    from etslink.outputs.runrecord import file_sha256

    partial = out.parent / f".{out.name}.partial"
    if partial.exists() and not resume:
        reject(
            "--out",
            f"an interrupted {what} is in {partial}",
            "add --resume to finish it, or delete that folder",
        )
    from etslink import __version__

    stamp, recorded = [file_sha256(workbook), __version__], partial / WORKBOOK_HASH
    before = recorded.read_text().split() if recorded.exists() else stamp
    if before[:1] != stamp[:1]:
        reject(
            "--resume",
            f"{workbook} has changed since the interrupted {what} in {partial} started "
            "(its SHA-256 differs): resuming would mix results of two workbooks",
            f"run the {what} again into a new --out folder, or restore the workbook it "
            "started with",
        )
    if before[1:2] != stamp[1:2]:
        started = before[1] if len(before) > 1 else "an earlier version"
        reject(
            "--resume",
            f"the interrupted {what} in {partial} was started by etslink {started}, this is "
            f"{__version__}: resuming would mix results of two versions",
            f"run the {what} again into a new --out folder, or finish it with etslink {started}",
        )
    partial.mkdir(parents=True, exist_ok=True)
    recorded.write_text("\n".join(stamp) + "\n")
    return partial


def _explore(args: argparse.Namespace) -> int:
    from etslink.outputs.products import write_explore
    from etslink.outputs.runrecord import check_output_dir, utc_stamp
    from etslink.workflows.explore import PARTIAL_ROWS, plan_explore, solve_explore

    started = utc_stamp()
    _at_least_one("--workers", args.workers, "workers")
    out = _resumable_out(args, "explore", started)
    plan = plan_explore(args.workbook, args.max_size, _print_warnings)
    result = _batch(
        args,
        "explore",
        out,
        (len(plan.solvable), "combinations"),
        lambda partial, progress: solve_explore(
            plan,
            partial / PARTIAL_ROWS,
            workers=args.workers,
            scheduler=args.scheduler,
            started=started,
            progress=progress,
        ),
        lambda result: write_explore(result, out, check_output_dir),
    )
    if not args.quiet:
        _print_explore(result)
    _say_where(out)
    return EXIT_OK


def _print_explore(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from etslink.outputs.columns import Columns

    cur = result.data.currency
    gain = Columns(cur).money("gain", pv=True)
    combos = result.combinations.sort_values(gain, ascending=False).head(10)
    table = Table(title=f"Best combinations: gain of all systems, M{cur} (PV)")
    for column in ("combination", "size", "gain", "status"):
        table.add_column(column, justify="right" if column in ("size", "gain") else "left")
    for row in combos.itertuples(index=False):
        value = getattr(row, gain)
        shown = "" if value != value else f"{value:,.1f}"
        table.add_row(row.combination, str(row.size), shown, row.status)
    console = Console()
    console.print(table)


@contextmanager
def _draw_progress(
    quiet: bool, total: int, what: str = "draws"
) -> Iterator[Callable[[int, int], None]]:
    """Yield a function that shows how many draws (or `what`) are done (nothing when quiet)."""
    if quiet:
        yield lambda _done, _total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(what, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task(what, total=total)
        yield lambda done, _total: bar.update(task, completed=done)


def _print_summary(results: Any) -> None:
    from rich.console import Console

    cur, second = results.data.currency, results.data.second_case
    console = Console()
    console.print(_price_table(results))
    gain = results.total_cost_pv("autarky") - results.total_cost_pv("linked")
    console.print(
        f"Gain from linking{'' if second == 'autarky' else ' (against the counterfactual)'}, "
        f"all systems: {gain:,.1f} M{cur} "
        f"(present value {results.data.base_year})"
    )
    if gain < -1e-5 * abs(results.total_cost_pv("autarky")):
        console.print(
            "[bold]Linking raises the total cost of compliance[/bold]: supply reacts to the "
            "new prices (a floor, a reserve, a ceiling, a supply step or credits); see the report."
        )


SECOND_CASE_HEADER = {"autarky": "autarky", "counterfactual": "counter-\nfactual"}
"""The second case's name in a column header, split to keep the summary within 100 columns."""


def _price_table(results: Any) -> Any:
    """Return the run's price table: each system's first linked, last and most moved year."""
    from rich.table import Table

    from etslink.outputs.price_summary import PRICE_DECIMALS, price_summary

    cur, second = results.data.currency, results.data.second_case
    table = Table(
        title=f"Allowance prices, {cur} per tCO2e (money of each year)",
        caption=f"first linked year: the first year a link {_new_link(second)}joins the "
        f"system to others; largest change in: the year in which linked minus {second} is "
        'largest ("-": no such year)',
        caption_justify="left",
    )
    table.add_column("system")
    for header in ("first\nlinked\nyear", second, "linked", "last\nyear", second, "linked"):
        table.add_column(SECOND_CASE_HEADER.get(header, header), justify="right")
    table.add_column("largest\nchange\nin", justify="right")
    table.add_column(f"linked -\n{SECOND_CASE_HEADER[second]}", justify="right")
    for row in price_summary(results):
        cells = [row.system]
        for pair in (row.first_linked, row.last):
            cells += _pair_cells(pair, PRICE_DECIMALS)
        moved = row.largest_change
        cells += [str(moved.year), f"{moved.change:+,.{PRICE_DECIMALS}f}"] if moved else ["-", "-"]
        table.add_row(*cells)
    return table


def _new_link(second: str) -> str:
    """Return the words that say which links count in the first linked year."""
    return "" if second == "autarky" else "the counterfactual lacks "


def _pair_cells(pair: Any, decimals: int) -> list[str]:
    """Return a year's cells: the year and the price in both cases ("-" without a year)."""
    if pair is None:
        return ["-", "-", "-"]
    return [str(pair.year), f"{pair.second:,.{decimals}f}", f"{pair.linked:,.{decimals}f}"]


def _log_internal_error() -> Path:
    log = Path(tempfile.gettempdir()) / f"etslink-error-{time.strftime('%Y%m%dT%H%M%S')}.log"
    log.write_text(traceback.format_exc(), encoding="utf-8")
    return log


def _log_to_file() -> None:
    """Send library warnings (Pyomo, HiGHS, matplotlib, dask, Python warnings) to a log file.

    The file appears only if something is logged; the terminal shows only etslink's own
    messages.
    """
    root = logging.getLogger()
    if any(getattr(h, "etslink", False) for h in root.handlers):
        return  # main() called again in one process (tests, notebooks)
    name = f"etslink-{time.strftime('%Y%m%dT%H%M%S')}.log"
    handler = logging.FileHandler(Path(tempfile.gettempdir()) / name, delay=True)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.etslink = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    logging.captureWarnings(True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code.

    Run as the command `etslink run` (no `argv`: the arguments are the process's), it
    collects cyclic garbage once, between solving and writing (`_collect_the_solve`), and
    ends the process itself once the results are written (`_end_process`), unless a
    profiler or tracer watches it (they report after `main` returns). Measured at 50
    systems x 30 years x 20 steps, 5 runs each: 3.5 s and 270-288 MB, against 3.6 s and
    270-287 MB collecting rarely throughout and 3.4 s and 313-334 MB never collecting.
    """
    args = _parser().parse_args(argv)
    _log_to_file()
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if argv is not None or watched or args.command != "run":
        return _command(args)
    gc.disable()
    _end_process(_command(args))


def _end_process(code: int) -> NoReturn:
    """End the process with `code` without Python's shutdown freeing every object one by one.

    After a run, Python's shutdown spends about 0.3 s (50 systems x 30 years) collecting the
    cyclic garbage of the Pyomo models and the charts, memory that the operating system
    frees at once. The exit handlers (logging's, which closes the log file) still run and
    both output streams are flushed first.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe or stream: nothing more to say
            stream.flush()
    os._exit(code)


def _command(args: argparse.Namespace) -> int:
    """Run the parsed command; return the exit code."""
    handlers = {
        "run": _run,
        "sweep": _sweep,
        "explore": _explore,
        "calibrate": _calibrate,
        "compare": _compare,
        "validate": _validate,
        "template": _template,
    }
    try:
        return handlers[args.command](args)
    except InputError as exc:
        from etslink.inputs.schema import SHEETS

        in_workbook = any(i.sheet in {s.name for s in SHEETS} for i in exc.issues)
        header = f"The workbook has {len(exc.issues)} problem(s):" if in_workbook else "Stopped:"
        print(f"{header}\n{exc}", file=sys.stderr)
        return EXIT_INPUT
    except InfeasibleError as exc:
        print(f"The inputs admit no solution:\n{exc}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except SolverTroubleError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_SOLVER
    except EtslinkError as exc:  # pragma: no cover - every subclass is handled above
        print(str(exc), file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print(
            "interrupted; no output was written (a sweep or explore can go on with --resume)",
            file=sys.stderr,
        )
        return 130
    except Exception:
        print(f"internal error: please report, details in {_log_internal_error()}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
