"""Transposed convolution (`conv_transpose`, alias `deconv`): the gradient of a convolution,
used to upsample (DCGAN, U-Net decoders).

Output per axis: (W - 1)S - 2P + D(K - 1) + OP + 1 (PyTorch's formula). MACs are counted per
INPUT position, as frameworks execute it: every input element is scattered through the whole
kernel, so MACs = C_in * (C_out / groups) * prod(K) * prod(input spatial). Counting per output
position instead (thop's mistake) overstates them by about S^rank.
"""

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
    per_axis,
    product_formula,
    register,
)
from cnncalc.shapes import Shape, axis_name


def _check_output_padding(op: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], label: str):
    for axis, (o, s, d) in enumerate(zip(op, stride, dilation)):
        if not (o < s or o < d):
            raise ShapeError(
                f"{label}: output_padding {o} must be smaller than the stride ({s}) or the dilation ({d})",
                hint=f"use output_padding of at most {max(s, d) - 1} (it only picks among the sizes "
                "a strided convolution maps to the same input)",
                code="CNN210",
            )


def transposed_size(w: int, k: int, s: int, p: int, d: int, op: int) -> int:
    return (w - 1) * s - 2 * p + d * (k - 1) + op + 1


@register
class ConvTranspose(LayerKind):
    name = "conv_transpose"
    aliases = ("deconv", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    summary = "transposed convolution: (W-1)S - 2P + D(K-1) + OP + 1; weights C_in*(C_out/groups)*prod(K)"
    params = (
        Param("filters", integer(1), doc="number of output channels"),
        Param("kernel", integers(1), doc="window size K: an int or one per spatial axis"),
        Param("stride", integers(1), 1, "upsampling factor S"),
        Param("padding", integers(0), 0, "P removed from each side of the output (an int or one per axis)"),
        Param("output_padding", integers(0), 0, "OP added to one side of the output; OP < S or OP < D"),
        Param("dilation", integers(1), 1, "spacing D between kernel taps"),
        Param("groups", integer(1), 1, "channel groups"),
        Param("bias", boolean, True, "one learned bias per filter"),
    )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        label = ctx.label
        need_spatial(x, label)
        rank = x.rank
        kernel, stride, pad, op, dilation = (
            per_axis(p[key], rank, key, label) for key in ("kernel", "stride", "padding", "output_padding", "dilation")
        )
        groups, filters, c_in = p["groups"], p["filters"], x.channels
        if c_in % groups or filters % groups:
            raise ShapeError(
                f"{label}: groups={groups} must divide both the input channels ({c_in}) and the filters ({filters})",
                hint=f"use a number of groups that divides {c_in} and {filters}",
                code="CNN203",
            )
        _check_output_padding(op, stride, dilation, label)
        spatial = tuple(transposed_size(*axis) for axis in zip(x.spatial, kernel, stride, pad, dilation, op))
        for axis, size in enumerate(spatial):
            if size < 1:
                raise ShapeError(
                    f"{label}: the output {axis_name(rank, axis)} would be {size} "
                    f"(({x.spatial[axis]} - 1)*{stride[axis]} - 2*{pad[axis]} + {dilation[axis]}*({kernel[axis]} - 1) "
                    f"+ {op[axis]} + 1)",
                    hint="use less padding or a larger kernel or stride",
                    code="CNN211",
                )
        out = Shape(spatial, filters)
        per_filter = (*kernel, c_in)
        weights = prod(per_filter) * (filters // groups)
        bias = filters if p["bias"] else 0
        formula = f"({product_formula(per_filter)})*{filters // groups}" + (f" + {filters}" if bias else "")
        return Inference(
            output=out,
            params=weights + bias,
            params_formula=formula,
            macs=weights * prod(x.spatial),
            bias_macs=out.numel if bias else 0,
        )
