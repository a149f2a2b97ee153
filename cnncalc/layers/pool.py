"""Pooling: `pool` (max or average over a window) and `global_pool` (one value per channel)."""

from __future__ import annotations

from cnncalc.errors import ShapeError
from cnncalc.layers.base import (
    Context,
    Inference,
    LayerKind,
    Param,
    boolean,
    choice,
    integers,
    need_spatial,
    padding,
    per_axis,
    register,
)
from cnncalc.shapes import Shape
from cnncalc.window import resolve_padding, slide_all, slide_notes


def _check_pool_padding(pads, kernel, limit: str, label: str) -> None:
    for (before, after), k in zip(pads, kernel):
        worst = max(before, after)
        if limit == "half" and worst > k // 2:
            raise ShapeError(
                f"{label}: padding {worst} is more than half the window ({k})",
                hint=f"use padding of at most {k // 2} (PyTorch refuses more: windows would see only padding)",
                code="CNN205",
            )
        if limit == "below_kernel" and worst >= k:
            raise ShapeError(f"{label}: padding {worst} must be smaller than the window ({k})",
                             hint=f"use padding of at most {k - 1}", code="CNN205")


@register
class Pool(LayerKind):
    name = "pool"
    shorthand = "kernel"
    summary = "max or average pooling over a window; no parameters"
    params = (
        Param("kernel", integers(1), doc="window size F"),
        Param("stride", integers(1), None, "step S (defaults to the kernel)"),
        Param("padding", padding, 0, "P per side"),
        Param("dilation", integers(1), 1, "spacing between taps (max pooling)"),
        Param("mode", choice("max", "avg"), "max", "max or avg"),
        Param("ceil", boolean, False, "round the output size up (PyTorch ceil_mode)"),
    )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        label = ctx.label
        need_spatial(x, label)
        kernel = per_axis(p["kernel"], x.rank, "kernel", label)
        stride = per_axis(p["stride"] if p["stride"] is not None else p["kernel"], x.rank, "stride", label)
        dilation = per_axis(p["dilation"], x.rank, "dilation", label)
        if p["mode"] == "avg" and any(d > 1 for d in dilation):
            raise ShapeError(f"{label}: average pooling has no dilation", hint="remove `dilation` or use mode: max",
                             code="CNN205")
        conv = ctx.convention
        pads = resolve_padding(p["padding"], x.spatial, kernel, stride, dilation, conv, label)
        if p["padding"] != "same":
            _check_pool_padding(pads, kernel, conv.pool_pad_limit, label)
        rounding = "ceil" if p["ceil"] else conv.pool_rounding
        slide = slide_all(label, x.spatial, kernel, stride, dilation, pads, rounding, conv.pool_clip)
        return Inference(output=x.with_spatial(slide.spatial),
                         notes=tuple(slide_notes(label, x.spatial, slide, p["padding"])))


@register
class GlobalPool(LayerKind):
    name = "global_pool"
    summary = "average (or max) over all spatial positions: 1x1xC"
    shorthand = "mode"
    params = (Param("mode", choice("avg", "max"), "avg", "avg or max"),)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        need_spatial(x, ctx.label)
        return Inference(output=Shape((1,) * x.rank, x.channels))
