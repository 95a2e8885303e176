"""The cap: the allowances a system issues each year, an input per system-year.

Its rows are those of the `emissions` sheet, which also gives the baseline.
"""

from __future__ import annotations

from collections import defaultdict

from etslink.core.checking import Checker, Record, Tables, model_years
from etslink.instruments.declarations import BalanceColumn, Instrument, Side, Term, given


def _warn_cap_above_baseline(checker: Checker, tables: Tables) -> None:
    """Warn of a cap above the baseline where the surplus cannot be banked."""
    # a cap above the baseline is suspicious only where the surplus cannot be banked: a
    # system without banking, or its last year (a banking system's early surplus is normal)
    banks = {r["system"]: r["banking"] for r in tables["systems"]}
    last = {system: max(years) for system, years in model_years(tables).items()}
    loose: dict[str, list[Record]] = defaultdict(list)
    for r in tables["emissions"]:
        carried = banks.get(r["system"]) and r["year"] < last[r["system"]]
        if (r["cap_MtCO2e"] or 0) > (r["baseline_MtCO2e"] or 0) and not carried:
            loose[r["system"]].append(r)
    for system, rows in loose.items():
        first = rows[0]
        years = sorted(r["year"] for r in rows)
        span = (
            f"{years[0]}"
            if len(years) == 1
            else f"{len(years)} years from {years[0]} to {years[-1]}"
        )
        checker.warn(
            checker.raw["emissions"],
            first["_row"],
            "cap_MtCO2e",
            f"{system}'s cap is above its baseline in {span} (first: cap "
            f"{first['cap_MtCO2e']:g}, baseline {first['baseline_MtCO2e']:g}), so nothing "
            "needs abating then, and the surplus cannot be banked",
            "check the figures",
        )


INSTRUMENT = Instrument(
    "cap",
    terms=(Term("cap_MtCO2e", Side.AVAILABLE),),
    columns=(
        BalanceColumn(
            "baseline_MtCO2e", "emissions with no carbon price (input)", given("baseline_MtCO2e")
        ),
        BalanceColumn("cap_MtCO2e", "allowances issued (input)", given("cap_MtCO2e")),
    ),
    warnings=(_warn_cap_above_baseline,),
)
"""The cap adds nothing of its own to the model: its term is the input `cap_MtCO2e`."""
