"""Benchmark etslink against a bare HiGHS solve of the same model, as ratios in one run.

Run: python benchmarks/run.py [--sizes small,medium,large,qp] [--markdown FILE]

For each case a synthetic market is built (benchmarks/synthetic.py). etslink's side is timed
in a fresh process: build the Pyomo model and compile it for HiGHS, solve it (first stage,
and the second stage (E14) where it can change the answer), extract the results. The bare
side is the first-stage model written once to an LP file and solved by highspy in another
fresh process; only `run()` is timed. Peak memory is each process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))


@dataclass(frozen=True)
class Case:
    """One benchmark case: S systems x T years x K steps (K = 0: linear MACs, a QP)."""

    name: str
    systems: int
    years: int
    steps: int
    pattern: str

    @property
    def quadratic(self) -> bool:
        """Return whether the case has linear MACs (a QP)."""
        return self.steps == 0


SIZES = {
    "small": [Case("LP small", 5, 5, 5, "all")],
    "medium": [Case("LP medium", 20, 20, 20, "all")],
    "large": [Case("LP large", 50, 30, 50, "all")],
    "qp": [
        Case("QP 20x20 all linked", 20, 20, 0, "all"),
        Case("LP 40x30x20 mixed", 40, 30, 20, "mixed"),
        Case("QP 40x30 mixed", 40, 30, 0, "mixed"),
    ],
}


def _data(case: Case):  # noqa: ANN202 - ModelData, imported lazily in the child
    from synthetic import synthetic

    return synthetic(case.systems, case.years, max(case.steps, 1), case.pattern, case.quadratic)


def measure_etslink(case: Case) -> dict[str, float]:
    """Time build (Pyomo model and its compile for HiGHS), solve and extraction [s]."""
    from etslink.formulation import build_model
    from etslink.outputs.results import extract_case
    from etslink.solving.solve import solve_compiled
    from etslink.solving.stages import compile_case

    data = _data(case)
    start = time.perf_counter()
    compiled = compile_case(build_model(data))
    built = time.perf_counter()
    solution, outcome = solve_compiled("linked", compiled, data)
    solved = time.perf_counter()
    extract_case("linked", solution, data, outcome)
    done = time.perf_counter()
    return {
        "build_s": built - start,
        "solve_s": solved - built,
        "extract_s": done - solved,
        "total_s": done - start,
        "termination": outcome.termination,
    }


def write_bare_model(case: Case, path: Path) -> None:
    """Write the first-stage model of the case as an LP file."""
    from etslink.formulation import build_model

    build_model(_data(case)).write(str(path), io_options={"symbolic_solver_labels": False})


def measure_bare(path: Path) -> dict[str, float]:
    """Time HiGHS's run() on the LP file [s] in this process."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.readModel(str(path))
    start = time.perf_counter()
    h.run()
    return {
        "total_s": time.perf_counter() - start,
        "termination": h.modelStatusToString(h.getModelStatus()),
    }


def _child(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(case: Case) -> dict[str, object]:
    """Return etslink's and bare HiGHS's times and memory, and their ratios."""
    with tempfile.TemporaryDirectory() as folder:
        lp = Path(folder) / "model.lp"
        spec = json.dumps(case.__dict__)
        _child(["--write", spec, str(lp)])
        bare = _child(["--bare", str(lp)])
        ours = _child(["--etslink", spec])
    return {
        "case": case.name,
        "size": f"{case.systems}x{case.years}x{case.steps}",
        "etslink_s": ours["total_s"],
        "build_s": ours["build_s"],
        "solve_s": ours["solve_s"],
        "extract_s": ours["extract_s"],
        "bare_s": bare["total_s"],
        "time_ratio": ours["total_s"] / bare["total_s"],
        "etslink_MB": ours["peak_MB"],
        "bare_MB": bare["peak_MB"],
        "memory_ratio": ours["peak_MB"] / bare["peak_MB"],
        "status": f"{ours['termination']} / {bare['termination']}",
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def markdown(rows: list[dict[str, object]]) -> str:
    """Return the results as a Markdown table with the machine and versions."""
    from importlib.metadata import version

    head = (
        "| case | S x T x K | etslink s (build / solve / extract) | bare HiGHS s | time ratio "
        "| etslink MB | bare MB | memory ratio | status |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {r['case']} | {r['size']} | {r['etslink_s']:.2f} ({r['build_s']:.2f} / "
        f"{r['solve_s']:.2f} / {r['extract_s']:.2f}) | {r['bare_s']:.2f} | "
        f"{r['time_ratio']:.2f} | {r['etslink_MB']:.0f} | {r['bare_MB']:.0f} | "
        f"{r['memory_ratio']:.2f} | {r['status']} |\n"
        for r in rows
    )
    machine = (
        f"Python {platform.python_version()}, Pyomo {version('pyomo')}, highspy "
        f"{version('highspy')}, {platform.machine()}, {platform.processor() or 'cpu'}"
    )
    return head + body + f"\n{machine}\n"


def main() -> None:
    """Run the chosen sizes and print (or write) the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="small,medium,large,qp")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--write", nargs=2)
    parser.add_argument("--bare")
    parser.add_argument("--etslink")
    args = parser.parse_args()
    if args.write:
        write_bare_model(Case(**json.loads(args.write[0])), Path(args.write[1]))
        print(json.dumps({}))
        return
    if args.bare:
        print(json.dumps({**measure_bare(Path(args.bare)), "peak_MB": _peak_mb()}))
        return
    if args.etslink:
        print(
            json.dumps({**measure_etslink(Case(**json.loads(args.etslink))), "peak_MB": _peak_mb()})
        )
        return
    rows = []
    for size in args.sizes.split(","):
        for case in SIZES[size]:
            rows.append(compare(case))
            print(json.dumps(rows[-1]), flush=True)
    table = markdown(rows)
    print(table)
    if args.markdown:
        args.markdown.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
