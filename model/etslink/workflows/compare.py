"""Put finished runs side by side: their result tables stacked, and differences to the first.

`compare_runs` reads the folders that `etslink run` wrote (results.xlsx and run.json), checks
them all and reports every problem at once; `compare` adds the run record (what
`etslink.compare` returns); `write_comparison` writes comparison.xlsx, report.html and
run.json into a new folder, atomically (`etslink compare`). See docs/compare.md.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from python_calamine import CalamineError

from etslink.core.data import Forest
from etslink.errors import InputError, Issue
from etslink.outputs.columns import Columns
from etslink.outputs.comparison import SCENARIO, Comparison, FinishedRun
from etslink.outputs.products import CompareResult, write_compare
from etslink.outputs.runrecord import check_output_dir, file_sha256, package_versions, utc_stamp

KEYS: dict[str, tuple[str, ...]] = {
    "prices": ("case", "system", "year"),
    "balances": ("case", "system", "year"),
    "costs": ("case", "system", "year"),
    "gains": ("system",),
}
"""The compared sheets of results.xlsx and the columns that identify one of their rows."""
OPTIONAL_KEYS: dict[str, tuple[str, ...]] = {"msr": ("case", "system", "year")}
"""Compared sheets that only some runs have (msr: workbooks with a reserve). A comparison has
them when one of its runs does; a run without one has no rows there."""
LINKS_SHEET = "transfers"
"""Where the links are read: every direction of every link-year has a row in the linked case."""
LINK_KEYS = ("case", "from_system", "to_system")
BASE_SCENARIO = "base_scenario"
"""Column of the difference tables naming the run subtracted (the first)."""
RESULTS, RECORD = "results.xlsx", "run.json"
TITLE_PREFIX = "etslink results: "
"""How the summary sheet of results.xlsx starts its title cell, before the scenario name."""
PRICE_COLUMN = re.compile(r"^price_(?P<currency>.+)_per_tCO2e$")
RERUN = "run its workbook again with `etslink run WORKBOOK --out DIR` and compare that folder"


def compare_runs(run_dirs: Sequence[Path]) -> Comparison:
    """Read and check finished run folders; return their tables side by side.

    Args:
        run_dirs: Two or more folders written by `etslink run`; the first is the base the
            others are compared with.

    Raises:
        InputError: listing every problem of every folder at once: fewer than two folders,
            a folder given twice, a folder that is missing, cannot be read or is not a
            finished run, a results.xlsx that cannot be read or lacks a compared sheet or
            column, runs in a currency other than the first run's.
    """
    folders = [Path(d) for d in run_dirs]
    issues = _check_folder_list(folders)
    runs: list[FinishedRun] = []
    for folder in dict.fromkeys(folders):
        run, found = _read_run(folder)
        issues += found
        if run is not None:
            runs.append(run)
    if runs and runs[0].folder == folders[0]:  # the base's currency is known
        issues += _check_currencies(runs)
    if issues:
        raise InputError(issues)
    runs = _with_optional_sheets(_unique_scenarios(runs))
    groups, unlinked = _linked_groups(runs)
    sheets = [sheet for sheet in _keys() if sheet in runs[0].tables]
    return Comparison(
        runs=tuple(runs),
        currency=runs[0].currency,
        stacked={sheet: _stack(runs, sheet) for sheet in sheets},
        differences={sheet: _differences(runs, sheet) for sheet in sheets},
        groups=groups,
        unlinked=unlinked,
    )


def compare(run_dirs: Sequence[Path], command: list[str] | None = None) -> CompareResult:
    """Read and check finished run folders; return them side by side with the run record.

    Args:
        run_dirs: Two or more folders written by `etslink run`, the base first.
        command: How the comparison was started, for the record; None: the command line.

    Raises:
        InputError: listing every problem of the folders (see `compare_runs`).
    """
    comparison = compare_runs(run_dirs)
    return CompareResult(comparison, comparison_record(comparison, command))


def write_comparison(comparison: Comparison, out_dir: Path) -> dict[str, Any]:
    """Write comparison.xlsx, report.html and run.json into `out_dir`; return the record.

    Nothing is written unless all three files are: they are made in a temporary folder
    that is then renamed to `out_dir`.

    Raises:
        InputError: `out_dir` exists and is not an empty folder.
    """
    result = CompareResult(comparison, comparison_record(comparison))
    write_compare(result, out_dir, check_output_dir)
    return result.record


def comparison_record(comparison: Comparison, command: list[str] | None = None) -> dict[str, Any]:
    """Return the comparison's own run record: the compared folders and their input hashes.

    Args:
        comparison: The runs side by side.
        command: How the comparison was started; None: the command line (`sys.argv`).
    """
    return {
        "command": sys.argv if command is None else command,
        "started_utc": utc_stamp(),
        "versions": package_versions(),
        "currency": comparison.currency,
        "base_scenario": comparison.scenarios[0],
        "compared": [
            {
                SCENARIO: run.scenario,
                "folder": str(run.folder),
                "input": run.record.get("input", {}),
                "run_started_utc": run.record.get("started_utc", ""),
                "results_sha256": file_sha256(run.folder / RESULTS),
            }
            for run in comparison.runs
        ],
    }


# --- reading and checking -------------------------------------------------------------


def _issue(where: Path | str, problem: str, fix: str) -> Issue:
    """Return an issue about a folder or file rather than a workbook cell."""
    return Issue(str(where), None, "", "", problem, fix)


def _check_folder_list(folders: list[Path]) -> list[Issue]:
    """Return issues with the list itself: too short, or a folder given twice."""
    issues = []
    if len(folders) < 2:
        issues.append(
            _issue(
                "compare",
                f"it needs at least two run folders and got {len(folders)}",
                "give two or more folders written by `etslink run`, the base scenario first",
            )
        )
    first_seen: dict[Path, Path] = {}
    for folder in folders:
        key = folder.resolve()
        if key in first_seen:
            problem = f'the folder is given twice (also as "{first_seen[key]}")'
            issues.append(_issue(folder, problem, "give each run folder once"))
        else:
            first_seen[key] = folder
    return issues


RUN_FOLDER = f"give a folder written by `etslink run`, which holds {RESULTS} and {RECORD}"


def _not_a_run(folder: Path) -> Issue | None:
    """Return why `folder` is not a finished run folder, or None when it looks like one."""
    try:
        return _not_a_run_folder(folder)
    except OSError as error:  # e.g. a folder under one you may not read
        problem = f"the folder cannot be read ({error.strerror or error})"
        return _issue(folder, problem, f"check that you may read it; {RUN_FOLDER}")


def _not_a_run_folder(folder: Path) -> Issue | None:
    """Return what kind of folder `folder` is if not a finished run (may raise OSError)."""
    if not folder.exists():
        return _issue(folder, "the folder does not exist", f"check the path; {RUN_FOLDER}")
    if not folder.is_dir():
        return _issue(folder, "this is a file, not a run folder", RUN_FOLDER)
    if (folder / "summary.xlsx").exists() and not (folder / RESULTS).exists():
        return _issue(
            folder, "this is the output of `etslink sweep`, not of `etslink run`", RUN_FOLDER
        )
    if (folder / "comparison.xlsx").exists():
        return _issue(folder, "this is the output of `etslink compare`, not of a run", RUN_FOLDER)
    missing = [name for name in (RESULTS, RECORD) if not (folder / name).is_file()]
    if missing:
        what = " and ".join(missing)
        return _issue(folder, f"this is not a finished etslink run: it has no {what}", RUN_FOLDER)
    return None


def _read_run(folder: Path) -> tuple[FinishedRun | None, list[Issue]]:
    """Return the run in `folder` and no issues, or None and what is wrong with it."""
    not_a_run = _not_a_run(folder)
    if not_a_run is not None:
        return None, [not_a_run]
    record, issues = _read_record(folder)
    tables, title, found = _read_tables(folder / RESULTS)
    issues += found
    if issues or record is None:
        return None, issues
    currency = _currency(tables["prices"])
    if currency is None:
        return None, [
            _issue(
                folder / RESULTS,
                "the sheet prices has no column price_<CUR>_per_tCO2e",
                RERUN,
            )
        ]
    if "counterfactual" in set(tables["prices"]["case"]):
        problem = (
            "this run's second case is a counterfactual (links marked in_counterfactual), "
            "which etslink compare does not yet put beside other runs"
        )
        return None, [_issue(folder, problem, "compare runs made without in_counterfactual links")]
    missing = _missing_columns(tables, Columns(currency))
    if missing:
        return None, [_issue(folder / RESULTS, lacks, RERUN) for lacks in missing]
    name = str(record.get("scenario_name") or title or folder.name)
    return FinishedRun(folder, name, record, currency, tables), []


def _missing_columns(tables: dict[str, pd.DataFrame], cols: Columns) -> list[str]:
    """Return per sheet the columns that the comparison's totals need and it lacks, in words."""
    needed = {
        "gains": (
            cols.case_money("autarky", "compliance_cost"),
            cols.case_money("linked", "compliance_cost"),
            cols.money("gain_from_linking", pv=True),
            cols.case_money("linked", "paid_abroad"),
        ),
        "balances": ("emissions_MtCO2e",),
    }
    missing = {
        sheet: [c for c in columns if c not in tables[sheet].columns]
        for sheet, columns in needed.items()
    }
    return [
        f"the sheet {sheet} has no column {', '.join(absent)}"
        for sheet, absent in missing.items()
        if absent
    ]


def _read_record(folder: Path) -> tuple[dict[str, Any] | None, list[Issue]]:
    """Return the run record of `folder`, or None and why it cannot be read."""
    path = folder / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, [_issue(path, f"the run record cannot be read ({error})", RERUN)]
    if not isinstance(record, dict):
        return None, [_issue(path, "the run record is not a JSON object", RERUN)]
    return record, []


def _read_tables(path: Path) -> tuple[dict[str, pd.DataFrame], str, list[Issue]]:
    """Return the compared sheets of a results.xlsx, its scenario title, and any issues."""
    try:  # a damaged sheet fails only when it is read, not when the file is opened
        with pd.ExcelFile(path, engine="calamine") as book:
            present = [s for s in (*_keys(), LINKS_SHEET) if s in book.sheet_names]
            tables = pd.read_excel(book, sheet_name=present) if present else {}
            title = _title(book) if "summary" in book.sheet_names else ""
    except (CalamineError, OSError, ValueError) as error:
        problem = f"the file cannot be read as an Excel workbook ({error})"
        return {}, "", [_issue(path, problem, RERUN)]
    issues = [
        _issue(path, f"the sheet {sheet} is missing", RERUN)
        for sheet in (*KEYS, LINKS_SHEET)
        if sheet not in tables
    ]
    for sheet, frame in tables.items():
        issues += _check_table(path, sheet, frame)
    return tables, title, issues


def _title(book: pd.ExcelFile) -> str:
    """Return the scenario name in the summary's title cell, or "" when it has none."""
    head = pd.read_excel(book, sheet_name="summary", header=None, nrows=1)
    cell = str(head.iat[0, 0]) if head.size else ""
    return cell.removeprefix(TITLE_PREFIX).strip() if cell.startswith(TITLE_PREFIX) else ""


def _check_table(path: Path, sheet: str, frame: pd.DataFrame) -> list[Issue]:
    """Return issues with one sheet: missing keys, fractional years, or duplicate keys."""
    keys = LINK_KEYS if sheet == LINKS_SHEET else _keys()[sheet]
    absent = [k for k in keys if k not in frame.columns]
    if absent:
        problem = f"the sheet {sheet} has no column {', '.join(absent)}"
        return [_issue(path, problem, RERUN)]
    if sheet == LINKS_SHEET:
        return []
    issues = []
    if "year" in keys and frame["year"].dtype.kind not in "iu":
        issues.append(
            _issue(path, f"the sheet {sheet} has a year that is not a whole number", RERUN)
        )
    if frame.duplicated(list(keys)).any():
        what = ", ".join(keys)
        issues.append(_issue(path, f"the sheet {sheet} has two rows with the same {what}", RERUN))
    return issues


def _currency(prices: pd.DataFrame) -> str | None:
    """Return the currency in the name of the price column, e.g. EUR, or None."""
    for column in prices.columns:
        found = PRICE_COLUMN.match(str(column))
        if found:
            return found["currency"]
    return None


def _check_currencies(runs: list[FinishedRun]) -> list[Issue]:
    """Return an issue for each run whose currency differs from the first run's."""
    first = runs[0]
    return [
        _issue(
            run.folder,
            f'its results are in {run.currency} and those of the first run "{first.folder}" '
            f"in {first.currency}; compare converts no currencies",
            f"set currency to {first.currency} on the settings sheet of "
            f"{run.record.get('input', {}).get('path', 'its workbook')}, run it again and "
            "compare that folder",
        )
        for run in runs[1:]
        if run.currency != first.currency
    ]


def _unique_scenarios(runs: list[FinishedRun]) -> list[FinishedRun]:
    """Return the runs with names made unique: a shared name gets its folder's name added.

    If that is not enough (two folders of the same name), a running number follows.
    """
    count = pd.Series([r.scenario for r in runs]).value_counts()
    named = [
        f"{r.scenario} ({r.folder.name})" if count[r.scenario] > 1 else r.scenario for r in runs
    ]
    seen: dict[str, int] = {}
    unique = []
    for name in named:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return [
        FinishedRun(r.folder, name, r.record, r.currency, r.tables)
        for r, name in zip(runs, unique, strict=True)
    ]


def _keys() -> dict[str, tuple[str, ...]]:
    """Return every compared sheet and its key columns: those all runs have, then the rest."""
    return KEYS | OPTIONAL_KEYS


def _with_optional_sheets(runs: list[FinishedRun]) -> list[FinishedRun]:
    """Return the runs, each with every optional sheet that one of them has.

    A run without such a sheet gets it empty, with the columns (and their types) of the
    first run that has it, so that its rows of the other runs get blank differences.
    """
    empty = {
        sheet: next(run.tables[sheet] for run in runs if sheet in run.tables).iloc[:0]
        for sheet in OPTIONAL_KEYS
        if any(sheet in run.tables for run in runs)
    }
    return [FinishedRun(r.folder, r.scenario, r.record, r.currency, empty | r.tables) for r in runs]


# --- building the tables --------------------------------------------------------------


def _stack(runs: list[FinishedRun], sheet: str) -> pd.DataFrame:
    """Return every run's rows of a sheet under a leading `scenario` column."""
    frames = [run.tables[sheet] for run in runs]
    columns = list(dict.fromkeys(c for frame in frames for c in frame.columns))
    stacked = pd.concat([frame.reindex(columns=columns) for frame in frames], ignore_index=True)
    scenario = np.repeat([run.scenario for run in runs], [len(f) for f in frames])
    stacked.insert(0, SCENARIO, scenario)
    return stacked


def _numeric(column: pd.Series) -> bool:
    """Return whether a column holds numbers (truth values do not count)."""
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf"


def _difference(base: pd.DataFrame, other: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Return `other` minus `base` on the same keys, for every numeric column of both.

    Rows keep the base's order; keys only in `other` follow. A key in only one of the two
    gets blank differences.
    """
    a, b = base.set_index(keys), other.set_index(keys)
    values = [c for c in a.columns if c in b.columns and _numeric(a[c]) and _numeric(b[c])]
    index = a.index.append(b.index[~b.index.isin(a.index)])
    change = b[values].reindex(index).astype(float) - a[values].reindex(index).astype(float)
    return change.reset_index()


def _differences(runs: list[FinishedRun], sheet: str) -> pd.DataFrame:
    """Return each later run minus the first on one sheet, stacked with scenario names."""
    base, keys = runs[0], list(_keys()[sheet])
    frames = []
    for run in runs[1:]:
        change = _difference(base.tables[sheet], run.tables[sheet], keys)
        change.insert(0, BASE_SCENARIO, base.scenario)
        change.insert(0, SCENARIO, run.scenario)
        frames.append(change)
    columns = list(dict.fromkeys(c for frame in frames for c in frame.columns))
    return pd.concat([f.reindex(columns=columns) for f in frames], ignore_index=True)


def _systems(runs: list[FinishedRun]) -> tuple[str, ...]:
    """Return every system of every run: the first run's in its workbook order, then new ones."""
    names = (str(s) for run in runs for s in run.tables["gains"]["system"])
    return tuple(dict.fromkeys(names))


def _linked_groups(
    runs: list[FinishedRun],
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """Return the groups of systems that a link joins in any run, and the systems in none.

    A run's links are the rows of its linked case on the transfers sheet, which lists
    every direction of every link-year, moved or not.
    """
    systems = _systems(runs)
    forest = Forest(systems)
    for run in runs:
        links = run.tables[LINKS_SHEET]
        linked = links[links["case"] == "linked"]
        for a, b in zip(linked["from_system"], linked["to_system"], strict=True):
            if str(a) in forest.parent and str(b) in forest.parent:
                forest.join(str(a), str(b))
    members: dict[str, list[str]] = {}
    for s in systems:
        members.setdefault(forest.root(s), []).append(s)
    groups = tuple(tuple(g) for g in members.values() if len(g) > 1)
    unlinked = tuple(g[0] for g in members.values() if len(g) == 1)
    return groups, unlinked
