"""Outputs: what a solved case says, and the files each workflow writes.

`results.py` turns solutions into result tables (the only place duals become prices);
`columns.py` names the currency-aware output columns; `runrecord.py` writes run records and
output folders all or nothing; `products.py` holds what each workflow returns; `report/`
writes the workbooks and HTML reports.
"""
