"""Core: what every layer above shares, and what an instrument declares its inputs with.

`sheet.py` declares input sheets and columns (type, unit, default, bounds, meaning);
`checking.py` holds the raw tables as read, the typed records and the `Checker` that collects
every problem with its cell; `data.py` is `ModelData`, the immutable input of every case;
`values.py` names the inputs a sweep or a plan may move. Nothing here knows Pyomo, a
workbook file or an instrument.
"""
