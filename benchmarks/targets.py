"""The engine's targets (issue 11), each a ratio against bare HiGHS measured in one run.

Run: python benchmarks/targets.py [--markdown FILE] [--draws 40]

1. end to end: `etslink run` of a 50x30x20 workbook (clusters of five two-way linked
   systems, limited one-way links between clusters; both cases, every output), against
   highspy reading the two first-stage LPs (linked and autarky) and solving them: run() only;
2. sweep: marginal time per draw of both cases (caps drawn, 20x20x10 clusters) against a
   warm bare re-solve of both LPs with the same right-hand sides changed in place;
3. fixed-point step: one re-solve of the 50x30x20 linked case after changing the right-hand
   side of every allowance balance, reading prices and banks, against the same change and
   warm re-solve in bare highspy;
4. QP: `etslink run` of a 40x30 workbook with linear MACs against its LP twin with 20 steps;
5. memory: peak resident memory of the end-to-end run.

Each `etslink run` and each bare solve runs in a fresh process; peak memory is that
process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from synthetic import synthetic, workbook_tables  # noqa: E402

BIG = (50, 30, 20, "mixed")
SWEEP = (20, 20, 10, "clusters")
QP = (40, 30, 1, "mixed")
LP_TWIN = (40, 30, 20, "mixed")
CAP_SHOCK_SD = 0.05


def _data(spec: tuple[int, int, int, str], quadratic: bool = False):  # noqa: ANN202
    return synthetic(*spec, quadratic=quadratic)


def _child(*args: str) -> dict[str, object]:
    """Run this file with `args` in a fresh process; return the JSON it prints last."""
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def write_workbook(spec: list, quadratic: bool, path: str) -> dict[str, object]:
    """Write the workbook of a synthetic market."""
    from etslink.inputs.workbook import write_workbook as write

    write(Path(path), workbook_tables(_data(tuple(spec), quadratic)))
    return {}


def run_etslink(path: str) -> dict[str, object]:
    """Time `etslink run` of a workbook in a child process [s]; its peak memory [MB]."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run(
            [Path(sys.executable).with_name("etslink"), "run", path, "--out", f"{folder}/out"],
            capture_output=True,
            check=True,
        )
        seconds = time.perf_counter() - start
        record = json.loads(Path(f"{folder}/out/run.json").read_text())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "peak_MB": peak, "stages": record["timings_s"]}


def write_lps(spec: list, folder: str) -> dict[str, object]:
    """Write the first-stage LPs of both cases as MPS files (linked.mps, autarky.mps)."""
    from etslink.formulation import build_model
    from etslink.solving.cases import case_data

    for case, d in case_data(_data(tuple(spec))).items():
        build_model(d).write(f"{folder}/{case}.mps", io_options={"symbolic_solver_labels": True})
    return {}


def _bare(path: str):  # noqa: ANN202 - highspy.Highs
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.readModel(path)
    return h


def run_bare(folder: str) -> dict[str, object]:
    """Time highspy's run() of both LPs [s] in this process, and with reading the files."""
    seconds = with_reading = 0.0
    for case in ("linked", "autarky"):
        start = time.perf_counter()
        h = _bare(f"{folder}/{case}.mps")
        read = time.perf_counter()
        h.run()
        seconds += time.perf_counter() - read
        with_reading += time.perf_counter() - start
    return {"seconds": seconds, "with_reading": with_reading, "peak_MB": _peak_mb()}


def _compliance_rows(h) -> dict[tuple[str, int], int]:  # noqa: ANN001
    """Return the row of each allowance balance (E11): <= rows (c_u_) and, in banking years,
    equalities (c_e_), as Pyomo's MPS writer names them."""
    rows = {}
    for i, name in enumerate(h.getLp().row_names_):
        for prefix in ("c_u_compliance(", "c_e_compliance("):
            if name.startswith(prefix):
                s, y = name[len(prefix) : -2].rsplit("_", 1)
                rows[s, int(y)] = i
    return rows


def _bare_resolve(h, index: list[int], upper: list[float], equal: list[bool]) -> None:  # noqa: ANN001
    """Set the right-hand sides of rows `index` and re-solve warm; read the solution.

    Rows that are equalities (`equal`: banking years' balances) keep both bounds at the new
    value; the others stay <= rows.
    """
    import highspy

    lower = [u if e else -highspy.kHighsInf for u, e in zip(upper, equal, strict=True)]
    h.changeRowsBounds(len(index), index, lower, upper)
    h.run()
    h.getSolution()


def _equalities(h, index: list[int]) -> list[bool]:  # noqa: ANN001
    """Return whether each row of `index` is an equality (lower bound = upper bound)."""
    lp = h.getLp()
    return [lp.row_lower_[i] == lp.row_upper_[i] for i in index]


def sweep_draws(draws: int) -> dict[str, object]:
    """Return ms per draw of both cases: etslink's case solvers and warm bare re-solves."""
    from etslink.core.data import UncertainInput
    from etslink.inputs.uncertainty import DrawPlan, perturbed
    from etslink.workflows.sweep import CaseSolver

    shock = UncertainInput(
        "cap", "*", None, "normal", "scale", 1.0, CAP_SHOCK_SD, None, None, None, None
    )
    data = dataclasses.replace(_data(SWEEP), uncertainty=(shock,))
    solvers = [
        CaseSolver(case, d) for case, d in (("linked", data), ("autarky", data.without_links()))
    ]
    drawn = {s.case: [perturbed(s.data, i) for i in range(draws + 1)] for s in solvers}
    plan = DrawPlan(data)
    for s in solvers:
        s.solve(0, plan.values(0))  # the first solve is not a draw
    start = time.perf_counter()
    for i in range(1, draws + 1):
        values = plan.values(i)
        for s in solvers:
            s.solve(i, values)
    ours = (time.perf_counter() - start) / draws
    with tempfile.TemporaryDirectory() as folder:
        write_lps(list(SWEEP), folder)
        bare = {case: _bare(f"{folder}/{case}.mps") for case in ("linked", "autarky")}
    rows = {case: _compliance_rows(h) for case, h in bare.items()}
    equal = {case: _equalities(h, list(rows[case].values())) for case, h in bare.items()}
    upper = {}
    for case, h in bare.items():
        base = h.getLp().row_upper_
        upper[case] = [
            [base[i] + d.cap_MtCO2e[k] - data.cap_MtCO2e[k] for k, i in rows[case].items()]
            for d in drawn[case]
        ]
        _bare_resolve(h, list(rows[case].values()), upper[case][0], equal[case])
    start = time.perf_counter()
    for i in range(1, draws + 1):
        for case, h in bare.items():
            _bare_resolve(h, list(rows[case].values()), upper[case][i], equal[case])
    bare_s = (time.perf_counter() - start) / draws
    return {"ours_ms": 1000 * ours, "bare_ms": 1000 * bare_s}


def fixed_point_steps(steps: int) -> dict[str, object]:
    """Return ms per re-solve after moving every allowance balance's right-hand side."""
    import numpy as np

    from etslink.formulation import build_model
    from etslink.solving.stages import compile_case

    data = _data(BIG)
    rng = np.random.default_rng(0)
    shifts = [
        {k: float(rng.normal(0, 0.01)) * data.cap_MtCO2e[k] for k in data.system_years}
        for _ in range(steps)
    ]
    compiled = compile_case(build_model(data))
    compiled.solve(3600)
    start = time.perf_counter()
    for shift in shifts:
        rhs = compiled.rhs("compliance")
        compiled.set_rhs("compliance", {k: v + shift[k] for k, v in rhs.items()})
        compiled.solve(3600)
        solution = compiled.solution()
        solution.duals("compliance")
        solution.values("bank_MtCO2e")
    ours = (time.perf_counter() - start) / steps
    with tempfile.TemporaryDirectory() as folder:
        build_model(data).write(f"{folder}/m.mps", io_options={"symbolic_solver_labels": True})
        h = _bare(f"{folder}/m.mps")
    rows = _compliance_rows(h)
    equal = _equalities(h, list(rows.values()))
    h.run()
    upper, current = [], list(h.getLp().row_upper_)
    for shift in shifts:
        for k, i in rows.items():
            current[i] += shift[k]
        upper.append([current[i] for i in rows.values()])
    start = time.perf_counter()
    for values in upper:
        _bare_resolve(h, list(rows.values()), values, equal)
    bare = (time.perf_counter() - start) / steps
    return {"ours_ms": 1000 * ours, "bare_ms": 1000 * bare}


def measure(draws: int) -> list[dict[str, object]]:
    """Return one row per target: what was measured against what, the ratio and the goal."""
    with tempfile.TemporaryDirectory() as folder:
        big, qp, twin = (f"{folder}/{name}.xlsx" for name in ("big", "qp", "twin"))
        _child("--workbook", json.dumps(BIG), "0", big)
        _child("--workbook", json.dumps(QP), "1", qp)
        _child("--workbook", json.dumps(LP_TWIN), "0", twin)
        ours = _child("--etslink", big)
        _child("--lps", json.dumps(BIG), folder)
        bare = _child("--bare", folder)
        qp_run, twin_run = _child("--etslink", qp), _child("--etslink", twin)
    sweep = _child("--sweep", str(draws))
    step = _child("--step", "20")
    return [
        _row(
            "etslink run 50x30x20, both cases, all outputs [s]",
            ours["seconds"],
            "bare HiGHS, both LPs, run() only",
            bare["seconds"],
            3.0,
            ours["stages"],
        ),
        _row(
            "the same [s]",
            ours["seconds"],
            "bare highspy reading both LPs from MPS files and solving them",
            bare["with_reading"],
            3.0,
        ),
        _row(
            "sweep, per draw of both cases, 20x20x10, caps drawn [ms]",
            sweep["ours_ms"],
            "warm bare re-solves",
            sweep["bare_ms"],
            3.0,
        ),
        _row(
            "re-solve after moving every cap, 50x30x20 [ms]",
            step["ours_ms"],
            "warm bare re-solve",
            step["bare_ms"],
            2.0,
        ),
        _row(
            "etslink run, 40x30 QP [s]",
            qp_run["seconds"],
            "etslink run, its LP twin with 20 steps",
            twin_run["seconds"],
            3.0,
            qp_run["stages"],
        ),
        _row("peak memory of etslink run 50x30x20 [MB]", ours["peak_MB"], "target", 300.0, 1.0),
    ]


def _row(what, ours, against, reference, target, stages=None) -> dict[str, object]:  # noqa: ANN001
    ratio = ours / reference
    return {
        "what": what,
        "etslink": ours,
        "against": against,
        "reference": reference,
        "ratio": ratio,
        "target": target,
        "met": ratio <= target,
        "stages": stages or {},
    }


def markdown(rows: list[dict[str, object]]) -> str:
    """Return the rows as a Markdown table, with the machine and versions."""
    from importlib.metadata import version

    lines = [
        "| measure | etslink | reference | ratio | target | status |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        status = "met" if r["met"] else "missed"
        lines.append(
            f"| {r['what']} | {r['etslink']:.2f} | {r['against']}: {r['reference']:.2f} "
            f"| {r['ratio']:.2f}x | <= {r['target']:g}x | {status} |"
        )
    for r in rows:
        if r["stages"]:
            stages = ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items())
            lines.append(f"\n{r['what']}, stages in s: {stages}")
    lines.append(
        f"\nPython {platform.python_version()}, Pyomo {version('pyomo')}, highspy "
        f"{version('highspy')}, {platform.machine()}"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure every target and print (or write) the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--draws", type=int, default=40)
    parser.add_argument("--workbook", nargs=3)
    parser.add_argument("--etslink")
    parser.add_argument("--lps", nargs=2)
    parser.add_argument("--bare")
    parser.add_argument("--sweep", type=int)
    parser.add_argument("--step", type=int)
    args = parser.parse_args()
    if args.workbook:
        spec, quadratic, path = args.workbook
        print(json.dumps(write_workbook(json.loads(spec), quadratic == "1", path)))
    elif args.etslink:
        print(json.dumps(run_etslink(args.etslink)))
    elif args.lps:
        print(json.dumps(write_lps(json.loads(args.lps[0]), args.lps[1])))
    elif args.bare:
        print(json.dumps(run_bare(args.bare)))
    elif args.sweep:
        print(json.dumps(sweep_draws(args.sweep)))
    elif args.step:
        print(json.dumps(fixed_point_steps(args.step)))
    else:
        table = markdown(measure(args.draws))
        print(table)
        if args.markdown:
            args.markdown.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
