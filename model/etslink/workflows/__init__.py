"""Workflows: what a user runs.

`run.py` solves one workbook's two cases, `sweep.py` draws the uncertain inputs,
`explore.py` adds combinations of candidate links, `compare.py` puts finished runs side by
side; `batch.py` is the one batch runner of sweep and explore (here or on dask).
"""
