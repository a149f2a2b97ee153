"""How a layer's counts read in a table cell, the same in the terminal table and the HTML report."""

from __future__ import annotations

from cnncalc.report import Row
from cnncalc.units import exact, short


def activations(row: Row) -> str:
    """H*W*C = 1.2M for maps, the exact count for vectors, "(in place)" for layers that add nothing."""
    return activations_text(row.output_shape, row.inplace, row.activations)


def activations_text(output_shape: tuple[int, ...], inplace: bool, count: int) -> str:
    """`activations` of a row's fields (the terminal table makes it once per distinct fields)."""
    if inplace:
        return "(in place)"
    if len(output_shape) == 1:
        return exact(count)
    return f"{'*'.join(map(str, output_shape))} = {short(count)}"


def params(row: Row) -> str:
    """The formula with its value ((3*3*3)*64 + 64 = 1,792), or nothing for a layer without parameters."""
    return params_text(row.params, row.params_formula)


def params_text(count: int, formula: str | None) -> str:
    """`params` of a row's fields."""
    if not count:
        return ""
    return f"{formula} = {exact(count)}" if formula else exact(count)
