"""Solving: the compiled case on HiGHS and the layers that solve a case as its workbook asks.

`engine.py` compiles a Pyomo model into one highspy model that is re-solved in place;
`stages.py` is one solve (first stage, smallest transfers (E14), infeasibility diagnosis);
`equilibrium.py` finds a reserve's fixed point (E15); `foresight.py` makes limited
foresight's plans; `solve.py` picks among them for a case; `cases.py` names the two cases.
"""
