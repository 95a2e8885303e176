"""The two cases of every run: `linked` (the workbook as it is) and `autarky` (no links)."""

from __future__ import annotations

from typing import Literal

from etslink.inputs.data import ModelData

Case = Literal["linked", "autarky"]
CASES: tuple[Case, ...] = ("linked", "autarky")


def case_data(data: ModelData) -> dict[Case, ModelData]:
    """Return the data of each case; autarky removes every link and keeps the offsets."""
    return {"linked": data, "autarky": data.without_links()}
