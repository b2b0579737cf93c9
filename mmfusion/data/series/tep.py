"""The Tennessee Eastman Process's 52 recorded variables, in the order every TEP source uses:
41 measurements `xmeas_1..xmeas_41`, then 11 manipulated variables `xmv_1..xmv_11`."""

VARIABLES = [f"xmeas_{i}" for i in range(1, 42)] + [f"xmv_{i}" for i in range(1, 12)]
