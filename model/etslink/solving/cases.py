"""The two cases of every run: `linked` (the workbook as it is) and `autarky` (no links)."""

from __future__ import annotations

from typing import Literal

from etslink.core.data import ModelData

Case = Literal["linked", "autarky"]
CASES: tuple[Case, ...] = ("linked", "autarky")


def case_data(data: ModelData) -> dict[Case, ModelData]:
    """Return the data of each case; the second keeps only the links of the status quo.

    It removes every link but those marked `in_counterfactual`, and keeps the offsets. The
    second case is named "autarky" inside the model; outputs name it
    `ModelData.second_case` ("counterfactual" when links stay in it).
    """
    return {"linked": data, "autarky": data.counterfactual()}
