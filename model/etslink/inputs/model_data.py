"""`build_model_data`: ModelData from the validated records of a workbook.

The workbook's own sheets (settings, systems, emissions) and the workflows' (foresight,
uncertainty, observed) are read here; each instrument reads its own fields
(`Instrument.read`). With rows announced later, the data holds the rules in force and, as
`vintages`, the inputs as known in each announcement year.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from etslink.core.data import (
    IntensityStandard,
    ModelData,
    Observation,
    Rows,
    UncertainInput,
    announced,
    frozen,
    in_force,
)
from etslink.inputs.schema import ANNOUNCED
from etslink.instruments import INSTRUMENTS, intensity


def _instrument_fields(rows: Rows) -> dict[str, Any]:
    """Return every instrument's `ModelData` fields, read from the typed rows."""
    fields: dict[str, Any] = {}
    for instrument in INSTRUMENTS:
        if instrument.read is not None:
            fields.update(instrument.read(rows))
    return fields


def announcement_years(tables: Mapping[str, list[dict[str, Any]]]) -> list[int]:
    """Return the years after the first model year in which rows are announced, sorted."""
    first = min(r["year"] for r in tables["emissions"])
    said = {announced(r) for name in ANNOUNCED for r in tables.get(name, [])}
    return sorted(year for year in said if year > first)


def build_model_data(
    tables: Mapping[str, list[dict[str, Any]]], settings: Mapping[str, Any], default_name: str
) -> ModelData:
    """Return ModelData from validated, typed records (see `validate.validate`).

    With rows announced later, the data holds the rules in force (for each year those known
    in that year) and, as `vintages`, the inputs as known in each announcement year.
    """
    data = _build(tables, settings, default_name, None)
    years = announcement_years(tables)
    if not years:
        return data
    first = min(y for _, y in data.system_years)
    vintages = {t: _build(tables, settings, default_name, t) for t in [first, *years]}
    return replace(data, vintages=frozen(vintages))


def _with_standard(row: dict[str, Any], standard: IntensityStandard | None) -> dict[str, Any]:
    """Return an emissions row of an intensity year with its baseline (mu Q0) and cap (0)."""
    if standard is None:
        return row
    return {**row, "baseline_MtCO2e": standard.baseline_MtCO2e, "cap_MtCO2e": 0.0}


def _build(
    tables: Mapping[str, list[dict[str, Any]]],
    settings: Mapping[str, Any],
    default_name: str,
    known_in: int | None,
) -> ModelData:
    """Return ModelData with the emissions and msr rows known in `known_in` (None: in force)."""
    systems = tuple(r["system"] for r in tables["systems"])
    every_year: dict[str, set[int]] = defaultdict(set)
    for r in tables["emissions"]:
        every_year[r["system"]].add(r["year"])
    emissions = [r for r, _ in in_force(tables["emissions"], known_in, every_year)]
    standard = intensity.standards(tables)
    emissions = [_with_standard(r, standard.get((r["system"], r["year"]))) for r in emissions]
    tables = {**tables, "emissions": emissions}
    baseline = {(r["system"], r["year"]): r["baseline_MtCO2e"] for r in tables["emissions"]}
    years_of: dict[str, set[int]] = defaultdict(set)
    for s, y in baseline:
        years_of[s].add(y)
    all_years = {y for _, y in baseline}
    return ModelData(
        scenario_name=settings.get("scenario_name") or default_name,
        currency=str(settings.get("currency") or "EUR").upper(),
        base_year=settings.get("base_year") or min(all_years),
        discount_rate=float(settings.get("discount_rate") or 0.0),
        systems=systems,
        system_names=frozen({r["system"]: r["name"] or r["system"] for r in tables["systems"]}),
        banking=frozen({r["system"]: bool(r["banking"]) for r in tables["systems"]}),
        borrowing_limit_MtCO2e=frozen(
            {r["system"]: r["borrowing_limit_MtCO2e"] for r in tables["systems"]}
        ),
        initial_bank_MtCO2e=frozen(
            {r["system"]: r["initial_bank_MtCO2e"] for r in tables["systems"]}
        ),
        baseline_MtCO2e=frozen(baseline),
        cap_MtCO2e=frozen({(r["system"], r["year"]): r["cap_MtCO2e"] for r in tables["emissions"]}),
        **_instrument_fields(Rows(tables, years_of, baseline, known_in)),
        foresight_years=settings.get("foresight_years"),
        foresight_schedule=tuple(
            sorted(
                (r["system"].strip(), r["first_year"], r["years"])
                for r in tables.get("foresight", [])
            )
        ),
        transfer_timing=settings.get("transfer_timing") or "earliest",
        uncertainty=tuple(_uncertain(r) for r in tables.get("uncertainty", [])),
        draws=int(settings.get("draws") or 100),
        seed=int(settings.get("seed") or 0),
        observations=tuple(
            Observation(
                r["system"], r["year"], r["quantity"], r["value"], r["weight"], r["source"] or ""
            )
            for r in tables.get("observed", [])
            if r["year"] in years_of[r["system"]]
        ),
    )


def _uncertain(r: Mapping[str, Any]) -> UncertainInput:
    """Return a row of sheet uncertainty as an uncertain input (blank years: every year)."""
    first, last = r["first_year"], r["last_year"]
    years = (
        None
        if first is None and last is None
        else tuple(
            range(first if first is not None else 1900, (last if last is not None else 2200) + 1)
        )
    )
    default_mean = 1.0 if r["apply"] == "scale" and r["distribution"] == "normal" else 0.0
    return UncertainInput(
        r["parameter"],
        str(r["target"]),
        years,
        r["distribution"],
        r["apply"],
        r["mean"] if r["mean"] is not None else default_mean,
        r["sd"],
        r["low"],
        r["high"],
        r["mode"],
        r["group"],
    )
