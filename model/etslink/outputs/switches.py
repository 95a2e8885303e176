"""Results that sit on a reserve's switch: a TNAC within a small margin of a threshold.

Where the TNAC that triggers a year's intake or release lies next to the threshold, a small
change of the inputs switches the operation on or off at once (the EU's release of 100 Mt,
or an intake of 24% of the TNAC), and prices and the gain from linking jump with it: the EU's
gain by billions of EUR. `etslink run` warns about each such threshold, on the console and in
the report. An intake capped at the excess over its threshold (the EU rule from 2024) starts
from zero there and does not jump, so it is not a switch (`instruments/reserve.py::switches`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from etslink.errors import Issue
from etslink.instruments.reserve import ReserveYear, Switch, switches
from etslink.outputs.results import MSR_COLUMNS, Results

SWITCH_MARGIN_SHARE = 0.01
"""A TNAC within this share of a threshold sits on its switch: the EU's TNAC is published to
the million tonnes, and the inputs that set it (baselines, abatement costs) are not known to
within a percent."""
SWITCH_MARGIN_MtCO2e = 1.0
"""The margin is at least this [MtCO2e], so that a small system's threshold of a few Mt does
not ask for its TNAC to the tonne."""
JUMP_NOTED_MtCO2e = 0.05
"""Switches that move supply by less than this [MtCO2e] (what is left to release of nearly
empty holdings) are not worth a warning."""


def switch_margin(threshold_MtCO2e: float) -> float:
    """Return how close to a threshold a TNAC sits on its switch [MtCO2e]."""
    return max(SWITCH_MARGIN_SHARE * abs(threshold_MtCO2e), SWITCH_MARGIN_MtCO2e)


@dataclass(frozen=True)
class NearSwitch:
    """A reserve threshold next to the TNAC that triggers it, in one case or both."""

    system: str
    year: int
    column: str
    """The threshold's column on sheet msr: intake_ or release_threshold_MtCO2e."""
    threshold_MtCO2e: float
    tnac_MtCO2e: dict[str, float]
    """The previous year's TNAC in each case where it sits on the switch, by the words that
    name the case ("linked", "without links")."""
    jump_MtCO2e: float
    """The operation the switch turns on, the largest of those cases'."""

    @property
    def sentence(self) -> str:
        """Return what sits on which switch, and what the switch does [MtCO2e]."""
        tnac = " and ".join(f"{v:,.1f} MtCO2e {case}" for case, v in self.tnac_MtCO2e.items())
        operation = self.column.removesuffix("_threshold_MtCO2e")
        does = (
            f"below it the reserve releases {self.jump_MtCO2e:,.1f} MtCO2e"
            if operation == "release"
            else f"above it the reserve takes in {self.jump_MtCO2e:,.1f} MtCO2e or more"
        )
        return (
            f"{self.system} {self.year}: the previous year's TNAC is {tnac}, within "
            f"{switch_margin(self.threshold_MtCO2e):,.1f} MtCO2e of the {operation} threshold "
            f"of {self.threshold_MtCO2e:,.1f} MtCO2e; {does}, so a small change of the inputs "
            f"can switch that {operation} on or off, and prices and the gain from linking jump "
            "with it"
        )

    def issue(self) -> Issue:
        """Return the warning: the threshold's column on sheet msr, the sentence and a fix."""
        margin = switch_margin(self.threshold_MtCO2e)
        low, high = self.threshold_MtCO2e - margin, self.threshold_MtCO2e + margin
        fix = (
            f"before relying on these results, run the workbook again with {self.system}'s "
            f"{self.column} at {low:,.1f} and at {high:,.1f} and put the runs side by side "
            "with `etslink compare` to see how far the results move"
        )
        return Issue("msr", None, "", self.column, self.sentence, fix)


def near_switches(results: Results) -> list[NearSwitch]:
    """Return each reserve threshold within `switch_margin` of the TNAC that triggers it.

    Both cases are read (the gain from linking is their difference); a threshold near the
    TNAC in both is one `NearSwitch`. Ordered by system, year and threshold.
    """
    second = "without links" if results.data.second_case == "autarky" else "in the counterfactual"
    words = {"linked": "linked", "autarky": second}
    near: dict[tuple[str, int, str, float], tuple[dict[str, float], float]] = {}
    for case, case_results in results.cases.items():
        for switch in _switches(results, case_results.msr):
            gap = abs(switch.tnac_previous_MtCO2e - switch.threshold_MtCO2e)
            if gap > switch_margin(switch.threshold_MtCO2e):
                continue
            key = (switch.system, switch.year, switch.column, switch.threshold_MtCO2e)
            tnac, jump = near.get(key, ({}, 0.0))
            tnac[words[case]] = switch.tnac_previous_MtCO2e
            near[key] = (tnac, max(jump, switch.jump_MtCO2e))
    return [
        NearSwitch(*key, tnac, jump)
        for key, (tnac, jump) in sorted(near.items(), key=lambda item: item[0])
        if jump >= JUMP_NOTED_MtCO2e
    ]


def _switches(results: Results, msr: pd.DataFrame) -> list[Switch]:
    """Return the switches of every system of one case's `msr` table, year by year."""
    found = []
    for _, rows in msr.groupby("system", sort=False):
        path = [
            ReserveYear(**row) for row in rows[MSR_COLUMNS].sort_values("year").to_dict("records")
        ]
        found += switches(results.data, path)
    return found


def switch_warnings(results: Results) -> list[Issue]:
    """Return a warning for each reserve threshold that the results sit on (`near_switches`)."""
    return [near.issue() for near in near_switches(results)]
