"""Instruments: one module per model part, holding all of it.

The cap, an intensity standard, abatement, links, offsets, price controls, supply steps,
banking, a quantity-triggered reserve and border adjustments. Each module declares one
`Instrument` (`declarations.py`): its input sheets, checks and warnings, how it reads its
`ModelData` fields, its `add_*` with its variables and restrictions, the terms it adds to the
allowance balance and the objective, and its result columns. `INSTRUMENTS` below is the one
list of them; inputs/ and formulation/ assemble the workbook and the model from it. Index
sets (`sets.py`) and swept parameters (`parameters.py`) are shared.
"""

from etslink.instruments import (
    abatement,
    banking,
    border_adjustments,
    cap,
    intensity,
    links,
    offsets,
    price_controls,
    reserve,
    supply_steps,
)
from etslink.instruments.declarations import Instrument

INSTRUMENTS: tuple[Instrument, ...] = (
    cap.INSTRUMENT,
    intensity.INSTRUMENT,
    abatement.INSTRUMENT,
    links.INSTRUMENT,
    offsets.INSTRUMENT,
    price_controls.INSTRUMENT,
    supply_steps.INSTRUMENT,
    banking.INSTRUMENT,
    reserve.INSTRUMENT,
    border_adjustments.INSTRUMENT,
)
"""Every instrument, in the order they are built and in which their sheets (after the
workbook's own), checks, balance terms and columns appear."""
