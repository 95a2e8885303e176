"""The re-solving workflows timed through the commands users run, against bare HiGHS.

Run: python benchmarks/commands.py [--markdown FILE] [--repeats 3] [--before MODEL_DIR]

1. sweep: marginal time per draw of `etslink sweep` (20x20x10 clusters, caps drawn, one
   worker): the command run with N1 and N2 draws, (t2 - t1) / (N2 - N1), against warm bare
   highspy re-solves of both cases (linked, autarky) with the same right-hand sides moved;
2. explore: marginal time per combination of `etslink explore` (50x30x20 clusters, 10
   candidate links between clusters, one worker): --max-size 1 (10 combinations) and 2 (55),
   against one cold bare highspy solve of the same LP (every link in);
3. the example's sweep: `etslink sweep inputs/example.xlsx` (its 50 draws, one worker), and
   with --before the same command run on another checkout's model folder (e.g. an export of
   the commit before the change: `git archive <commit> | tar -x -C /tmp/old`, then
   --before /tmp/old/model), each timed in turn in this run.

Every command runs in a fresh process; the bare references are timed in this process
between the commands (interleaved), and each ratio is the median over --repeats rounds. With
--before, the sweep's and explore's marginal times of the other model are measured in each
round too (reported, not part of a ratio).
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
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from synthetic import CLUSTER, synthetic, workbook_tables  # noqa: E402
from targets import _bare, _bare_resolve, _compliance_rows, _equalities  # noqa: E402

SWEEP = (20, 20, 10, "clusters")
SWEEP_DRAWS = (40, 1040)
EXPLORE = (50, 30, 20, "clusters")
EXPLORE_SIZES = (1, 2)
CAP_SHOCK = {"parameter": "cap", "target": "*", "distribution": "normal", "apply": "scale"}
CAP_SHOCK_SD = 0.05
EXAMPLE = ROOT / "inputs" / "example.xlsx"


def _marginal(
    command: Callable[[int, Path], list[str]],
    sizes: tuple[int, int],
    items: tuple[int, int],
    folder: Path,
    model: Path | None,
) -> float:
    """Return the marginal time per item [ms]: the command at two sizes, difference / items."""
    times = [
        _etslink(command(size, folder / f"{model is not None}-{size}-{time.time_ns()}"), model)
        for size in sizes
    ]
    return 1000 * (times[1] - times[0]) / (items[1] - items[0])


def _etslink(args: list[str], model: Path | None = None) -> float:
    """Run `etslink` with `args` in a fresh process; return its wall time [s].

    With `model`, the etslink package is imported from that folder instead.
    """
    env = dict(os.environ)
    if model is not None:
        env["PYTHONPATH"] = str(model)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "etslink", *args, "--quiet"],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def _sweep_workbook(path: Path) -> None:
    tables = workbook_tables(synthetic(*SWEEP))
    tables["uncertainty"] = [{**CAP_SHOCK, "sd": CAP_SHOCK_SD}]
    _write(path, tables)


def _write(path: Path, tables: dict[str, list[dict[str, object]]]) -> None:
    from etslink.inputs.workbook import write_workbook

    write_workbook(path, tables)


def _bare_sweep(book: Path, folder: Path, draws: int) -> Callable[[], float]:
    """Return a timer of warm bare re-solves of both cases, one per draw [s per draw].

    The caps of draws 1..draws are those `etslink sweep` draws (uncertainty.perturbed).
    """
    from etslink.formulation import build_model
    from etslink.inputs.uncertainty import perturbed
    from etslink.solving.cases import case_data
    from etslink.workflows.run import load_workbook

    data = load_workbook(book)[0]
    moves = []
    for case, d in case_data(data).items():
        path = folder / f"{case}.mps"
        build_model(d).write(str(path), io_options={"symbolic_solver_labels": True})
        h = _bare(str(path))
        rows = _compliance_rows(h)
        index = list(rows.values())
        base = h.getLp().row_upper_
        upper = [
            [base[i] + drawn.cap_MtCO2e[k] - d.cap_MtCO2e[k] for k, i in rows.items()]
            for drawn in (perturbed(d, i) for i in range(draws + 1))
        ]
        moves.append((h, index, upper, _equalities(h, index)))
    for h, index, upper, equal in moves:
        _bare_resolve(h, index, upper[0], equal)

    def resolve_all() -> float:
        start = time.perf_counter()
        for i in range(1, draws + 1):
            for h, index, upper, equal in moves:
                _bare_resolve(h, index, upper[i], equal)
        return (time.perf_counter() - start) / draws

    return resolve_all


def sweep_rounds(folder: Path, repeats: int, before: Path | None) -> dict[str, object]:
    """Return ms per draw through `etslink sweep` and of warm bare re-solves, per round."""
    book = folder / "sweep.xlsx"
    _sweep_workbook(book)
    bare = _bare_sweep(book, folder, 100)

    def command(draws: int, out: Path) -> list[str]:
        return ["sweep", str(book), "--draws", str(draws), "--workers", "1", "--out", str(out)]

    rounds = []
    for _ in range(repeats):
        ours = _marginal(command, SWEEP_DRAWS, SWEEP_DRAWS, folder, None)
        rounds.append({"ours_ms": ours, "bare_ms": 1000 * bare()})
        if before:
            rounds[-1]["before_ms"] = _marginal(command, SWEEP_DRAWS, SWEEP_DRAWS, folder, before)
    return _summary(rounds)


def _explore_workbook(path: Path) -> None:
    """Write the 50x30x20 market with 10 candidate links between the clusters' first systems."""
    data = synthetic(*EXPLORE)
    heads = data.systems[::CLUSTER]
    pairs = list(zip(heads, heads[1:], strict=False)) + [(data.systems[1], data.systems[-1])]
    tables = workbook_tables(data)
    tables["candidate_links"] = [
        {"candidate": f"{a}-{b}", "from_system": a, "to_system": b} for a, b in pairs[:10]
    ]
    _write(path, tables)


def _bare_cold(book: Path, folder: Path) -> Callable[[], float]:
    """Return a timer of one cold bare solve of the explore model (every link in) [s]."""
    from etslink.formulation import build_model
    from etslink.workflows.explore import plan_explore

    path = folder / "explore.mps"
    model = build_model(plan_explore(book, 1).model.data)
    model.write(str(path), io_options={"symbolic_solver_labels": True})

    def solve_cold() -> float:
        h = _bare(str(path))
        start = time.perf_counter()
        h.run()
        return time.perf_counter() - start

    return solve_cold


def explore_rounds(folder: Path, repeats: int, before: Path | None) -> dict[str, object]:
    """Return ms per combination through `etslink explore` and of a cold bare solve."""
    from math import comb

    book = folder / "explore.xlsx"
    _explore_workbook(book)
    bare = _bare_cold(book, folder)
    few, many = (sum(comb(10, j) for j in range(1, k + 1)) for k in EXPLORE_SIZES)

    def command(size: int, out: Path) -> list[str]:
        args = ["explore", str(book), "--max-size", str(size), "--workers", "1"]
        return [*args, "--out", str(out)]

    rounds = []
    for _ in range(repeats):
        ours = _marginal(command, EXPLORE_SIZES, (few, many), folder, None)
        rounds.append({"ours_ms": ours, "bare_ms": 1000 * bare()})
        if before:
            rounds[-1]["before_ms"] = _marginal(command, EXPLORE_SIZES, (few, many), folder, before)
    return _summary(rounds)


def example_rounds(folder: Path, repeats: int, before: Path | None) -> dict[str, object]:
    """Return seconds of the example's sweep, and of the same with the `before` model."""
    rounds = []
    for r in range(repeats):
        args = ["sweep", str(EXAMPLE), "--workers", "1", "--out"]
        after = _etslink([*args, str(folder / f"example-{r}")])
        old = _etslink([*args, str(folder / f"example-before-{r}")], before) if before else None
        rounds.append({"ours_ms": 1000 * after, "bare_ms": 1000 * old if old else None})
    return _summary(rounds)


def _summary(rounds: list[dict[str, object]]) -> dict[str, object]:
    """Return the rounds and the median of each measure and of the ratio."""
    ours = [float(r["ours_ms"]) for r in rounds]  # type: ignore[arg-type]
    refs = [r["bare_ms"] for r in rounds]
    summary: dict[str, object] = {"rounds": rounds, "ours_ms": statistics.median(ours)}
    if all("before_ms" in r for r in rounds) and rounds:
        summary["before_ms"] = statistics.median(float(r["before_ms"]) for r in rounds)  # type: ignore[arg-type]
    if all(ref is not None for ref in refs):
        summary["reference_ms"] = statistics.median(float(ref) for ref in refs)  # type: ignore[arg-type]
        summary["ratio"] = statistics.median(
            o / float(ref)  # type: ignore[arg-type]
            for o, ref in zip(ours, refs, strict=True)
        )
    return summary


def markdown(results: dict[str, dict[str, object]]) -> str:
    """Return the measures as a Markdown table (with the --before model's, if measured)."""
    rows = [
        (
            "sweep",
            "`etslink sweep` 20x20x10, caps drawn, 1 worker, marginal per draw [ms]",
            "warm bare re-solves of both cases, same right-hand sides moved",
            3.0,
        ),
        (
            "explore",
            "`etslink explore` 50x30x20, 10 candidates, marginal per combination [ms]",
            "one cold bare solve of the same LP",
            1.0,
        ),
        (
            "example",
            "`etslink sweep inputs/example.xlsx`, 50 draws, 1 worker [ms]",
            "the same command on the --before model",
            0.2,
        ),
    ]
    lines = [
        "| measure | etslink | before | reference | ratio | target | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, what, against, target in rows:
        r = results.get(key)
        if not r:
            continue
        ratio, reference, before = r.get("ratio"), r.get("reference_ms"), r.get("before_ms")
        status = "-" if ratio is None else ("met" if float(ratio) <= target else "missed")  # type: ignore[arg-type]
        lines.append(
            f"| {what} | {r['ours_ms']:.1f} | {_number(before)} | {against}: "
            f"{_number(reference)} | {_number(ratio, 'x')} | <= {target:g}x | {status} |"
        )
    return "\n".join(lines) + "\n"


def _number(value: object, unit: str = "") -> str:
    return "-" if value is None else f"{float(value):.{2 if unit else 1}f}{unit}"  # type: ignore[arg-type]


def main() -> None:
    """Measure each workflow through its command and print (or write) the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", type=Path, help="model folder of the code to compare with")
    parser.add_argument("--only", choices=("sweep", "explore", "example"), action="append")
    args = parser.parse_args()
    wanted = args.only or ["sweep", "explore", "example"]
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "sweep" in wanted:
            results["sweep"] = sweep_rounds(folder, args.repeats, args.before)
        if "explore" in wanted:
            results["explore"] = explore_rounds(folder, args.repeats, args.before)
        if "example" in wanted:
            results["example"] = example_rounds(folder, args.repeats, args.before)
    table = markdown(results)
    print(json.dumps(results, indent=1, default=str))
    print(table)
    if args.markdown:
        args.markdown.write_text(table, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
