"""One batch runner for many solves, results written as they arrive: sweep, explore.

Each batch has a partial folder (a Parquet file per finished task, every task's rows in the
same columns) from which `--resume` learns what is done; the items left are solved here (one
worker) or go to dask workers in small tasks, each worker receiving the shared data once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from etslink.errors import reject

TASK_SIZE_MAX = 8
"""Items per task at most; and at least about this many tasks per worker."""


PART = "part-{:06d}.parquet"
"""A task's rows in a partial folder, numbered in the order the tasks finished."""


def append_rows(partial: Path, frame: pd.DataFrame) -> None:
    """Add one task's rows to a partial folder: a new Parquet file, whole or not at all.

    Written under a temporary name and renamed, so that a kill mid-write leaves no part.
    """
    partial.mkdir(parents=True, exist_ok=True)
    parts = _parts(partial)
    path = partial / PART.format(int(parts[-1].stem.removeprefix("part-")) + 1 if parts else 0)
    temporary = path.with_suffix(".tmp")
    frame.to_parquet(temporary, index=False)
    temporary.replace(path)


def _parts(partial: Path) -> list[Path]:
    """Return the part files of a partial folder, in the order they were written."""
    return sorted(partial.glob(PART.replace("{:06d}", "*"))) if partial.is_dir() else []


def chunks(todo: Sequence[Any], workers: int) -> list[list[Any]]:
    """Return the items in tasks of up to TASK_SIZE_MAX, about that many tasks per worker."""
    size = max(1, min(TASK_SIZE_MAX, len(todo) // (TASK_SIZE_MAX * max(workers, 1))))
    return [list(todo[i : i + size]) for i in range(0, len(todo), size)]


SCHEDULER_TIMEOUT_S = 10
"""How long to wait for a dask scheduler given with --scheduler before saying it is out of
reach."""


def client(workers: int, scheduler: str | None) -> Any:
    """Return a dask client: to `scheduler` if given, else to a new LocalCluster.

    Raises:
        InputError: `scheduler` cannot be reached.
    """
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as error:
            reject(
                "--scheduler",
                f"no dask scheduler answered at {scheduler} within {SCHEDULER_TIMEOUT_S} s "
                f"({type(error).__name__})",
                "start the scheduler (dask scheduler) or give its address as tcp://host:8786",
            )
    with _workers_ignore_ctrl_c():
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    return Client(cluster)


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes that ignore Ctrl-C (SIGINT; its disposition is inherited).

    Ctrl-C reaches every process of the terminal's group; the workers printed dozens of
    lines of tracebacks. Now only this process reacts: it stops and closes the cluster.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@dataclass(frozen=True)
class Batch:
    """Many solves of one workbook: a sweep's draws, explore's combinations.

    Attributes:
        key: The partial rows' column that names an item (e.g. "draw", "combination").
        columns: The partial rows' columns, in order; every task's rows are written so.
        shared: What every solve needs (the data, the model), sent to each worker once.
        solve: solve(shared, items) returns the rows of those items; a module-level
            function, so that dask workers can unpickle it.
        items: Every item: its name in the `key` column, and what `solve` receives.
        first: An item solved here before all others, whose errors stop the batch (the
            status quo of explore): its name and a function returning its rows.
    """

    key: str
    columns: tuple[str, ...]
    shared: Any
    solve: Callable[[Any, list[Any]], pd.DataFrame]
    items: Sequence[tuple[Any, Any]]
    first: tuple[Any, Callable[[], pd.DataFrame]] | None = None


def read_rows(partial: Path, columns: Sequence[str] | None = None) -> pd.DataFrame | None:
    """Return the rows of a partial folder (None if it has none), dropping broken parts.

    A part that cannot be read (cut short outside etslink's control, e.g. a full disk) is
    deleted, so that its items are solved again, as are leftovers of a write cut short.

    Args:
        partial: The partial folder.
        columns: Read only these columns; None: all.
    """
    import pyarrow

    for leftover in partial.glob("*.tmp") if partial.is_dir() else []:
        leftover.unlink()
    frames = []
    for part in _parts(partial):
        try:
            frames.append(pd.read_parquet(part, columns=None if columns is None else list(columns)))
        except (OSError, pyarrow.ArrowException):
            part.unlink()
    return pd.concat(frames, ignore_index=True) if frames else None


def finished(partial: Path, key: str) -> set[Any]:
    """Return the names of the items already written to a partial folder."""
    rows = read_rows(partial, [key])
    return set() if rows is None else set(rows[key].unique().tolist())


def run_batch(
    batch: Batch,
    partial: Path,
    *,
    workers: int,
    scheduler: str | None,
    progress: Callable[[int, int], None],
) -> pd.DataFrame:
    """Solve the items not yet in `partial`, adding each task's rows; return every row.

    With one worker and no scheduler the items are solved here, else on dask (a local
    cluster of `workers` processes, or the cluster at `scheduler`). Rows are appended as each
    task finishes, so that Ctrl-C keeps what was solved for --resume.
    """
    done = finished(partial, batch.key)
    if batch.first is not None and batch.first[0] not in done:
        append_rows(partial, batch.first[1]().reindex(columns=list(batch.columns)))
    todo = [item for name, item in batch.items if name not in done]
    total = len(batch.items)
    count = total - len(todo)
    progress(count, total)

    def record(rows: pd.DataFrame, solved: int) -> None:
        nonlocal count
        append_rows(partial, rows.reindex(columns=list(batch.columns)))
        count += solved
        progress(count, total)

    if todo and workers == 1 and scheduler is None:
        for task in chunks(todo, 1):
            record(batch.solve(batch.shared, task), len(task))
    elif todo:
        _on_dask(batch, todo, record, workers=workers, scheduler=scheduler)
    rows = read_rows(partial)
    return pd.DataFrame(columns=list(batch.columns)) if rows is None else rows


def _on_dask(
    batch: Batch,
    todo: Sequence[Any],
    record: Callable[[pd.DataFrame, int], None],
    *,
    workers: int,
    scheduler: str | None,
) -> None:
    """Solve `todo` on dask in small tasks, recording each task's rows as it finishes.

    Ctrl-C cancels the outstanding tasks.
    """
    from distributed import as_completed

    dask = client(workers, scheduler)
    try:
        scattered = dask.scatter(batch.shared, broadcast=True)
        tasks = chunks(todo, len(dask.scheduler_info()["workers"]))
        futures = dask.map(batch.solve, [scattered] * len(tasks), tasks, pure=False)
        sizes = {future.key: len(task) for future, task in zip(futures, tasks, strict=True)}
        for future in as_completed(futures):
            record(future.result(), sizes[future.key])
    finally:
        dask.close()
        if dask.cluster is not None:
            dask.cluster.close()
