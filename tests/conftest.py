"""Shared helpers: write small input workbooks from records and solve them."""

from __future__ import annotations

import csv
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from etslink.cli import main
from etslink.inputs.workbook import write_workbook
from etslink.outputs.results import Results
from etslink.workflows.run import load_workbook, run_cases

Tables = dict[str, list[dict[str, Any]]]
BASELINE = 100.0  # MtCO2e, every system-year of the known-answer cases
EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"


def csv_rows(folder: Path, name: str) -> list[dict[str, str]]:
    """Return the rows of <folder>/<name>.csv (an example's sourced data)."""
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_builder(name: str) -> ModuleType:
    """Import inputs/<name>.py as running the script does (inputs/ on the path: buildkit)."""
    inputs = EXAMPLE.parent
    if str(inputs) not in sys.path:
        sys.path.insert(0, str(inputs))
    spec = importlib.util.spec_from_file_location(name, inputs / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def linear_case(
    slopes: dict[str, float],
    required: dict[str, float],
    years: tuple[int, ...] = (2030,),
    baseline: float = BASELINE,
    **sheets: list[dict[str, Any]],
) -> Tables:
    """Return tables of systems with MAC(a) = slope * a and cap = baseline - required.

    Extra keyword arguments add rows to (or, for settings, replace) the named sheets.
    """
    tables: Tables = {
        "settings": [{"key": "currency", "value": "EUR"}],
        "systems": [{"system": s} for s in slopes],
        "emissions": [
            {
                "system": s,
                "year": y,
                "baseline_MtCO2e": baseline,
                "cap_MtCO2e": baseline - required[s],
            }
            for s in slopes
            for y in years
        ],
        "mac_linear": [
            {"system": s, "year": y, "slope_per_tCO2e_per_MtCO2e": c}
            for s, c in slopes.items()
            for y in years
        ],
    }
    for name, rows in sheets.items():
        tables[name] = rows if name == "settings" else tables.get(name, []) + rows
    return tables


def cap_shock(system: str, mean: float = 1.0, sd: float = 0.01) -> list[dict[str, Any]]:
    """Return an uncertainty sheet that scales a system's caps by a normal draw."""
    return [
        {
            "parameter": "cap",
            "target": system,
            "distribution": "normal",
            "apply": "scale",
            "mean": mean,
            "sd": sd,
        }
    ]


@pytest.fixture
def workbook(tmp_path: Path) -> Callable[[Tables], Path]:
    """Return a function that writes tables to a fresh .xlsx file and returns its path."""
    counter = iter(range(10_000))

    def write(tables: Tables) -> Path:
        path = tmp_path / f"case{next(counter)}.xlsx"
        write_workbook(path, tables)
        return path

    return write


@pytest.fixture
def solve(workbook: Callable[[Tables], Path]) -> Callable[[Tables], Results]:
    """Return a function that writes, reads, validates and solves tables."""

    def run(tables: Tables) -> Results:
        data, _ = load_workbook(workbook(tables))
        return run_cases(data)

    return run


@pytest.fixture
def solve_data(workbook: Callable[[Tables], Path]) -> Callable[..., Results]:
    """Return a function that solves tables with supply steps (system, year, trigger [CUR
    per tCO2e], quantity [MtCO2e]) that no sheet carries yet."""
    import dataclasses

    from etslink.core.data import SupplyStep

    def run(tables: Tables, steps: list[tuple[str, int, float, float]]) -> Results:
        data, _ = load_workbook(workbook(tables))
        steps_ = tuple(SupplyStep(*step) for step in steps)
        return run_cases(dataclasses.replace(data, supply_steps=steps_))

    return run


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> Path:
    """Run the shipped example once per test session; return its output folder."""
    out = tmp_path_factory.mktemp("runs") / "example"
    assert main(["run", str(EXAMPLE), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(autouse=True, scope="session")
def _read_results_with_calamine() -> None:
    """Read result workbooks with calamine, pandas' coming default (it warns otherwise)."""
    import pandas as pd

    pd.set_option("io.excel.xlsx.reader", "calamine")
