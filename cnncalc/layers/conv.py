"""Convolution over 1, 2 or 3 spatial axes: `conv` (and the aliases conv1d, conv2d, conv3d)."""

from __future__ import annotations

from math import prod

from cnncalc.errors import ShapeError
from cnncalc.layers.base import (
    Context,
    Inference,
    LayerKind,
    Param,
    boolean,
    integer,
    integers,
    need_spatial,
    padding,
    per_axis,
    product_formula,
    register,
)
from cnncalc.shapes import Shape
from cnncalc.window import resolve_padding, slide_all, slide_notes

@register
class Conv(LayerKind):
    name = "conv"
    #: conv1d/conv2d/conv3d insist on the input's number of spatial axes; conv takes any.
    rank: int | None = None
    summary = "convolution; weights (C_in/groups)*prod(kernel)*filters + filters biases"
    params = (
        Param("filters", integer(1), doc="number of output channels (K)"),
        Param("kernel", integers(1), doc="window size F: an int or one per spatial axis"),
        Param("stride", integers(1), 1, "step S between windows"),
        Param("padding", padding, 0, "P: int, per axis, before/after pairs, 'same' or 'valid'"),
        Param("dilation", integers(1), 1, "spacing D between kernel taps"),
        Param("groups", integer(1), 1, "channel groups; groups = C_in is depthwise"),
        Param("bias", boolean, True, "one learned bias per filter"),
    )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        label = ctx.label
        need_spatial(x, label)
        rank = x.rank
        if self.rank is not None and rank != self.rank:
            raise ShapeError(
                f"{label}: {self.name} needs an input with {self.rank} spatial axes, got {x} ({rank})",
                hint=f"use `conv` (any rank) or give the input {self.rank} spatial axes",
                code="CNN206",
            )
        kernel = per_axis(p["kernel"], rank, "kernel", label)
        stride = per_axis(p["stride"], rank, "stride", label)
        dilation = per_axis(p["dilation"], rank, "dilation", label)
        groups, filters, c_in = p["groups"], p["filters"], x.channels
        if c_in % groups or filters % groups:
            raise ShapeError(
                f"{label}: groups={groups} must divide both the input channels ({c_in}) and the filters ({filters})",
                hint=f"use a number of groups that divides {c_in} and {filters}",
                code="CNN203",
            )
        conv = ctx.convention
        pads = resolve_padding(p["padding"], x.spatial, kernel, stride, dilation, conv, label)
        slide = slide_all(label, x.spatial, kernel, stride, dilation, pads, conv.conv_rounding, "always")
        out = Shape(slide.spatial, filters)
        fan_in = (*kernel, c_in // groups)
        weights = prod(fan_in) * filters
        bias = filters if p["bias"] else 0
        formula = f"({product_formula(fan_in)})*{filters}" + (f" + {filters}" if bias else "")
        return Inference(
            output=out,
            params=weights + bias,
            params_formula=formula,
            macs=prod(slide.spatial) * weights,
            bias_macs=out.numel if bias else 0,
            notes=tuple(slide_notes(label, x.spatial, slide, p["padding"])),
        )


@register
class Conv1d(Conv):
    name = "conv1d"
    rank = 1
    summary = "1-D convolution over {channels, length} inputs (text, audio)"


@register
class Conv2d(Conv):
    name = "conv2d"
    rank = 2
    summary = "2-D convolution (same as conv on an image)"


@register
class Conv3d(Conv):
    name = "conv3d"
    rank = 3
    summary = "3-D convolution over {channels, depth, height, width} inputs"


@register
class Depthwise(Conv):
    """One filter (or `multiplier` filters) per input channel: conv with groups = C_in."""

    name = "depthwise"
    aliases = ("depthwise_conv", "dwconv")
    summary = "depthwise convolution: groups = C_in, C_in*multiplier filters of K x K x 1"
    params = (
        Param("kernel", integers(1), doc="window size F: an int or one per spatial axis"),
        Param("stride", integers(1), 1, "step S between windows"),
        Param("padding", padding, 0, "P: int, per axis, before/after pairs, 'same' or 'valid'"),
        Param("dilation", integers(1), 1, "spacing D between kernel taps"),
        Param("multiplier", integer(1), 1, "filters per input channel (depth multiplier)"),
        Param("bias", boolean, True, "one learned bias per filter"),
    )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        channels = inputs[0].channels
        as_conv = {**p, "filters": channels * p["multiplier"], "groups": channels}
        return super().infer(as_conv, inputs, ctx)
