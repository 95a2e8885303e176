"""Inputs: the workbook's sheets gathered, reading .xlsx/.ods, validation and the model data.

`schema.py` gathers every sheet: the workbook's own (settings, systems, emissions), each
instrument's (instruments/) and the workflows'; `workbook.py` reads a workbook into records
and writes the template; `validate.py` runs every check, the workbook's and each
instrument's, and lists all problems at once; `model_data.py` builds `ModelData` from the
checked records (each instrument reads its own fields); `frames.py` is the `Workbook` API;
`uncertainty.py` draws the inputs a sweep perturbs; `calibration.py` the cells a fit scales.
"""
