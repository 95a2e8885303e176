"""Reports built from `Results`, never from the model: the results workbook and HTML."""
