"""Finished runs side by side: what `etslink compare` reads and what its outputs show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etslink.outputs.columns import Columns
from etslink.outputs.results import emissions_moved

SCENARIO = "scenario"
"""The column naming each run's scenario in the compared tables."""
LINKED_EMISSIONS = "linked_emissions_MtCO2e"
"""Emissions over all years in the linked case [MtCO2e]."""
EMISSIONS_MOVED = "emissions_change_from_linking_MtCO2e"
"""Emissions over all years, linked minus autarky [MtCO2e]: a link moves them only where supply
reacts to prices (a reserve, a floor, a ceiling, a supply step, credits, an intensity standard)."""


@dataclass(frozen=True)
class FinishedRun:
    """One folder written by `etslink run`: its scenario name, run record and result tables."""

    folder: Path
    scenario: str
    record: dict[str, Any]
    currency: str
    tables: dict[str, pd.DataFrame]
    """The sheets in `KEYS`, `OPTIONAL_KEYS` and `LINKS_SHEET`, as read; an optional sheet
    that another run has is here empty."""


@dataclass(frozen=True)
class Comparison:
    """Finished runs side by side; the first is the one the others are compared with.

    Attributes:
        runs: The runs, in the order given.
        currency: The currency of every run, e.g. EUR.
        stacked: Per sheet in `KEYS` (and `OPTIONAL_KEYS` that a run has), every run's rows
            under a leading `scenario` column.
        differences: Per sheet of `stacked`, each later run minus the first on the same keys,
            for every numeric column both have (`scenario`, `base_scenario`, keys, values).
            The first run has no rows here: its differences would all be zero.
        groups: The linked groups: systems joined by a link, directly or along a chain, in
            any run; two or more systems each.
        unlinked: The systems that no run links to another.
    """

    runs: tuple[FinishedRun, ...]
    currency: str
    stacked: dict[str, pd.DataFrame]
    differences: dict[str, pd.DataFrame]
    groups: tuple[tuple[str, ...], ...]
    unlinked: tuple[str, ...]

    @property
    def scenarios(self) -> tuple[str, ...]:
        """Return the scenario names, unique, in the order of the runs."""
        return tuple(run.scenario for run in self.runs)

    @property
    def columns(self) -> Columns:
        """Return the output column names in this comparison's currency."""
        return Columns(self.currency)

    def totals(self) -> pd.DataFrame:
        """Return per scenario the compliance costs and gain of all systems [M CUR, PV].

        Columns: `scenario`, `folder`, the autarky and linked compliance cost, the gain from
        linking, the gain as a percentage of the autarky cost, the gain minus the first
        scenario's gain, what the linked case pays abroad for allowances and credits [M CUR,
        PV], and the emissions of `emissions` summed over the systems [MtCO2e, all years].
        Each run discounts to its own base year at its own rate.
        """
        cols = self.columns
        autarky = cols.case_money("autarky", "compliance_cost")
        linked = cols.case_money("linked", "compliance_cost")
        gain = cols.money("gain_from_linking", pv=True)
        abroad = cols.case_money("linked", "paid_abroad")
        rows = []
        for run in self.runs:
            sums = run.tables["gains"][[autarky, linked, gain, abroad]].sum()
            rows.append({SCENARIO: run.scenario, "folder": str(run.folder), **sums.to_dict()})
        out = pd.DataFrame(rows)
        out["gain_percent_of_autarky_cost"] = 100 * out[gain] / out[autarky].replace(0, np.nan)
        out[cols.money("gain_change_from_first", pv=True)] = out[gain] - out[gain].iloc[0]
        out[abroad] = out.pop(abroad)  # after the gains, as on the report
        emitted = self.emissions().groupby(SCENARIO, sort=False)[
            [LINKED_EMISSIONS, EMISSIONS_MOVED]
        ]
        return out.join(emitted.sum(), on=SCENARIO)

    def emissions(self) -> pd.DataFrame:
        """Return per scenario and system the emissions over all years [MtCO2e].

        Columns: `scenario`, `system`, the linked case's emissions (`LINKED_EMISSIONS`) and
        linked minus autarky (`EMISSIONS_MOVED`), systems in each run's order.
        """
        frames = []
        for run in self.runs:
            balances = run.tables["balances"]
            linked = balances[balances["case"] == "linked"]
            emitted = linked.groupby("system", sort=False)["emissions_MtCO2e"].sum()
            frames.append(
                pd.DataFrame(
                    {
                        SCENARIO: run.scenario,
                        "system": emitted.index,
                        LINKED_EMISSIONS: emitted.to_numpy(),
                        EMISSIONS_MOVED: emissions_moved(balances, "autarky")
                        .reindex(emitted.index)
                        .to_numpy(),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)


def scenarios_table(comparison: Comparison) -> pd.DataFrame:
    """Return one row per scenario: its totals [M CUR, PV] and where its run came from."""
    records = pd.DataFrame(
        [
            {
                "input_path": run.record.get("input", {}).get("path", ""),
                "input_sha256": run.record.get("input", {}).get("sha256", ""),
                "run_started_utc": run.record.get("started_utc", ""),
                "etslink_version": run.record.get("versions", {}).get("etslink", ""),
            }
            for run in comparison.runs
        ]
    )
    return pd.concat([comparison.totals(), records], axis=1)
