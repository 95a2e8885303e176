"""The run record (`run.json`) and the atomic output folder."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from etslink.errors import reject


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
    for name in ("etslink", "pyomo", "highspy", "pandas", "numpy", "openpyxl"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def utc_stamp() -> str:
    """Return the current UTC time as e.g. 20261125T021500Z (safe in folder names)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def run_record(
    workbook: Path,
    cases: dict[str, dict[str, Any]],
    timings: dict[str, float],
    solver_version: str,
    started_utc: str,
) -> dict[str, Any]:
    """Return the run record: input hash, versions, solver status and options, timings."""
    return {
        "input": {"path": str(workbook), "sha256": file_sha256(workbook)},
        "command": sys.argv,
        "started_utc": started_utc,
        "versions": {**package_versions(), "highs": solver_version},
        "cases": cases,
        "timings_s": timings,
    }


def check_output_dir(target: Path) -> None:
    """Raise InputError unless `target` does not exist or is an empty folder."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        reject(
            "--out",
            f'the output folder "{target}" already '
            "exists and is not empty; etslink never overwrites results",
            "choose another --out folder, or leave --out out to get a new time-stamped folder",
        )


@contextlib.contextmanager
def atomic_output_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder; move it to `target` only if the block succeeds."""
    check_output_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        check_output_dir(target)
        tmp.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write `record` as indented JSON."""
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
