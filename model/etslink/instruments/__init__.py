"""Instruments: one module per model part.

Abatement, banking, links, offsets, price controls and supply steps, a quantity-triggered
reserve. Each module holds its variables and restrictions, declared next to the `add_*`
function that creates them (`declarations.py`), and the index sets (`sets.py`) and swept
parameters (`parameters.py`) they share. `formulation/` assembles them into one model.
"""
