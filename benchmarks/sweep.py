"""Sweep benchmark: time per draw against a warm bare-HiGHS re-solve, and worker throughput.

Run: python benchmarks/sweep.py [--systems 20 --years 20 --steps 20 --draws 40]

- per draw: etslink's DrawSolver (parameters changed in place, warm re-solve, the needed
  values loaded, result rows built) against highspy re-solving the same first-stage LP after
  changing the compliance rows' bounds in place;
- throughput: the same draws through `run_batch`: here (1 worker) and on a LocalCluster of 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from etslink.core.data import UncertainInput  # noqa: E402
from synthetic import synthetic  # noqa: E402

CAP_SHOCK = UncertainInput("cap", "*", None, "normal", "scale", 1.0, 0.05, None, None, None, None)


def per_draw(data, draws: int) -> tuple[float, float]:
    """Return seconds per draw: etslink's DrawSolver and a warm bare highspy re-solve."""
    import highspy

    from etslink.formulation import build_model
    from etslink.inputs.uncertainty import DrawPlan, perturbed
    from etslink.outputs.results import extract_draw
    from etslink.solving.solve import DrawSolver

    drawn = [perturbed(data, i) for i in range(draws + 1)]
    plan = DrawPlan(data)
    solver = DrawSolver(data)
    solver.solve(0, plan.values(0))  # the first solve builds HiGHS's model; it is not a draw
    start = time.perf_counter()
    for i in range(1, draws + 1):
        extract_draw(solver.solve(i, plan.values(i)), data)
    ours = (time.perf_counter() - start) / draws

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.lp"
        model = build_model(data)
        model.write(str(path), io_options={"symbolic_solver_labels": True})
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.readModel(str(path))
    lp = h.getLp()
    rows = {name: i for i, name in enumerate(lp.row_names_)}
    index = [rows[f"c_u_compliance({s}_{y})_"] for s, y in data.system_years]
    upper = [lp.row_upper_[i] for i in index]
    h.run()
    start = time.perf_counter()
    for d in drawn[1:]:
        shift = [d.cap_MtCO2e[k] - data.cap_MtCO2e[k] for k in data.system_years]
        h.changeRowsBounds(
            len(index),
            index,
            [-highspy.kHighsInf] * len(index),
            [u + s for u, s in zip(upper, shift, strict=True)],
        )
        h.run()
    bare = (time.perf_counter() - start) / draws
    return ours, bare


def throughput(draws: int, workers: int) -> float:
    """Return draws per second of a sweep of _workbook_tables() on `workers` processes."""
    from etslink.inputs.workbook import write_workbook
    from etslink.workflows.batch import run_batch
    from etslink.workflows.run import load_workbook
    from etslink.workflows.sweep import sweep_batch

    with tempfile.TemporaryDirectory() as folder:
        book = Path(folder) / "sweep.xlsx"
        write_workbook(book, _workbook_tables())
        start = time.perf_counter()
        run_batch(
            sweep_batch(load_workbook(book)[0], draws),
            Path(folder) / "draws",
            workers=workers,
            scheduler=None,
            progress=lambda done, total: None,
        )
        return draws / (time.perf_counter() - start)


def _workbook_tables() -> dict[str, list[dict[str, object]]]:
    """Return a 10-system, 10-year linked market with uncertain caps, as workbook tables."""
    systems = [f"S{i}" for i in range(10)]
    years = range(2030, 2040)
    return {
        "settings": [{"key": "discount_rate", "value": 0.05}],
        "systems": [{"system": s} for s in systems],
        "emissions": [
            {
                "system": s,
                "year": y,
                "baseline_MtCO2e": 100 + 10 * i,
                "cap_MtCO2e": 80 + 10 * i - (y - 2030),
            }
            for i, s in enumerate(systems)
            for y in years
        ],
        "mac_linear": [
            {"system": s, "year": y, "slope_per_tCO2e_per_MtCO2e": 1 + i}
            for i, s in enumerate(systems)
            for y in years
        ],
        "links": [
            {"from_system": a, "to_system": b} for a, b in zip(systems, systems[1:], strict=False)
        ],
        "uncertainty": [
            {
                "parameter": "cap",
                "target": "*",
                "distribution": "normal",
                "apply": "scale",
                "sd": 0.05,
            }
        ],
    }


def main() -> None:
    """Print per-draw times and the throughput of 1 and 2 workers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--systems", type=int, default=20)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--draws", type=int, default=40)
    args = parser.parse_args()
    data = dataclasses.replace(
        synthetic(args.systems, args.years, args.steps, "clusters"), uncertainty=(CAP_SHOCK,)
    )
    ours, bare = per_draw(data, args.draws)
    print(
        f"per draw ({args.systems}x{args.years}x{args.steps}): etslink {ours * 1000:.1f} ms, "
        f"bare HiGHS warm {bare * 1000:.1f} ms, ratio {ours / bare:.2f}"
    )
    one, two = (throughput(4 * args.draws, w) for w in (1, 2))
    print(
        f"throughput (10x10 QP, {4 * args.draws} draws): 1 worker {one:.1f} draws/s, "
        f"2 workers {two:.1f} draws/s, speed-up {two / one:.2f}"
    )


if __name__ == "__main__":
    main()
