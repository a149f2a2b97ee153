"""The network's input: `input: 224x224x3` (or DxHxWxC, a bare number of units, or a mapping of named
axes), as a spec, a pattern's `INPUT`, or `-i/--input` on the command line gives it."""

from __future__ import annotations

from cnncalc.errors import LimitError, SpecError
from cnncalc.keys import unknown_key as _unknown_key
from cnncalc.layers.values import integer
from cnncalc.shapes import Shape
from cnncalc.yamlsource import MAX_DIGITS, YNode


def mapping(node: YNode, what: str, example: str = "key: value") -> dict[str, YNode]:
    """The mapping a spec key must hold, or a located error saying how to write it."""
    if not node.is_mapping:
        raise SpecError(f"{what} must be a mapping of keys to values", node.loc, hint=f"write it as {example}")
    return node.value



def _shape_from_text(node: YNode) -> Shape:
    parts = str(node.value).lower().replace(" ", "").split("x")
    if any(len(p) > MAX_DIGITS and p.isdigit() for p in parts):  # int() refuses past 4,300 digits
        raise LimitError(f"a size of the input has more than {MAX_DIGITS} digits", node.loc,
                         hint="use a realistic size (at most 10,000,000)")
    if len(parts) not in (3, 4) or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise SpecError(
            f"cannot read the input size {node.text!r}",
            node.loc,
            hint='write "HxWxC" such as "224x224x3" (or "DxHxWxC"); for a sequence use {channels: C, length: L}',
        )
    dims = [int(p) for p in parts]
    limit = integer(1)
    for d in dims:
        limit(YNode(d, node.loc, str(d)))
    return Shape(tuple(dims[:-1]), dims[-1])


INPUT_AXES = {
    frozenset({"channels"}): (),
    frozenset({"units"}): (),
    frozenset({"channels", "length"}): ("length",),
    frozenset({"channels", "height", "width"}): ("height", "width"),
    frozenset({"channels", "depth", "height", "width"}): ("depth", "height", "width"),
}


def parse_input(node: YNode) -> Shape:
    if node.is_scalar:
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            return Shape((), integer(1)(node))
        return _shape_from_text(node)
    fields = mapping(node, "input", "{channels: 3, height: 224, width: 224} or 224x224x3")
    allowed = ("channels", "height", "width", "length", "depth", "units")
    for key in fields:
        if key not in allowed:
            raise _unknown_key(key, node.key_locs[key], allowed, "input")
    axes = INPUT_AXES.get(frozenset(fields))
    if axes is None:
        raise SpecError(
            f"the input gives {', '.join(fields)}; cnncalc cannot tell its layout",
            node.loc,
            hint="use {channels, height, width}, {channels, length}, {channels, depth, height, width} or {units}",
        )
    size = integer(1)
    channels = size(fields["units"] if "units" in fields else fields["channels"])
    return Shape(tuple(size(fields[a]) for a in axes), channels)
