"""Write `results.xlsx`: the contract sheets plus gains, shadow prices and the run record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from etslink.results import Results

PER_CASE_SHEETS = (
    "prices",
    "balances",
    "transfers",
    "costs",
    "shadow_prices",
    "offset_prices",
    "offset_use",
)


def _run_sheet(record: dict[str, Any]) -> pd.DataFrame:
    flat = pd.json_normalize(json.loads(json.dumps(record, default=str)), sep=".")
    return pd.DataFrame({"item": flat.columns, "value": [str(v) for v in flat.iloc[0]]})


def write_results_workbook(results: Results, record: dict[str, Any], path: Path) -> None:
    """Write every result table to `path`, one sheet each, header frozen and filtered."""
    sheets = {name: results.table(name) for name in PER_CASE_SHEETS}
    sheets["gains"] = results.gains
    sheets["run"] = _run_sheet(record)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            ws.freeze_panes = "A2"
            if ws.max_row > 1:
                ws.auto_filter.ref = ws.dimensions
            for index, column in enumerate(frame.columns, start=1):
                ws.column_dimensions[get_column_letter(index)].width = min(
                    max(12, len(str(column)) + 2), 60
                )
