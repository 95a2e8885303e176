"""The run record (`run.json`) and the atomic output folder."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from etslink.errors import reject
from etslink.inputs.frames import Frames


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Return the versions of Python and of the packages that shape the results."""
    versions = {"python": platform.python_version()}
    for name in ("etslink", "pyomo", "highspy", "pandas", "numpy", "scipy", "openpyxl"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def utc_stamp() -> str:
    """Return the current UTC time as e.g. 20261125T021500Z (safe in folder names)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def input_record(workbook: Path | Frames) -> dict[str, Any]:
    """Return where a run's inputs came from: the file and its SHA-256, or the tables'."""
    if isinstance(workbook, Frames):
        return workbook.provenance()
    return {"path": str(workbook), "sha256": file_sha256(workbook)}


def run_record(
    workbook: Path | Frames,
    cases: dict[str, dict[str, Any]],
    timings: dict[str, float],
    solver_version: str,
    started_utc: str,
    command: list[str] | None = None,
) -> dict[str, Any]:
    """Return the run record: input hash, versions, solver status and options, timings.

    Args:
        workbook: The input workbook, or tables changed in Python (`etslink.Workbook`).
        cases: Solver status and options per case.
        timings: Wall time per stage [s].
        solver_version: HiGHS's version.
        started_utc: When the run started, as `utc_stamp` writes it.
        command: How the run was started; None: the command line (`sys.argv`).
    """
    return {
        "input": input_record(workbook),
        "command": sys.argv if command is None else command,
        "started_utc": started_utc,
        "versions": {**package_versions(), "highs": solver_version},
        "cases": cases,
        "timings_s": timings,
    }


def output_dir_in_use(target: Path) -> bool:
    """Return whether `target` exists and is not an empty folder (etslink will not use it)."""
    return target.exists() and (not target.is_dir() or any(target.iterdir()))


def unwritable(target: Path) -> str | None:
    """Return why etslink could not create the output folder `target`, or None.

    Checked before solving, so that a bad --out does not fail after a long solve.
    """
    if target.is_symlink() and not target.exists():
        return f'"{target}" is a link to nothing'
    ancestor = target.parent
    while not ancestor.exists():
        if ancestor.is_symlink():
            return f'"{ancestor}" is a link to nothing'
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f'"{ancestor}" is a file, so no folder can be made under it'
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f'the folder "{ancestor}" cannot be written to'
    return None


def check_output_dir(target: Path) -> None:
    """Raise InputError unless `target` can be made: new, or an empty folder (the CLI's check)."""
    problem = unwritable(target)
    if problem:
        reject("--out", problem, "choose an --out folder in a place you can write to")
    if output_dir_in_use(target):
        reject(
            "--out",
            f'the output folder "{target}" already '
            "exists and is not empty; etslink never overwrites results",
            "choose another --out folder, or leave --out out to get a new time-stamped folder",
        )


def refuse_output_dir_in_use(target: Path) -> None:
    """Raise FileExistsError unless `target` does not exist or is an empty folder (the API's).

    The Python API raises a Python error here, not an InputError: the folder is the caller's
    argument, not a problem of the workbook, and there is no --out option to name.
    """
    if output_dir_in_use(target):
        msg = (
            f'the output folder "{target}" exists and is not empty; '
            "etslink never overwrites results"
        )
        raise FileExistsError(msg)


def _remove_stale_temporaries(target: Path) -> None:
    """Remove temporary folders of `target` left by a killed run (its process is gone)."""
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        pid = stale.name.rpartition("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Return whether a process with this id runs (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def atomic_output_dir(
    target: Path, check: Callable[[Path], None] = check_output_dir
) -> Iterator[Path]:
    """Yield a temporary folder; move it to `target` only if the block succeeds.

    Args:
        target: The output folder; it must not exist or be empty.
        check: Raises unless `target` may be used; called before and after the block.
    """
    check(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        check(target)
        tmp.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write `record` as indented JSON."""
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")


@dataclass
class Timings:
    """Wall time per stage [s]."""

    seconds: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str, start: float) -> None:
        """Record the time since `start` (a `time.perf_counter()` reading) as `name`."""
        self.seconds[name] = round(time.perf_counter() - start, 4)
