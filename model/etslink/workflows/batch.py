"""One batch runner for many solves, results written as they arrive: sweep, explore.

Each batch has a partial file (a gzip CSV, one member per finished task, every task's rows
in the same columns) from which `--resume` learns what is done; the items left are solved
here (one worker) or go to dask workers in small tasks, each worker receiving the shared
data once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from etslink.errors import reject
from etslink.outputs.products import GZIP

TASK_SIZE_MAX = 8
"""Items per task at most; and at least about this many tasks per worker."""


def append_rows(path: Path, frame: pd.DataFrame) -> None:
    """Append rows to the gzip CSV at once (a new gzip member per call)."""
    frame.to_csv(path, mode="a", header=not path.exists(), index=False, compression=GZIP)


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
        key: The partial file's column that names an item (e.g. "draw", "combination").
        columns: The partial file's columns, in order; every task's rows are written so.
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


def drop_torn_member(partial: Path) -> None:
    """Rewrite a partial file without a last gzip member cut short (a kill mid-append).

    Each task's rows are one gzip member; a member without its end holds a task's rows
    in part, so it is dropped and its items are solved again.
    """
    import zlib

    if not partial.exists():
        return
    data = partial.read_bytes()
    complete = 0
    while complete < len(data):
        member = zlib.decompressobj(wbits=31)
        try:
            member.decompress(data[complete:])
        except zlib.error:
            break
        if not member.eof:
            break
        complete = len(data) - len(member.unused_data)
    if complete < len(data):
        partial.write_bytes(data[:complete])


def finished(partial: Path, key: str) -> set[Any]:
    """Return the names of the items already written to a partial file (torn end dropped)."""
    drop_torn_member(partial)
    if not partial.exists() or partial.stat().st_size == 0:
        return set()
    return set(pd.read_csv(partial, usecols=[key])[key].unique().tolist())


def run_batch(
    batch: Batch,
    partial: Path,
    *,
    workers: int,
    scheduler: str | None,
    progress: Callable[[int, int], None],
) -> pd.DataFrame:
    """Solve the items not yet in `partial`, appending each task's rows; return every row.

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
    return pd.read_csv(partial)


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
