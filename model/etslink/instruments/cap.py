"""The cap: the allowances a system issues each year, an input per system-year.

Its rows are those of the `emissions` sheet, which also gives the baseline.
"""

from __future__ import annotations

from etslink.instruments.declarations import BalanceColumn, Instrument, Side, Term, given

INSTRUMENT = Instrument(
    "cap",
    terms=(Term("cap_MtCO2e", Side.AVAILABLE),),
    columns=(
        BalanceColumn(
            "baseline_MtCO2e", "emissions with no carbon price (input)", given("baseline_MtCO2e")
        ),
        BalanceColumn("cap_MtCO2e", "allowances issued (input)", given("cap_MtCO2e")),
    ),
)
"""The cap adds nothing of its own to the model: its term is the input `cap_MtCO2e`."""
