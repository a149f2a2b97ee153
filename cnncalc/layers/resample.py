"""Layers that change the spatial size without a learned window: `upsample` (nearest or
(bi/tri)linear interpolation), `adaptive_pool` (pool to a requested size, PyTorch's bin rule)
and `zero_pad` (add zeros around the borders). None has parameters or MACs.
"""

from __future__ import annotations

from math import floor

from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    Context,
    Inference,
    LayerKind,
    Param,
    choice,
    integers,
    need_spatial,
    padding,
    per_axis,
    register,
)
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode

#: interpolation modes and the number of spatial axes each one works on (None: any).
UPSAMPLE_MODES = {"nearest": None, "linear": 1, "bilinear": 2, "trilinear": 3}


def _positive(node: YNode) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1024:
        raise SpecError(f"expected a positive scale factor, got {node.text or 'a collection'!r}", node.loc,
                        hint="e.g. scale: 2 (or one factor per spatial axis)")
    return value


def scales(node: YNode) -> float | tuple[float, ...]:
    if node.is_sequence:
        if len(node.value) not in (1, 2, 3):
            raise SpecError(f"expected a list of 1, 2 or 3 factors, got {len(node.value)}", node.loc)
        return tuple(_positive(item) for item in node.value)
    return _positive(node)


def _per_axis_scale(value: float | tuple[float, ...], rank: int, label: str) -> tuple[float, ...]:
    if not isinstance(value, tuple):
        return (value,) * rank
    if len(value) == 1:
        return value * rank
    if len(value) == rank:
        return value
    raise ShapeError(f"{label}: `scale` has {len(value)} values but the input has {rank} spatial axes",
                     hint=f"give one factor or {rank}", code="CNN206")


@register
class Upsample(LayerKind):
    name = "upsample"
    shorthand = "scale"
    summary = "interpolates to floor(W * scale) per axis (nearest, linear, bilinear, trilinear); no parameters"
    params = (
        Param("scale", scales, doc="factor per spatial axis (an int, a number, or one per axis)"),
        Param("mode", choice(*UPSAMPLE_MODES), "nearest", "nearest | linear (1-D) | bilinear (2-D) | trilinear (3-D)"),
    )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        need_spatial(x, ctx.label)
        rank = UPSAMPLE_MODES[p["mode"]]
        if rank is not None and rank != x.rank:
            raise ShapeError(
                f"{ctx.label}: mode {p['mode']} interpolates {rank} spatial axes but the input {x} has {x.rank}",
                hint="use nearest (any rank), linear (1-D), bilinear (2-D) or trilinear (3-D)",
                code="CNN212",
            )
        factors = _per_axis_scale(p["scale"], x.rank, ctx.label)
        # PyTorch's rule for scale_factor: floor(input size * scale).
        spatial = tuple(floor(w * s) for w, s in zip(x.spatial, factors))
        if any(size < 1 for size in spatial):
            raise ShapeError(f"{ctx.label}: the output size {spatial} has an empty axis",
                             hint="use a larger scale factor", code="CNN213")
        return Inference(output=x.with_spatial(spatial))


@register
class AdaptivePool(LayerKind):
    name = "adaptive_pool"
    shorthand = "output"
    summary = "pools to a requested output size; bin i covers [floor(i*W/out), ceil((i+1)*W/out)); no parameters"
    params = (
        Param("output", integers(1), doc="output size: an int or one per spatial axis"),
        Param("mode", choice("avg", "max"), "avg", "avg or max"),
    )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        need_spatial(x, ctx.label)
        # Any output size is valid (bins overlap or repeat when it does not divide the input),
        # so there is no integrality check here.
        return Inference(output=x.with_spatial(per_axis(p["output"], x.rank, "output", ctx.label)))


def _pads(value, rank: int, label: str) -> tuple[tuple[int, int], ...]:
    if isinstance(value, str):
        raise ShapeError(f"{label}: zero_pad needs numbers, not '{value}'",
                         hint="give an int, one per axis, or before/after pairs", code="CNN214")
    if isinstance(value, int):
        return ((value, value),) * rank
    if len(value) == 1:
        return ((value[0], value[0]),) * rank
    if len(value) == rank:
        return tuple((v, v) for v in value)
    if len(value) == 2 * rank:
        return tuple((value[2 * i], value[2 * i + 1]) for i in range(rank))
    raise ShapeError(f"{label}: padding has {len(value)} values but the input has {rank} spatial axes",
                     hint=f"give 1, {rank} (one per axis) or {2 * rank} (before/after per axis) values",
                     code="CNN206")


@register
class ZeroPad(LayerKind):
    name = "zero_pad"
    shorthand = "padding"
    summary = "adds zeros around the borders: W + P_before + P_after per axis; no parameters"
    params = (Param("padding", padding, doc="int, one per axis, or [before, after] pairs per axis"),)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        need_spatial(x, ctx.label)
        pads = _pads(p["padding"], x.rank, ctx.label)
        return Inference(output=x.with_spatial(tuple(w + b + a for w, (b, a) in zip(x.spatial, pads))))
