"""Explore: which candidate links pay, one model compiled once and switched by bounds.

`plan_explore`, `solve_explore` and `write_explore` (outputs/products.py) are what both
`etslink explore` and `etslink.explore` do. The model holds the workbook's own links (the
status quo) and every candidate's links; each combination of candidates switches the
transfers (B3) of the other candidates off by their bounds, (0, 0), and re-solves. A
combination's results are those of the workbook with the combination's rows added to `links`
(see docs/explore.md).

The status quo is solved from scratch; every combination starts from the status quo's
basis (each worker solves the status quo first), so the numbers do not depend on which
solves came before: not on the number of workers, nor on the order in which tasks finish.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from etslink.core.checking import Record
from etslink.core.data import Link, ModelData
from etslink.errors import (
    InfeasibleError,
    Issue,
    SolverTroubleError,
    messages,
    refuse_announcements,
    reject,
)
from etslink.formulation import build_model
from etslink.inputs.model_data import build_model_data
from etslink.inputs.schema import COMBINATION_SEPARATOR, STATUS_QUO
from etslink.instruments.border_adjustments import charges
from etslink.instruments.links import links_of_row, minting_cycle, redundant_link_years
from etslink.outputs.columns import EMISSIONS_CHANGE, Columns
from etslink.outputs.products import ExploreResult
from etslink.outputs.results import CaseResults, ExploreTables, extract_case, paid_abroad
from etslink.outputs.runrecord import run_record
from etslink.solving.engine import Basis
from etslink.solving.solve import solve_compiled
from etslink.solving.stack import rolling
from etslink.solving.stages import (
    DEFAULT_TIME_LIMIT_S,
    RETRY_OPTIONS,
    SolveOutcome,
    compile_case,
    diagnose_infeasibility,
    solver_version,
)
from etslink.workflows.batch import Batch, run_batch

"""The label of the workbook's own links (no candidate added) in the partial results."""
OPTIMAL = "optimal"
EMISSIONS = "emissions_MtCO2e"
"""Emissions [MtCO2e]: per system-year in the partial results, summed over the years in the
output tables."""
MINTS = "invalid: mints allowances"
"""Status of a combination that closes a cycle of links whose exchange rates multiply above
1: allowances passed round it would multiply, so it is reported and not solved."""
ALL_COMBINATIONS_UP_TO = 6
"""Without --max-size: every combination up to this many candidates; beyond, each alone and
all together."""
MAX_COMBINATIONS = 100_000
"""More combinations than this are refused: lower --max-size."""
PARTIAL_ROWS = "combinations"
"""The folder, in the partial folder, of the finished combinations' rows."""
LINK_COLUMNS = (
    "from_system",
    "to_system",
    "direction",
    "exchange_rate",
    "max_transfer_MtCO2e",
    "first_year",
    "last_year",
    "transfer_fee_per_tCO2e",
    "max_transfer_share_of_cap",
)


@dataclass(frozen=True)
class Candidate:
    """One candidate: its id, its rows (typed, as on candidate_links) and their links."""

    name: str
    rows: tuple[Record, ...]
    links: tuple[Link, ...]
    design_of: str = ""
    """The link this candidate is a design of (designs of one link are never combined)."""


@dataclass(frozen=True)
class ExploreModel:
    """What a worker needs: the data with every link, the status quo's and each candidate's.

    `data.links` holds the status quo's links, then every candidate's.
    """

    data: ModelData
    status_quo: tuple[Link, ...]
    candidates: tuple[tuple[Link, ...], ...]

    @cached_property
    def digest(self) -> str:
        """Return a key of the model (a worker builds each model once)."""
        return f"{self.data.digest}:{hash((self.status_quo, self.candidates))}"


@dataclass(frozen=True)
class ExplorePlan:
    """A workbook validated for explore: the model, its candidates and the combinations.

    Attributes:
        workbook: The input workbook.
        model: The data with every link, and which links are whose.
        candidates: The candidates in order (sheet order, or systems order by default).
        combinations: Each combination as candidate positions, smallest first.
        invalid: Combinations not solved, and why (a cycle that mints allowances).
        warnings: The workbook's warnings.
        max_size: The largest combination tried.
    """

    workbook: Path
    model: ExploreModel
    candidates: tuple[Candidate, ...]
    combinations: tuple[tuple[int, ...], ...]
    invalid: Mapping[tuple[int, ...], str]
    warnings: list[Issue]
    max_size: int

    @property
    def data(self) -> ModelData:
        """Return the data of the status quo (the workbook's own links)."""
        return replace(self.model.data, links=self.model.status_quo)

    def label(self, members: tuple[int, ...]) -> str:
        """Return a combination's id: its candidates' ids joined by " + "."""
        return COMBINATION_SEPARATOR.join(self.candidates[i].name for i in members) or STATUS_QUO

    @property
    def solvable(self) -> list[tuple[int, ...]]:
        """Return the combinations to solve (all but the invalid ones)."""
        return [c for c in self.combinations if c not in self.invalid]


# -- planning ------------------------------------------------------------------------------


def plan_explore(
    workbook: Path,
    max_size: int | None,
    warn: Callable[[list[Issue]], None] | None = None,
) -> ExplorePlan:
    """Read and validate a workbook for explore; find its candidates and combinations.

    Args:
        workbook: The input workbook.
        max_size: Largest combination tried; None: all combinations of up to
            ALL_COMBINATIONS_UP_TO candidates, else each alone and all together.
        warn: Called with the workbook's warnings once it is validated.

    Raises:
        InputError: every problem of the workbook; no candidate; a bad --max-size.
    """
    from etslink.inputs.validate import validate  # not on dask workers, which never read workbooks
    from etslink.inputs.workbook import read_workbook

    if max_size is not None and max_size < 1:
        reject(
            "--max-size",
            f"--max-size {max_size} is below 1",
            "give 1 or more candidates per combination, or leave --max-size out",
        )
    checked = validate(read_workbook(workbook))
    data = build_model_data(checked.tables, checked.settings, default_name=workbook.stem)
    if warn:
        warn(checked.warnings)
    if data.vintages:
        refuse_announcements("etslink explore")
    years_of = {s: set(data.years_of(s)) for s in data.systems}
    candidates = _candidates(checked.tables, data, years_of)
    designs = tuple(c.design_of for c in candidates)
    combinations = _combinations(len(candidates), max_size, designs)
    links = checked.tables["links"]
    invalid = {}
    for members in combinations:
        rows = links + [r for i in members for r in candidates[i].rows]
        cycle = minting_cycle(rows, years_of)
        if cycle:
            invalid[members] = cycle.describe()
    model = ExploreModel(
        replace(data, links=data.links + tuple(k for c in candidates for k in c.links)),
        data.links,
        tuple(c.links for c in candidates),
    )
    size = max(len(c) for c in combinations)
    return ExplorePlan(
        workbook, model, candidates, tuple(combinations), invalid, checked.warnings, size
    )


def _candidates(
    tables: Mapping[str, list[Record]], data: ModelData, years_of: dict[str, set[int]]
) -> tuple[Candidate, ...]:
    """Return the candidates: rows of candidate_links by id, else every unlinked pair."""
    rows = _named(tables["candidate_links"] or _default_rows(tables, data))
    if not rows:
        reject(
            "candidate_links",
            "there is no candidate link: every pair of systems that share a year is "
            "already linked on sheet links",
            "add rows on sheet candidate_links with the links to try",
        )
    grouped: dict[str, list[Record]] = {}
    for r in rows:
        grouped.setdefault(str(r["candidate"]), []).append(r)
    return tuple(
        Candidate(
            name,
            tuple(group),
            tuple(
                replace(k, design=name if r.get("design_of") else "")
                for r in group
                for k in links_of_row(r, years_of)
            ),
            str(group[0].get("design_of") or ""),
        )
        for name, group in grouped.items()
    )


def _named(rows: list[Record]) -> list[Record]:
    """Return candidate rows with a blank id named FROM-TO, made unique.

    Ids of different pairs can coincide when system ids hold hyphens (EU-UK to X and EU to
    UK-X are both "EU-UK-X"); the later pair's id then gets " #2" (then #3...).
    """
    owner: dict[str, tuple[str, str]] = {
        str(r["candidate"]): ("", "") for r in rows if r["candidate"]
    }
    out = []
    for r in rows:
        name = r["candidate"]
        if not name:
            pair = (r["from_system"], r["to_system"])
            base = name = f"{pair[0]}-{pair[1]}"
            n = 1
            while owner.setdefault(name, pair) != pair:
                n += 1
                name = f"{base} #{n}"
        out.append(r | {"candidate": name})
    return out


def _default_rows(tables: Mapping[str, list[Record]], data: ModelData) -> list[Record]:
    """Return an unrestricted two-way link at rate 1 for every unlinked pair sharing a year."""
    linked = {frozenset((r["from_system"], r["to_system"])) for r in tables["links"]}
    return [
        {
            "_row": 0,
            "candidate": None,  # named by _named
            "from_system": a,
            "to_system": b,
            "direction": "two-way",
            "exchange_rate": 1.0,
            "max_transfer_MtCO2e": None,
            "first_year": None,
            "last_year": None,
            "transfer_fee_per_tCO2e": 0.0,
            "max_transfer_share_of_cap": None,
        }
        for a, b in itertools.combinations(data.systems, 2)
        if frozenset((a, b)) not in linked and set(data.years_of(a)) & set(data.years_of(b))
    ]


def _combinations(
    n: int, max_size: int | None, designs: tuple[str, ...] = ()
) -> list[tuple[int, ...]]:
    """Return the combinations of n candidates to try, by size, then in candidate order.

    Candidates with the same non-blank entry of `designs` (their `design_of`) are never in
    one combination.
    """
    if max_size is not None:
        sizes: list[int] = list(range(1, min(max_size, n) + 1))
    elif n <= ALL_COMBINATIONS_UP_TO:
        sizes = list(range(1, n + 1))
    else:
        sizes = [1, n]
    count = sum(math.comb(n, k) for k in sizes)
    if count > MAX_COMBINATIONS:
        reject(
            "--max-size",
            f"{n} candidates in combinations of up to {sizes[-1]} make {count:,} "
            f"combinations, more than {MAX_COMBINATIONS:,}",
            "give a smaller --max-size, or fewer rows on sheet candidate_links",
        )

    def compatible(members: tuple[int, ...]) -> bool:
        labels = [designs[i] for i in members if designs and designs[i]]
        return len(labels) == len(set(labels))

    return [c for k in sizes for c in itertools.combinations(range(n), k) if compatible(c)]


# -- solving -------------------------------------------------------------------------------


class ExploreSolver:
    """The model with every link, compiled once; each combination only changes bounds."""

    def __init__(self, model: ExploreModel) -> None:
        self.model = model
        self._start: Basis | None = None
        """The status quo's basis, where every combination starts (None: not solved yet;
        invalid: the status quo has none, and each combination starts from scratch)."""
        self._compile()

    def _compile(self) -> None:
        """Build and compile the model with every link (again after a failed solve)."""
        model = self.model
        self.compiled = compile_case(build_model(model.data))
        links = model.data.link_of()
        # (B3): a one-way transfer is >= 0, a two-way one free; `column_bounds` would give
        # (0, 0) for link-years the whole model finds redundant, which a combination may need
        self.free = {
            key: (-math.inf if links[key].two_way else 0.0, math.inf)
            for key in self.compiled.column_positions["transfer_MtCO2e"]
        }
        self.reserve: dict[Any, float] = {}
        if model.data.reserve_rules:
            param = self.compiled.model.reserve_supply_MtCO2e
            self.reserve = {key: float(param[key].value) for key in param}

    def solve(self, label: str, members: tuple[int, ...], strict: bool = False) -> pd.DataFrame:
        """Return a combination's rows: per system-year price, cost and money paid abroad.

        Args:
            label: The combination's id.
            members: Positions of its candidates.
            strict: Raise (InfeasibleError, SolverTroubleError) instead of returning the
                solver's status in the rows (for the status quo).
        """
        if members and self._start is None:
            self.solve(STATUS_QUO, ())
        links = self.model.status_quo + tuple(k for i in members for k in self.model.candidates[i])
        data = replace(self.model.data, links=links)
        self._switch(data)
        try:
            solution, outcome = self._solve(label, data)
            if not members:
                self._start = self._status_quo_basis(outcome)
        except (InfeasibleError, SolverTroubleError) as error:
            self._compile()
            if strict:
                raise
            return _failed(label, data, f"failed: {str(error).splitlines()[0]}")
        if outcome.termination != OPTIMAL:
            # HiGHS may keep a bad state after a failure (seen after its retries): start anew
            self._compile()
            if strict:
                _raise(label, data, outcome.termination)
            return _failed(label, data, f"solver failed: {outcome.termination}")
        results = extract_case(label, solution, self.model.data, outcome)
        return _rows(label, results, data)

    def _switch(self, data: ModelData) -> None:
        """Set every transfer's bounds: its own (B3) if its link is in `data`, else (0, 0).

        The solve then starts from the status quo's basis, or from scratch before it is known.
        """
        on = {(k.name, y) for k in data.links for y in k.years} - redundant_link_years(data)
        self.compiled.set_column_bounds(
            "transfer_MtCO2e",
            {key: bounds if key in on else (0.0, 0.0) for key, bounds in self.free.items()},
        )
        if self.reserve:  # each fixed point starts from the reserve's own supply
            param = self.compiled.model.reserve_supply_MtCO2e
            for key, value in self.reserve.items():
                param[key].set_value(value)
            self.compiled.refresh()
        self.compiled.start_from(self._start)

    def _status_quo_basis(self, outcome: SolveOutcome) -> Basis:
        """Return the basis every combination starts from (invalid: none, start cold)."""
        return self.compiled.basis() if outcome.termination == OPTIMAL else Basis()

    def _solve(self, label: str, data: ModelData) -> tuple[Any, SolveOutcome]:
        """Solve once (first stage); with a reserve or limited foresight, as `run` does."""
        if data.reserve_rules or rolling(data):
            return solve_compiled(label, self.compiled, data)
        run = self.compiled.solve(DEFAULT_TIME_LIMIT_S, RETRY_OPTIONS)
        outcome = SolveOutcome(
            "ok" if run.optimal else "failed",
            run.termination,
            run.objective,
            run.seconds,
            solver_version=solver_version(),
            options=run.options,
        )
        return (self.compiled.solution() if run.optimal else None), outcome


def _raise(label: str, data: ModelData, termination: str) -> None:
    if termination in ("infeasible", "infeasibleOrUnbounded"):
        raise InfeasibleError(label, diagnose_infeasibility(data))
    msg = (
        f"The solver stopped without an optimal solution in the {label} ({termination}). "
        "Fix: run the workbook with etslink run to see where, or report this with the "
        "workbook attached."
    )
    raise SolverTroubleError(msg)


def _rows(label: str, results: CaseResults, data: ModelData) -> pd.DataFrame:
    """Return per system-year: price, costs and money abroad [PV], emissions, border money.

    The border money is what the system's exporters pay at others' borders and what it
    collects at its own [PV]; `data` is the combination's: its links decide which borders
    are exempt.
    """
    cols = Columns(data.currency)
    costs = results.costs
    abroad = paid_abroad(costs, cols.money) * costs["discount_factor"]
    emissions = results.balances.set_index(["system", "year"])[EMISSIONS]
    keys = list(zip(costs["system"], costs["year"], strict=True))
    prices = dict(zip(keys, results.prices[cols.price], strict=True))
    paid: dict[tuple[str, int], float] = {}
    collected: dict[tuple[str, int], float] = {}
    for c in charges(data, prices):
        money = c.paid_Mcur * data.discount_factor(c.row.year)
        origin = (c.row.origin, c.row.year)
        paid[origin] = paid.get(origin, 0.0) + money
        importer = (c.row.importer, c.row.year)
        collected[importer] = collected.get(importer, 0.0) + money
    border = {
        cols.money("border_adjustments_paid", pv=True): [paid.get(k, 0.0) for k in keys],
        cols.money("border_adjustments_revenue", pv=True): [collected.get(k, 0.0) for k in keys],
    }
    return pd.DataFrame(
        {
            "combination": label,
            "system": costs["system"],
            "year": costs["year"],
            cols.price: results.prices[cols.price].to_numpy(),
            cols.money("compliance_cost", pv=True): costs[cols.money("compliance_cost", pv=True)],
            cols.money("paid_abroad", pv=True): abroad,
            EMISSIONS: emissions.loc[keys].to_numpy(),
            **border,
            "status": OPTIMAL,
        }
    )


def _failed(label: str, data: ModelData, status: str) -> pd.DataFrame:
    keys = data.system_years
    return pd.DataFrame(
        {
            "combination": label,
            "system": [s for s, _ in keys],
            "year": [y for _, y in keys],
            "status": status,
        }
    )


_WORKERS: dict[str, ExploreSolver] = {}
"""Per process: the compiled model of each explore, built on first use."""


def _solver(model: ExploreModel) -> ExploreSolver:
    """Return this process's solver of `model`, built once."""
    if model.digest not in _WORKERS:
        _WORKERS.clear()  # one model per worker at a time: they can be large
        _WORKERS[model.digest] = ExploreSolver(model)
    return _WORKERS[model.digest]


def solve_combinations(
    model: ExploreModel, task: list[tuple[str, tuple[int, ...]]]
) -> pd.DataFrame:
    """Return the rows of several combinations (one task: the model is built once)."""
    solver = _solver(model)
    return pd.concat([solver.solve(label, members) for label, members in task], ignore_index=True)


def combination_columns(currency: str) -> tuple[str, ...]:
    """Return the columns of the partial rows: a combination's rows per system and year."""
    cols = Columns(currency)
    money = (cols.money("compliance_cost", pv=True), cols.money("paid_abroad", pv=True))
    border = tuple(
        cols.money(f"border_adjustments_{item}", pv=True) for item in ("paid", "revenue")
    )
    return ("combination", "system", "year", cols.price, *money, EMISSIONS, *border, "status")


def explore_batch(plan: ExplorePlan) -> Batch:
    """Return the batch of an exploration: the status quo first, then every combination.

    The status quo is solved here, with every error raised (exit 3 or 4); each worker then
    solves it again as the start of its combinations (`ExploreSolver`).
    """
    model = plan.model
    return Batch(
        key="combination",
        columns=combination_columns(model.data.currency),
        shared=model,
        solve=solve_combinations,
        items=[(plan.label(c), (plan.label(c), c)) for c in plan.solvable],
        first=(STATUS_QUO, lambda: _solver(model).solve(STATUS_QUO, (), strict=True)),
    )


# -- summarising ---------------------------------------------------------------------------


def summarise(plan: ExplorePlan, rows: pd.DataFrame) -> ExploreTables:
    """Return the output tables from every combination's rows (and the status quo's)."""
    cols = Columns(plan.model.data.currency)
    cost, abroad, gain = (
        cols.money("compliance_cost", pv=True),
        cols.money("paid_abroad", pv=True),
        cols.money("gain", pv=True),
    )
    border = [
        cols.money(f"border_adjustments_{item}", pv=True)
        for item in ("paid", "revenue")
        if plan.model.data.border_adjustments
    ]
    ok = _in_plan_order(plan, rows[rows["status"] == OPTIMAL])
    per_system = ok.groupby(["combination", "system"], sort=False)[
        [cost, abroad, EMISSIONS, *border]
    ]
    per_system = per_system.sum().reset_index()
    base = per_system[per_system["combination"] == STATUS_QUO].set_index("system")
    per_system[gain] = per_system["system"].map(base[cost]) - per_system[cost]
    per_system[EMISSIONS_CHANGE] = per_system[EMISSIONS] - per_system["system"].map(base[EMISSIONS])
    gains = per_system[per_system["combination"] != STATUS_QUO][
        ["combination", "system", cost, gain, abroad, EMISSIONS, EMISSIONS_CHANGE, *border]
    ].reset_index(drop=True)
    totals = gains.groupby("combination")[gain].sum()
    more_emissions = gains.groupby("combination")[EMISSIONS_CHANGE].sum()
    status = rows.groupby("combination")["status"].first()
    combos = pd.DataFrame(
        {
            "combination": [plan.label(c) for c in plan.combinations],
            "size": [len(c) for c in plan.combinations],
        }
    )
    combos[gain] = combos["combination"].map(totals)
    combos["status"] = [
        MINTS if c in plan.invalid else status.get(plan.label(c), "not solved")
        for c in plan.combinations
    ]
    alone = {c[0]: totals.get(plan.label(c), math.nan) for c in plan.combinations if len(c) == 1}
    parts = [sum(alone.get(i, math.nan) for i in c) for c in plan.combinations]
    combos[cols.money("gain_beyond_parts", pv=True)] = [
        g - p if len(c) > 1 else math.nan
        for g, p, c in zip(combos[gain], parts, plan.combinations, strict=True)
    ]
    combos[EMISSIONS_CHANGE] = combos["combination"].map(more_emissions)
    combos["note"] = [plan.invalid.get(c, "") for c in plan.combinations]
    prices = ok[["combination", "system", "year", cols.price]]
    status_quo = per_system[per_system["combination"] == STATUS_QUO][
        ["system", cost, abroad, EMISSIONS, *border]
    ]
    return ExploreTables(
        candidates=_candidate_table(plan, alone, cols.money("gain_alone", pv=True)),
        combinations=combos,
        combination_gains=gains,
        combination_prices=prices[prices["combination"] != STATUS_QUO].reset_index(drop=True),
        status_quo=status_quo.reset_index(drop=True),
        status_quo_prices=prices[prices["combination"] == STATUS_QUO]
        .drop(columns="combination")
        .reset_index(drop=True),
    )


def _in_plan_order(plan: ExplorePlan, rows: pd.DataFrame) -> pd.DataFrame:
    """Return rows sorted by combination (status quo first), system (sheet order), year.

    The partial rows hold them in the order they finished, which varies run to run.
    """
    order = [STATUS_QUO, *(plan.label(c) for c in plan.combinations)]
    keys = pd.DataFrame(
        {
            "c": pd.Categorical(rows["combination"], order).codes,
            "s": pd.Categorical(rows["system"], plan.model.data.systems).codes,
            "y": rows["year"].to_numpy(),
        },
        index=rows.index,
    )
    return rows.loc[keys.sort_values(["c", "s", "y"], kind="stable").index].reset_index(drop=True)


def _candidate_table(plan: ExplorePlan, alone: Mapping[int, float], gain: str) -> pd.DataFrame:
    """Return one row per candidate row: the id, the link columns and the gain alone."""
    records = [
        {
            "candidate": c.name,
            "design_of": c.design_of,
            **{k: r[k] for k in LINK_COLUMNS},
            gain: alone.get(i, math.nan),
        }
        for i, c in enumerate(plan.candidates)
        for r in c.rows
    ]
    return pd.DataFrame(records)


def solve_explore(
    plan: ExplorePlan,
    partial: Path,
    *,
    workers: int,
    scheduler: str | None,
    started: str,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
    command: list[str] | None = None,
) -> ExploreResult:
    """Solve what `partial` lacks (`batch.run_batch`), then summarise every combination.

    Args:
        plan: The validated workbook, its candidates and combinations.
        partial: The folder that collects finished combinations (`batch.append_rows`;
            kept for a resume).
        workers: Worker processes of a local cluster (1: solve in this process).
        scheduler: Address of a running dask scheduler; None: start a local cluster.
        started: When explore started (`runrecord.utc_stamp`).
        progress: Called with the number of combinations done and the total.
        command: How explore was started, for the record; None: the command line.
    """
    start = time.perf_counter()
    batch = explore_batch(plan)
    rows = run_batch(batch, partial, workers=workers, scheduler=scheduler, progress=progress)
    known = {STATUS_QUO, *(plan.label(c) for c in plan.solvable)}
    rows = rows[rows["combination"].isin(known)].reset_index(drop=True)
    tables = summarise(plan, rows)
    seconds = {"explore": round(time.perf_counter() - start, 3)}
    record = run_record(plan.workbook, {}, seconds, solver_version(), started, command)
    record |= {
        "candidates": [c.name for c in plan.candidates],
        "max_size": plan.max_size,
        "combinations": len(plan.combinations),
        "invalid_combinations": [plan.label(c) for c in plan.invalid],
        "failed_combinations": sorted(
            set(rows.loc[rows["status"] != OPTIMAL, "combination"].tolist())
        ),
        "workers": scheduler or workers,
        "solves": _solves_note(plan.model.data),
    }
    return ExploreResult(plan.workbook, plan.model.data, tables, messages(plan.warnings), record)


def _solves_note(data: ModelData) -> str:
    """Return how each combination was solved, for the run record."""
    start = "the status quo from scratch, each combination from the status quo's basis"
    if data.reserve_rules or rolling(data):
        what = "the reserve's fixed point" if data.reserve_rules else "limited foresight"
        timing = f"transfer_timing {data.transfer_timing}"
        return f"{start}, as run solves a case ({what}, smallest transfers (E14), {timing})"
    return f"{start}, first stage only"
