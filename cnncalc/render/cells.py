"""How a layer's counts read in a table cell, the same in the terminal table and the HTML report."""

from __future__ import annotations

from cnncalc.report import Row
from cnncalc.units import exact, short


def activations(row: Row) -> str:
    """H*W*C = 1.2M for maps, the exact count for vectors, "(in place)" for layers that add nothing."""
    if row.inplace:
        return "(in place)"
    if len(row.output_shape) == 1:
        return exact(row.activations)
    return f"{'*'.join(str(d) for d in row.output_shape)} = {short(row.activations)}"


def params(row: Row) -> str:
    """The formula with its value ((3*3*3)*64 + 64 = 1,792), or nothing for a layer without parameters."""
    if not row.params:
        return ""
    return f"{row.params_formula} = {exact(row.params)}" if row.params_formula else exact(row.params)
