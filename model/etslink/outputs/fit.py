"""The model held against what markets did: the `fit` sheet and its summary.

Each row of the workbook's `observed` sheet is set beside the model's figure of the same
system, year and quantity in the linked case: the year's price, verified emissions, the bank
at the end of the year (the TNAC) or the reserve's intake.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from etslink.core.data import ModelData
from etslink.outputs.results import CaseResults, Results

Figures = dict[tuple[str, str, int], float]
"""A case's figure per (quantity, system, year) [CUR per tCO2e or MtCO2e]."""

FIT_COLUMNS = (
    "system",
    "year",
    "quantity",
    "unit",
    "observed",
    "model",
    "difference",
    "weight",
    "source",
)
"""Columns of the `fit` sheet; `observed` and `model` are in the row's `unit`."""
FAR = 0.25
"""A model figure further than this from its observation (|model / observed - 1|) is named
as far off in reports."""
FIT_CASE = "linked"
"""The case held against observations: the markets as they are linked."""
_QUANTITY_COLUMNS = {
    "emissions": ("balances", "emissions_MtCO2e"),
    "bank": ("balances", "bank_end_MtCO2e"),
    "msr_intake": ("msr", "intake_MtCO2e"),
}


def unit(quantity: str, currency: str) -> str:
    """Return the unit of an observed quantity: a price's currency per tCO2e, else MtCO2e."""
    return f"{currency} per tCO2e" if quantity == "price" else "MtCO2e"


def model_figures(case: CaseResults, price_column: str) -> dict[tuple[str, str, int], float]:
    """Return the case's figure per (quantity, system, year) for every observable quantity.

    Prices [CUR per tCO2e, money of the year], quantities [MtCO2e]. A system without a
    reserve has no `msr_intake` figure here (its intake is 0).
    """
    tables = {"price": (case.prices, price_column)}
    tables |= {q: (getattr(case, table), col) for q, (table, col) in _QUANTITY_COLUMNS.items()}
    figures: dict[tuple[str, str, int], float] = {}
    for quantity, (frame, column) in tables.items():
        for system, year, value in zip(frame["system"], frame["year"], frame[column], strict=True):
            figures[quantity, system, int(year)] = float(value)
    return figures


def difference(model: float, observed: float) -> float:
    """Return model / observed - 1 (NaN where nothing was observed: an observed 0)."""
    return model / observed - 1.0 if observed else math.nan


def fit_rows(d: ModelData, paths: dict[str, Figures]) -> pd.DataFrame:
    """Return each observation beside the model's figure in each of `paths`.

    One row per `observed` row within the model's years, in sheet order; per path a column
    `model<suffix>` and `difference<suffix>` (model / observed - 1), the suffix being the
    path's key ("" for the `fit` sheet, "_before" and "_after" for a calibration's).
    """
    rows = []
    for o in d.observations:
        row: dict[str, Any] = {
            "system": o.system,
            "year": o.year,
            "quantity": o.quantity,
            "unit": unit(o.quantity, d.currency),
            "observed": o.value,
        }
        for suffix, figures in paths.items():
            model = figures.get((o.quantity, o.system, o.year), 0.0)
            row[f"model{suffix}"] = model
            row[f"difference{suffix}"] = difference(model, o.value)
        rows.append(row | {"weight": o.weight, "source": o.source})
    columns = [*FIT_COLUMNS[:5]]
    columns += [f"{c}{suffix}" for suffix in paths for c in ("model", "difference")]
    return pd.DataFrame(rows, columns=[*columns, *FIT_COLUMNS[-2:]])


def fit_table(results: Results) -> pd.DataFrame:
    """Return the `fit` sheet: each observation beside the linked case's figure."""
    figures = model_figures(results.cases[FIT_CASE], results.columns.price)
    return fit_rows(results.data, {"": figures})


def largest_differences(fit: pd.DataFrame) -> dict[str, dict[str, dict[str, Any]]]:
    """Return per system and quantity the row furthest from its observation.

    Each as {"year", "observed", "model", "difference"} (difference = model / observed - 1),
    for run.json and the report; rows with nothing observed (0) are left out.
    """
    known = fit.dropna(subset=["difference"])
    furthest = known.loc[
        known["difference"].abs().groupby([known["system"], known["quantity"]]).idxmax()
    ]
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for r in furthest.itertuples(index=False):
        summary.setdefault(str(r.system), {})[str(r.quantity)] = {
            "year": int(r.year),
            "observed": float(r.observed),
            "model": float(r.model),
            "difference": round(float(r.difference), 6),
        }
    return summary
