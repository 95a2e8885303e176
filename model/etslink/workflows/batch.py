"""Many solves on dask, results written as they arrive: what `sweep` and `explore` share.

Each run has a partial file (a gzip CSV, one member per finished task) from which `--resume`
learns what is done; the items left go to the workers in small tasks, each worker receiving
the shared data once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

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


def client(workers: int, scheduler: str | None) -> Any:
    """Return a dask client: to `scheduler` if given, else to a new LocalCluster."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return Client(cluster)


def run_on_dask(
    shared: Any,
    solve: Callable[[Any, list[Any]], pd.DataFrame],
    todo: Sequence[Any],
    partial: Path,
    *,
    workers: int,
    scheduler: str | None,
    done: int,
    total: int,
    progress: Callable[[int, int], None],
) -> None:
    """Solve `todo` on dask, appending each task's rows to `partial` as it finishes.

    Args:
        shared: What every task needs (the data or the model), sent to each worker once.
        solve: solve(shared, items) returns the rows of those items; a module-level
            function, so that the workers can unpickle it.
        todo: The items left to solve.
        partial: The gzip CSV the rows are appended to.
        workers: Processes of a new local cluster (ignored with `scheduler`).
        scheduler: The address of a running dask scheduler, or None.
        done: Items finished before (in `partial` already).
        total: Items in all.
        progress: Called with the items finished and `total` as each task finishes.

    Ctrl-C cancels the outstanding tasks; what was written stays for --resume.
    """
    from distributed import as_completed

    dask = client(workers, scheduler)
    try:
        scattered = dask.scatter(shared, broadcast=True)
        tasks = chunks(todo, len(dask.scheduler_info()["workers"]))
        futures = dask.map(solve, [scattered] * len(tasks), tasks, pure=False)
        sizes = {future.key: len(task) for future, task in zip(futures, tasks, strict=True)}
        for future in as_completed(futures):
            append_rows(partial, future.result())
            done += sizes[future.key]
            progress(done, total)
    finally:
        dask.close()
        if dask.cluster is not None:
            dask.cluster.close()
