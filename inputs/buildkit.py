"""What the example builders share: sourced CSV tables, solving a workbook, calibrating MACs.

`build_example.py` and `build_explore.py` import it (run them from anywhere: Python puts the
script's folder, inputs/, on the path).
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etslink.inputs.workbook import write_workbook
from etslink.outputs.results import CaseResults, extract_case
from etslink.solving.solve import solve_case
from etslink.workflows.run import load_workbook

Table = list[dict[str, Any]]
PRICE_TOLERANCE = 1e-9
"""A calibration stops when the lead's price is within this share of its target."""
MAX_SOLVES = 80
"""Solves after which a calibration stops (it needs about 15)."""


def read_csv(folder: Path, name: str) -> Table:
    """Return the rows of <folder>/<name>.csv."""
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(folder: Path, name: str, rows: Table) -> None:
    """Write rows to <folder>/<name>.csv."""
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def reserve_rows(folder: Path) -> Table:
    """Return the rows of <folder>/msr.csv as rows of sheet msr (numbers typed, no sources)."""
    rows = []
    for r in read_csv(folder, "msr"):
        row: dict[str, Any] = {
            k: (v if k in ("system", "intake_capped_at_excess") else float(v))
            for k, v in r.items()
            if k not in ("status", "source_id") and v != ""
        }
        row["first_year"], row["last_year"] = int(r["first_year"]), int(r["last_year"])
        if r.get("announced_year"):
            row["announced_year"] = int(r["announced_year"])
        rows.append(row)
    return rows


def number(text: str) -> str | float:
    """Return a CSV cell as a number where it is one (Excel then shows a number, not text)."""
    try:
        return float(text)
    except ValueError:
        return text


def percent(model: float, observed: float) -> float:
    """Return 100 (model / observed - 1), rounded to 0.1 (never -0.0)."""
    return round(100 * (model / observed - 1), 1) + 0.0


def linked_case(workbook_tables: Mapping[str, Table]) -> CaseResults:
    """Return the linked case's results of the workbook the tables make."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "calibration.xlsx"
        write_workbook(path, dict(workbook_tables))
        data, _ = load_workbook(path)
    model, outcome = solve_case("linked", data)
    return extract_case("linked", model, data, outcome)


@dataclass
class Root:
    """Illinois (regula falsi) search for the log factor at which f = price/target - 1 = 0.

    The lead's price rises with its group's factor. The first trial is the bracket's top: if
    the price stays below the target there, no factor in the bracket reaches it (`failed`);
    nor if the bracket closes on a point whose price is not the target.
    Until a trial falls below the target the search halves the bracket (in log); then false
    position between the two ends, the Illinois rule halving the weight of an end that
    stays, which converges superlinearly where the price curve is far from straight.
    """

    low: float
    high: float
    f_low: float | None = None
    f_high: float | None = None
    side: int = 0
    done: bool = False
    failed: bool = False

    def point(self) -> float:
        """Return the next log factor to try."""
        if self.f_high is None:
            return self.high
        if self.f_low is None:
            return (self.low + self.high) / 2
        return (self.low * self.f_high - self.high * self.f_low) / (self.f_high - self.f_low)

    def update(self, x: float, f: float) -> None:
        """Record f at x and narrow the bracket."""
        if self.f_high is None and f < 0:
            self.done = self.failed = True
        elif abs(f) < PRICE_TOLERANCE or self.high - self.low < 1e-12:
            self.low = self.high = x
            self.done = True
            self.failed = abs(f) > 1e3 * PRICE_TOLERANCE  # the bracket held no root
        elif f < 0:
            if self.side == -1 and self.f_high is not None:
                self.f_high /= 2
            self.low, self.f_low, self.side = x, f, -1
        else:
            if self.side == 1 and self.f_low is not None:
                self.f_low /= 2
            self.high, self.f_high, self.side = x, f, 1


def search_factors(
    brackets: Mapping[str, tuple[float, float]],
    mismatch: Callable[[dict[str, float]], dict[str, float]],
    steps: list[int] | None = None,
) -> dict[str, float | None]:
    """Return per group the factor at which `mismatch` is zero (None where none is found).

    The groups are not linked to each other, so one solve takes every group's next trial at
    once: `mismatch(factors)` solves the model with these factors and returns per group
    price / target - 1 of its lead, which rises with the group's factor.

    Args:
        brackets: Per group the lowest and highest factor searched.
        mismatch: The solve, as above.
        steps: If given, the number of solves is appended to it.
    """
    roots = {g: Root(math.log(low), math.log(high)) for g, (low, high) in brackets.items()}
    solves = 0
    while not all(root.done for root in roots.values()) and solves < MAX_SOLVES:
        trial = {g: root.point() for g, root in roots.items()}
        found = mismatch({g: math.exp(x) for g, x in trial.items()})
        solves += 1
        for g, root in roots.items():
            if not root.done:
                root.update(trial[g], found[g])
    if steps is not None:
        steps.append(solves)
    return {g: None if root.failed else math.exp(root.low) for g, root in roots.items()}
