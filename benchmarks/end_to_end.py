"""`etslink run` end to end against a bare pipeline doing the same work, in one run.

Run: python benchmarks/end_to_end.py [--size 50 30 20 mixed] [--repeats 5] [--markdown FILE]

Both sides run as fresh processes, timed from outside (interpreter start, imports, work,
exit), interleaved and in alternating order so that other load on the machine falls on both;
the ratio is of the medians.

- etslink: `etslink run WORKBOOK --out DIR --quiet` (every output: results.xlsx, report.html
  with its charts, run.json).
- the bare pipeline (`--bare`): reads every sheet of the same workbook with python-calamine;
  reads the two first-stage LPs (linked and autarky) from MPS files and solves them with
  highspy; writes the result tables with XlsxWriter, no charts: prices, balances, transfers,
  costs, shadow prices and gains of the same rows and columns as etslink's results.xlsx
  (computed from the solutions and the sheets read), a summary of price and import paths
  by year and the run record.

The LPs come from MPS files that etslink writes before timing starts (its Pyomo model of the
workbook as read by etslink, one file per case): this guarantees the bare pipeline solves the
very LPs of etslink's first stage (its objective is checked against run.json to 1e-9) without
a second implementation of the formulation that could drift from it. HiGHS's MPS reader
stands in for building the matrices from the sheets; it is C++ and takes about the time a
vectorised build would. The bare pipeline does not solve etslink's second stage (E14), so it
does a little less than etslink does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
CASES = ("linked", "autarky")


# --- the bare pipeline (runs in its own process; imports only what it uses) ----------------


def _read_workbook(path: str) -> dict[str, list[list[object]]]:
    """Return every sheet of the workbook as rows of cell values (the header first)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(path)
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def _solve(mps: str):  # noqa: ANN202 - (highspy.HighsLp, highspy.HighsSolution, objective)
    """Read one LP from an MPS file, solve it with etslink's options; return it solved."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.readModel(mps)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"{mps}: {h.getModelStatus()}")
    return h.getLp(), h.getSolution(), h.getInfo().objective_function_value


def _index(name: str) -> tuple[str, str]:
    """Return a Pyomo MPS name's component and index text, e.g. ("bank_MtCO2e", "S00_2030")."""
    component, _, rest = name.partition("(")
    return component, rest.rstrip("_").rstrip(")")


def _by_component(lp, solution) -> dict[str, dict[str, tuple[float, float]]]:  # noqa: ANN001
    """Return per row or column component its (value, dual) by index text."""
    found: dict[str, dict[str, tuple[float, float]]] = {}
    for names, values, duals in (
        (lp.col_names_, solution.col_value, solution.col_dual),
        (lp.row_names_, solution.row_value, solution.row_dual),
    ):
        for name, value, dual in zip(names, values, duals, strict=True):
            component, index = _index(name)
            component = component.removeprefix("c_u_").removeprefix("c_e_")
            found.setdefault(component, {})[index] = (value, dual)
    return found


def _case_tables(
    case: str, parts: dict[str, dict[str, tuple[float, float]]], sheets: dict[str, list]
) -> dict[str, list[list[object]]]:
    """Return one case's rows of prices, balances, transfers, costs and shadow prices."""
    price = {k: -dual for k, (_, dual) in parts["compliance"].items()}
    bank = {k: v for k, (v, _) in parts["bank_MtCO2e"].items()}
    cost_of = {(s, y, o): c for s, y, o, _, c in sheets["mac_steps"][1:]}
    abated: dict[str, float] = {}
    spent: dict[str, float] = {}
    for index, (value, _) in parts["abatement_step_MtCO2e"].items():
        key, option = index.rsplit("_", 1)
        s, y = key.rsplit("_", 1)
        abated[key] = abated.get(key, 0.0) + value
        spent[key] = spent.get(key, 0.0) + value * cost_of[s, float(y), option]
    one_way = {f"{a}__{b}" for a, b, direction, *_ in sheets["links"][1:] if direction == "one-way"}
    imports: dict[str, float] = {}
    transfers = []
    for index, (value, _) in parts.get("transfer_MtCO2e", {}).items():
        pair, year = index.rsplit("_", 1)
        a, b = pair.split("__")
        arcs = [(a, b, max(value, 0.0))] + ([] if pair in one_way else [(b, a, max(-value, 0.0))])
        for seller, buyer, moved in arcs:
            paid = moved * price.get(f"{seller}_{year}", 0.0)
            transfers.append([case, seller, buyer, int(year), moved, 1.0, moved, paid])
            imports[f"{buyer}_{year}"] = imports.get(f"{buyer}_{year}", 0.0) + moved
            imports[f"{seller}_{year}"] = imports.get(f"{seller}_{year}", 0.0) - moved
    prices, balances, costs = [], [], []
    for s, y, baseline, cap in sheets["emissions"][1:]:
        key = f"{s}_{int(y)}"
        p, net = price.get(key, 0.0), imports.get(key, 0.0)
        prices.append([case, s, int(y), p])
        balances.append(
            [case, s, int(y), baseline, cap, abated[key], baseline - abated[key], net, 0.0]
            + [bank.get(key, 0.0), 0.0, 0.0, 0.0, 0.0]
        )
        costs.append(
            [case, s, int(y), spent[key], 0.0, 0.0, 0.0, 0.0, 0.0, max(net, 0.0) * p]
            + [max(-net, 0.0) * p, spent[key] + net * p, 1.0, spent[key] + net * p]
        )
    shadow = [
        [case, component, index, "", 0, value, -dual, f"the {component} binds"]
        for component in ("transfer_limit", "borrowing_limit")
        for index, (value, dual) in parts.get(component, {}).items()
        if dual != 0.0
    ]
    return {
        "prices": prices,
        "balances": balances,
        "transfers": transfers,
        "costs": costs,
        "shadow_prices": shadow,
    }


def _gains(costs: list[list[object]], systems: list[str]) -> list[list[object]]:
    """Return per system its costs summed over the years in both cases, and its gain."""
    total: dict[tuple[str, str], list[float]] = {}
    for row in costs:
        sums = total.setdefault((row[0], row[1]), [0.0] * 5)
        for i, column in enumerate((13, 9, 10, 4, 9)):
            sums[i] += row[column]
    rows = []
    for s in systems:
        linked, autarky = total["linked", s], total["autarky", s]
        gain = autarky[0] - linked[0]
        rows.append([s, *linked, *autarky, gain, 100 * gain / autarky[0] if autarky[0] else 0.0])
    return rows


def _by_year(rows: list[list[object]], column: int) -> list[list[object]]:
    """Return a years x (system, case) table of one column of a per case table."""
    years = sorted({row[2] for row in rows})
    keys = sorted({(row[1], row[0]) for row in rows})
    cell = {(row[1], row[0], row[2]): row[column] for row in rows}
    return [[y, *(cell.get((s, c, y), 0.0) for s, c in keys)] for y in years]


def _write(path: str, tables: dict[str, list[list[object]]]) -> None:
    """Write each table on its own sheet: bold header, number format, one column at a time."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"nan_inf_to_errors": True})
    bold, number = book.add_format({"bold": True}), book.add_format({"num_format": "#,##0.000"})
    for name, rows in tables.items():
        sheet = book.add_worksheet(name)
        width = max((len(row) for row in rows), default=0)
        sheet.write_row(0, 0, [f"column_{i}" for i in range(width)], bold)
        for col in range(width):
            column = [row[col] for row in rows]
            sheet.write_column(1, col, column, number if isinstance(column[0], float) else None)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(rows), max(width - 1, 0))
    book.close()


def bare(workbook: str, folder: str, out: str) -> dict[str, float]:
    """Read the workbook, solve both LPs, write the tables; return each LP's objective."""
    sheets = _read_workbook(workbook)
    tables: dict[str, list[list[object]]] = {}
    objectives = {}
    for case in CASES:
        lp, solution, objectives[case] = _solve(f"{folder}/{case}.mps")
        for name, rows in _case_tables(case, _by_component(lp, solution), sheets).items():
            tables.setdefault(name, []).extend(rows)
    systems = [row[0] for row in sheets["systems"][1:]]
    summary = _by_year(tables["prices"], 3) + _by_year(tables["balances"], 7)
    tables = {"summary": summary, **tables, "gains": _gains(tables["costs"], systems)}
    tables["run"] = [[f"item {i}", "value"] for i in range(36)]
    _write(out, tables)
    return objectives


# --- the harness ---------------------------------------------------------------------------


def prepare(size: tuple[int, int, int, str], folder: Path) -> Path:
    """Write the synthetic workbook and etslink's first-stage LPs of it; return the workbook."""
    sys.path.insert(0, str(HERE))
    from etslink.formulation import build_model
    from etslink.inputs.workbook import write_workbook
    from etslink.solving.cases import case_data
    from etslink.workflows.run import load_workbook
    from synthetic import synthetic, workbook_tables

    workbook = folder / "workbook.xlsx"
    write_workbook(workbook, workbook_tables(synthetic(*size[:3], size[3])))
    data, _ = load_workbook(workbook)
    for case, d in case_data(data).items():
        mps = str(folder / f"{case}.mps")
        build_model(d).write(mps, io_options={"symbolic_solver_labels": True})
    return workbook


def _timed(command: list[str]) -> float:
    """Run a command to its end; return its wall time [s]."""
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def time_etslink(workbook: Path, out: Path) -> tuple[float, dict]:
    """Time `etslink run` of the workbook [s]; return it and its run record."""
    etslink = Path(sys.executable).with_name("etslink")
    seconds = _timed([str(etslink), "run", str(workbook), "--out", str(out), "--quiet"])
    return seconds, json.loads((out / "run.json").read_text())


def time_bare(workbook: Path, folder: Path, out: Path) -> float:
    """Time the bare pipeline of the workbook in a fresh process [s]."""
    return _timed(
        [sys.executable, __file__, "--bare", str(workbook), str(folder), str(out / "bare.xlsx")]
    )


def check_same_lps(workbook: Path, folder: Path, record: dict) -> None:
    """Raise unless the bare LPs' objectives are etslink's first-stage objectives (1e-9)."""
    objectives = bare(str(workbook), str(folder), str(folder / "check.xlsx"))
    for case, objective in objectives.items():
        theirs = next(v for k, v in record["cases"][case].items() if k.startswith("objective"))
        if abs(objective - theirs) > 1e-9 * max(1.0, abs(theirs)):
            raise RuntimeError(f"{case}: bare objective {objective} != etslink's {theirs}")


def measure(size: tuple[int, int, int, str], repeats: int) -> dict[str, object]:
    """Return the median wall times [s] of both sides, their ratio and etslink's stages."""
    ours, theirs, records = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        workbook = prepare(size, folder)
        for i in range(repeats):
            out = folder / f"run{i}"
            out.mkdir()
            order = ("etslink", "bare") if i % 2 == 0 else ("bare", "etslink")
            for side in order:
                if side == "etslink":
                    seconds, record = time_etslink(workbook, out / "etslink")
                    ours.append(seconds)
                    records.append(record)
                else:
                    theirs.append(time_bare(workbook, folder, out))
        check_same_lps(workbook, folder, records[0])
    median = statistics.median(ours)
    stages = records[ours.index(min(ours, key=lambda s: abs(s - median)))]["timings_s"]
    return {
        "size": "x".join(str(part) for part in size),
        "etslink_s": median,
        "bare_s": statistics.median(theirs),
        "ratio": median / statistics.median(theirs),
        "etslink_all_s": ours,
        "bare_all_s": theirs,
        "etslink_stages_s": stages,
    }


def markdown(row: dict[str, object]) -> str:
    """Return the measurement as a Markdown table."""
    stages = ", ".join(f"{k} {v:.2f}" for k, v in row["etslink_stages_s"].items())
    return (
        "| workbook | etslink run [s] | bare pipeline [s] | ratio | target |\n"
        "|---|---|---|---|---|\n"
        f"| {row['size']} | {row['etslink_s']:.2f} | {row['bare_s']:.2f} "
        f"| {row['ratio']:.2f}x | <= 3x |\n\n"
        f"etslink's stages (run.json) in s: {stages}; {os.cpu_count()} cores.\n"
    )


def main() -> None:
    """Measure (or, with --bare, be the bare pipeline)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", nargs=4, default=["50", "30", "20", "mixed"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--bare", nargs=3, metavar=("WORKBOOK", "MPS_FOLDER", "OUT_XLSX"))
    args = parser.parse_args()
    if args.bare:
        bare(*args.bare)
        return
    size = (int(args.size[0]), int(args.size[1]), int(args.size[2]), args.size[3])
    row = measure(size, args.repeats)
    print(json.dumps(row))
    print(markdown(row))
    if args.markdown:
        args.markdown.write_text(markdown(row), encoding="utf-8")


if __name__ == "__main__":
    main()
