"""Instruments: one module per model part.

Abatement, banking, links, offsets, price controls and supply steps, a quantity-triggered
reserve. Each module holds its variables and restrictions, declared next to the `add_*`
function that creates them (`declarations.py`), and the index sets (`sets.py`) and swept
parameters (`parameters.py`) they share. `formulation/` assembles them into one model.
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
