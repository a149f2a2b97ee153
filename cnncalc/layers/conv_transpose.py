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
    Geometry,
    Inference,
    LayerKind,
    MemoryContext,
    MemoryRule,
    Param,
    boolean,
    integer,
    integers,
    need_spatial,
    per_axis,
    product_formula,
    register,
)
from cnncalc.layers.conv import GROUPS_NOT_DIVIDING
from cnncalc.rule import Rule
from cnncalc.shapes import Shape, axis_name


def _check_output_padding(op: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], label: str):
    for o, s, d in zip(op, stride, dilation):
        if not (o < s or o < d):
            raise ShapeError(
                f"{label}: output_padding {o} must be smaller than the stride ({s}) or the dilation ({d})",
                hint=f"use output_padding of at most {max(s, d) - 1} (it only picks among the sizes "
                "a strided convolution maps to the same input)",
                code="CNN210",
            )


def transposed_size(w: int, k: int, s: int, p: int, d: int, op: int) -> int:
    return (w - 1) * s - 2 * p + d * (k - 1) + op + 1


OUTPUT_PADDING_TOO_LARGE = Rule(
    "CNN210", "output-padding-too-large", "error", "a transposed convolution's output_padding is too large",
    what="Reports `output_padding` that is not smaller than the stride or the dilation.",
    why="output_padding only chooses among the output sizes a strided transposed convolution could "
    "invert; PyTorch refuses larger values.",
    example="- conv_transpose: {filters: 8, kernel: 3, stride: 2, output_padding: 2}",
    fix="Use output_padding below the stride (0 or 1 for stride 2).",
)


TRANSPOSED_OUTPUT_EMPTY = Rule(
    "CNN211", "transposed-output-empty", "error", "a transposed convolution's output would be empty",
    what="Reports a transposed convolution whose (W - 1)S - 2P + D(K - 1) + OP + 1 is below 1.",
    why="The layer produces no output; PyTorch raises.",
    example="- conv_transpose: {filters: 8, kernel: 3, padding: 2}   # on a 2x2 input",
    fix="Use less padding, or a larger kernel or stride.",
)


@register
class ConvTranspose(LayerKind):
    name = "conv_transpose"
    aliases = ("deconv", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    rules = (GROUPS_NOT_DIVIDING, OUTPUT_PADDING_TOO_LARGE, TRANSPOSED_OUTPUT_EMPTY)
    example = "{filters: 4, kernel: 3, stride: 2, padding: 1, output_padding: 1}"
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

    def field_steps(self, p, inputs, inference: Inference):
        """Output y gathers the inputs x with x S + t D - P = y: at most ceil(K'/S) of them, from
        (y + P - D(K - 1)) / S on (a fractional step: cnncalc/receptive.py)."""
        from fractions import Fraction
        from math import ceil

        from cnncalc.layers.base import FieldStep

        g = inference.geometry
        return tuple(FieldStep(ceil(k / s), Fraction(1, s), Fraction(before - (k - 1), s))
                     for k, s, (before, _) in zip(g.k_eff, g.stride, g.pads))

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """As a convolution's (cnncalc/layers/onednn.py): it runs as one's input gradient."""
        from cnncalc.layers.onednn import convolution_rule, transposed_case  # memory models only

        (x,) = inputs
        g, output = inference.geometry, inference.output
        filters = output.channels
        weights = x.channels * (filters // g.groups) * prod(g.kernel)
        bias = (filters,) if p["bias"] else ()
        case = transposed_case(ctx.batch, x.channels, filters, g.groups, g.kernel, x.spatial, output.spatial,
                               p["bias"], ctx.act_bytes, g.stride, ctx.cpu)
        return convolution_rule(case, weights, bias, ctx)

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
            geometry=Geometry(kernel, stride, dilation, tuple((q, q) for q in pad), groups, output_padding=op),
        )

    @staticmethod
    def _canvas(x: Shape, g: Geometry, out: tuple[int, ...]) -> tuple[int, ...]:
        """The size of the uncropped output the taps are added into: (W-1)S + D(K-1) + 1 per axis, or
        more when the output padding reaches past it."""
        full = tuple((w - 1) * s + d * (k - 1) + 1 for w, k, s, d in zip(x.spatial, g.kernel, g.stride, g.dilation))
        return tuple(max(f, before + o) for f, (before, _), o in zip(full, g.pads, out))

    def make_weights(self, p, inputs, inference: Inference, rng):
        """kernel (*kernel, filters/groups, C_in) (TensorFlow's Conv2DTranspose layout; PyTorch's is
        (C_in, filters/groups, *kernel)); bias (filters,)."""
        from cnncalc import arrays
        from cnncalc.forward import Weights

        (x,) = inputs
        g, filters = inference.geometry, inference.output.channels
        fan_in = prod(g.kernel) * (x.channels // g.groups)
        params = {"kernel": arrays.random_normal(rng, (*g.kernel, filters // g.groups, x.channels),
                                                 (2 / fan_in) ** 0.5)}
        if p["bias"]:
            params["bias"] = arrays.random_normal(rng, (filters,), 0.1)
        return Weights(params)

    def forward(self, p, inputs, run):
        """Scatter form, as frameworks run it: one stacked product (groups, N*in, C_in/g) @
        (groups, C_in/g, K*filters/g) gives every input position's contribution to every kernel tap;
        each tap's block is then added into the output at stride S (one vectorised add per tap),
        and the padding P is cut from the borders."""
        import numpy as np

        from cnncalc import arrays
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        shape = Shape(x.shape[1:-1], x.shape[-1])
        g = run.geometry
        kernel, stride, dilation = g.kernel, g.stride, g.dilation
        pad = tuple(before for before, _ in g.pads)
        out_size = run.inference.output.spatial
        canvas_size = self._canvas(shape, g, out_size)
        w = run.weights.params["kernel"]
        rank, groups, batch = len(kernel), g.groups, x.shape[0]
        per_group_in, per_group_out = x.shape[-1] // groups, w.shape[-2]
        rows = x.reshape(-1, groups, per_group_in).transpose(1, 0, 2)  # a view: (groups, N*in, C_in/g)
        kern = np.ascontiguousarray(
            np.moveaxis(w.reshape(*kernel, per_group_out, groups, per_group_in), (rank + 1, rank + 2), (0, 1))
        ).reshape(groups, per_group_in, -1)
        contrib = np.empty((rows.shape[1], groups, kern.shape[-1]), dtype=x.dtype)
        _, macs = arrays.matmul(rows, kern, out=contrib.transpose(1, 0, 2))
        del kern
        contrib = contrib.reshape(batch, *shape.spatial, groups, *kernel, per_group_out)
        canvas = np.zeros((batch, *canvas_size, groups, per_group_out), dtype=x.dtype)
        for tap in np.ndindex(*kernel):
            target = (slice(None), *(slice(t * d, t * d + (n - 1) * s + 1, s)
                                     for t, d, n, s in zip(tap, dilation, shape.spatial, stride)))
            canvas[target] += contrib[(slice(None),) * (rank + 2) + tap]
        del contrib
        cropped = canvas[(slice(None), *(slice(b, b + n) for b, n in zip(pad, out_size)))]
        out = canvas if cropped.shape == canvas.shape else np.ascontiguousarray(cropped)
        del canvas, cropped
        out = out.reshape(batch, *out_size, groups * per_group_out)
        if "bias" in run.weights.params:
            out += run.weights.params["bias"]
        return ForwardResult(out, macs)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        """nn.ConvTransposeNd with the resolved geometry."""
        from cnncalc.layers import torch_ops

        (x,) = inputs
        g = inference.geometry
        module = torch_ops.nn_class("ConvTranspose", x.rank)(
            x.channels, inference.output.channels, g.kernel, g.stride, tuple(before for before, _ in g.pads),
            g.output_padding, g.groups, p["bias"], g.dilation)
        if weights is not None:
            torch_ops.assign(module.weight, torch_ops.transposed_weight(weights.params["kernel"]))
            if p["bias"]:
                torch_ops.assign(module.bias, weights.params["bias"])
        return module

    def torch_code(self, p, inputs, inference: Inference):
        """nn.ConvTransposeNd with the resolved geometry (PyTorch crops the same from both sides)."""
        from cnncalc.layers.code import Construct, NoTorchCode, TorchCode, WeightLoad, conv_order, keywords, per_axis

        (x,) = inputs
        g = inference.geometry
        if not g.symmetric:
            raise NoTorchCode(f"PyTorch's transposed convolution crops both sides alike, not {g.pads}")
        module = Construct(f"nn.ConvTranspose{x.rank}d",
                           (("in_channels", x.channels), ("out_channels", inference.output.channels)),
                           (("kernel_size", per_axis(g.kernel)),) + keywords(
                               ("stride", per_axis(g.stride), 1), ("padding", per_axis(tuple(b for b, _ in g.pads)), 0),
                               ("output_padding", per_axis(g.output_padding) if g.output_padding else 0, 0),
                               ("groups", g.groups, 1), ("bias", p["bias"], True),
                               ("dilation", per_axis(g.dilation), 1)))
        weights = (WeightLoad("weight", "kernel", conv_order(x.rank)),)
        return TorchCode(module, weights=weights + ((WeightLoad("bias", "bias"),) if p["bias"] else ()))

    def forward_workspace(self, p, inputs, inference: Inference, batch: int) -> int:
        """The regrouped kernel and the per-tap contributions, then the uncropped canvas."""
        (x,) = inputs
        g, output = inference.geometry, inference.output
        filters = output.channels
        out_size = output.spatial
        canvas_size = self._canvas(x, g, out_size)
        kern = prod(g.kernel) * (filters // g.groups) * x.channels
        contrib = batch * prod(x.spatial) * prod(g.kernel) * filters
        canvas = batch * prod(canvas_size) * filters
        cropped = canvas_size != out_size
        out = output.numel * batch
        return max(kern + contrib, contrib + canvas, canvas + (out if cropped else 0)) - out
