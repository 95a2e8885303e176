"""Inputs: the schema of every sheet, reading .xlsx/.ods, validation and the model data.

`schema.py` declares every sheet and column (units, defaults, docs); `workbook.py` reads a
workbook into records and writes the template; `validate.py` checks every record and lists
all problems at once; `data.py` turns checked records into `ModelData`, the immutable input
of every case; `uncertainty.py` draws the inputs a sweep perturbs. Nothing here knows Pyomo.
"""
