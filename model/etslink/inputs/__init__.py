"""Inputs: the workbook's sheets gathered, reading .xlsx/.ods, validation and the model data.

`schema.py` gathers every sheet: the workbook's own (settings, systems, emissions, the
workflows' sheets) and each instrument's (instruments/); `workbook.py` reads a workbook into
records and writes the template; `validate.py` runs every check, the workbook's and each
instrument's, and lists all problems at once; `frames.py` is the `Workbook` API;
`uncertainty.py` draws the inputs a sweep perturbs; `calibration.py` the parameters a fit
moves. Nothing here knows Pyomo.
"""
