"""Convolution over 1, 2 or 3 spatial axes: `conv` (and the aliases conv1d, conv2d, conv3d)."""

from __future__ import annotations

from math import prod
from types import MappingProxyType

from cnncalc.errors import ShapeError
from cnncalc.layers.base import (
    Context,
    Geometry,
    Inference,
    LayerKind,
    MemoryContext,
    NoTorchEquivalent,
    MemoryRule,
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
from cnncalc.rule import Rule
from cnncalc.shapes import Shape
from cnncalc.window import effective_padding, resolve_padding, slide_all, slide_notes

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    from cnncalc.layers.code import TorchCode  # the code export's values, imported where `torch_code` runs


GROUPS_NOT_DIVIDING = Rule(
    "CNN203", "groups-not-dividing-channels", "error", "groups must divide the input and output channels",
    what="Reports a grouped convolution whose `groups` does not divide the input channels or `filters`.",
    why="Every group sees C_in/groups channels and produces filters/groups; PyTorch and Caffe refuse "
    "anything else.",
    example="- conv: {filters: 64, kernel: 3, groups: 5}",
    fix="Use a number of groups that divides both channel counts.",
)


@register
class Conv(LayerKind):
    name = "conv"
    #: conv1d/conv2d/conv3d insist on the input's number of spatial axes; conv takes any.
    rank: int | None = None
    rules = (GROUPS_NOT_DIVIDING,)
    family = "conv"
    example = "{filters: 6, kernel: 3, padding: 1}"
    pattern_positional = "filters"
    pattern_size = "kernel"
    pattern_count = "filters"
    #: cs231n: 3x3 stride 1 size-preserving convs (plain CONV only; the filters have no default)
    pattern_defaults = MappingProxyType({"kernel": 3, "stride": 1, "padding": "same"})
    summary = "convolution; weights (C_in/groups)*prod(kernel)*filters + filters biases"
    params = (
        Param("filters", integer(1), doc="number of output channels (K)"),
        Param("kernel", integers(1), doc="window size F: an int or one per spatial axis"),
        Param("stride", integers(1), 1, "step S between windows"),
        Param("padding", padding, None,
              "P: int, per axis, before/after pairs, or a word: 'same', 'valid', 'same_upper', 'same_lower', "
              "'causal'; omitted = 0 (automatic ceil(W/S) padding under the sas convention)"),
        Param("dilation", integers(1), 1, "spacing D between kernel taps"),
        Param("groups", integer(1), 1, "channel groups; groups = C_in is depthwise"),
        Param("bias", boolean, True, "one learned bias per filter"),
    )

    def pattern_implied(self, size: int):
        """CONV3-64 is cs231n's size-preserving conv: stride 1, padding (size - 1)/2 for an odd size,
        'same' for an even one."""
        pad = (size - 1) // 2 if size % 2 else "same"
        return (("stride", 1), ("padding", pad))

    def field_steps(self, p, inputs, inference: Inference):
        """A window: each output reads K' = D(K - 1) + 1 neighbours from y S - P_before on."""
        from fractions import Fraction

        from cnncalc.layers.base import FieldStep

        g = inference.geometry
        return tuple(FieldStep(k, Fraction(s), Fraction(-before)) for k, s, (before, _) in zip(g.k_eff, g.stride, g.pads))

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """ConvolutionBackward keeps the input (not the output): cnncalc/layers/onednn.py, with the
        CPU kernels' transients; on a GPU an im2col-sized cuDNN workspace estimate."""
        from cnncalc.layers.onednn import conv_case, convolution_rule  # memory models only: not on analyze's path

        (x,) = inputs
        g, output = inference.geometry, inference.output
        filters = output.channels
        weights = (x.channels // g.groups) * filters * prod(g.kernel)
        bias = (filters,) if p["bias"] else ()
        case = conv_case(ctx.batch, x.channels, filters, g.groups, g.kernel, x.spatial,
                         output.spatial, p["bias"], ctx.act_bytes, g.stride, ctx.cpu)
        return convolution_rule(case, weights, bias, ctx, cudnn_workspace=0 if ctx.device == "cpu" else case.im2col())

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
        word = effective_padding(p["padding"], conv)
        pads = resolve_padding(word, x.spatial, kernel, stride, dilation, conv, label)
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
            notes=tuple(slide_notes(label, x.spatial, slide, word)),
            geometry=Geometry(kernel, stride, dilation, slide.pads, groups,
                              padding_word=word if isinstance(word, str) else None),
        )

    def make_weights(self, p, inputs, inference: Inference, rng):
        """kernel (*kernel, C_in/groups, filters) (TensorFlow's layout; PyTorch's is (filters, C_in/groups,
        *kernel)), He-normal so activations keep their scale through deep stacks; bias (filters,)."""
        from cnncalc import arrays
        from cnncalc.forward import Weights

        (x,) = inputs
        g, filters = inference.geometry, inference.output.channels
        per_group = x.channels // g.groups
        params = {"kernel": arrays.random_normal(rng, (*g.kernel, per_group, filters),
                                                 (2 / (prod(g.kernel) * per_group)) ** 0.5)}
        if p["bias"]:
            params["bias"] = arrays.random_normal(rng, (filters,), 0.1)
        return Weights(params)

    def forward(self, p, inputs, run):
        """im2col through a strided view and one matrix product: (N*out, K*C) @ (K*C, filters).

        Groups run as one stacked product over the groups; depthwise layers (one input channel per
        group) as one contraction over the kernel taps of the strided view, which needs no im2col copy.
        """
        from cnncalc import arrays
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        g = run.geometry
        weights = run.weights.params
        groups, w = g.groups, weights["kernel"]
        conv = _dense_conv if groups == 1 else _depthwise_conv if w.shape[-2] == 1 else _grouped_conv
        # the view (and the padded copy under it) is passed without a name here, so the helper can free it
        out, macs = conv(arrays.windows(arrays.pad_spatial(x, g.pads), g.kernel, g.stride, g.dilation), w, groups)
        if "bias" in weights:
            out += weights["bias"]
        return ForwardResult(out, macs)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        """nn.ConvNd with the resolved geometry; asymmetric padding as an explicit pad before it
        (values only: PyTorch's memory is then not the model's)."""
        from torch import nn

        from cnncalc.layers import torch_ops

        (x,) = inputs
        g = inference.geometry
        if not g.symmetric and weights is None:
            raise NoTorchEquivalent(f"asymmetric padding {g.pads}")
        pad = tuple(before for before, _ in g.pads) if g.symmetric else 0
        conv = torch_ops.nn_class("Conv", x.rank)(x.channels, inference.output.channels, g.kernel, g.stride, pad,
                                                  g.dilation, g.groups, p["bias"])
        if weights is not None:
            torch_ops.assign(conv.weight, torch_ops.conv_weight(weights.params["kernel"]))
            if p["bias"]:
                torch_ops.assign(conv.bias, weights.params["bias"])
        return conv if g.symmetric else nn.Sequential(torch_ops.pad(g.pads), conv)

    def torch_code(self, p, inputs, inference: Inference) -> TorchCode:
        """As `torch_module` with weights: nn.ConvNd, asymmetric padding as an nn.ZeroPadNd before it."""
        from cnncalc.layers.code import Construct, TorchCode, WeightLoad, conv_order, keywords, per_axis as one, torch_pads

        (x,) = inputs
        g = inference.geometry
        pad = one(tuple(before for before, _ in g.pads)) if g.symmetric else 0
        channels = (("in_channels", x.channels), ("out_channels", inference.output.channels))
        settings = (("kernel_size", one(g.kernel)),) + keywords(
            ("stride", one(g.stride), 1), ("padding", pad, 0), ("dilation", one(g.dilation), 1),
            ("groups", g.groups, 1), ("bias", p["bias"], True))
        conv = Construct(f"nn.Conv{x.rank}d", channels, settings)
        at = "" if g.symmetric else "1."
        weights = (WeightLoad(f"{at}weight", "kernel", conv_order(x.rank)),)
        if p["bias"]:
            weights += (WeightLoad(f"{at}bias", "bias"),)
        if not g.symmetric:
            pad_module = Construct(f"nn.ZeroPad{x.rank}d", (("padding", torch_pads(g.pads)),))
            conv = Construct("nn.Sequential", (("pad", pad_module), ("conv", conv)))
        return TorchCode(conv, weights=weights)

    def forward_workspace(self, p, inputs, inference: Inference, batch: int) -> int:
        """Elements held beyond input and output: the padded copy and the im2col matrix (see `forward`)."""
        from cnncalc.forward import im2col_elements, padded_elements

        (x,) = inputs
        g, output = inference.geometry, inference.output
        padded = padded_elements(batch, x.spatial, g.pads, x.channels)
        out = output.numel * batch
        groups = g.groups
        if groups == 1:
            cols = im2col_elements(batch, output.spatial, g.kernel, g.stride, x.channels)
            # the padded copy dies once copied into the matrix, unless the matrix is a view of it
            return padded if cols == 0 else cols + max(padded - out, 0)
        if x.channels == groups:
            return padded
        cols = batch * prod(output.spatial) * prod(g.kernel) * x.channels
        regrouped_kernel = prod(g.kernel) * (x.channels // groups) * output.channels
        return cols + max(padded - out, regrouped_kernel)


def _dense_conv(view, w, groups: int):
    """(N*out, K*C) @ (K*C, filters), reshaped to (N, *out, filters)."""
    from cnncalc import arrays

    out_shape = (*view.shape[: (view.ndim) // 2], w.shape[-1])
    cols = arrays.im2col(view)
    del view  # frees the padded copy before the product allocates the output
    out, macs = arrays.matmul(cols, w.reshape(-1, w.shape[-1]))
    return out.reshape(out_shape), macs


def _depthwise_conv(view, w, groups: int):
    """out[..., c, j] = sum over taps of window[..., c, taps] * kernel[taps, 0, c * multiplier + j]."""
    import numpy as np

    rank = w.ndim - 2
    channels, multiplier = view.shape[-1 - rank], w.shape[-1] // view.shape[-1 - rank]
    taps = "klm"[:rank]
    positions = "abc"[:rank]
    kernel = w.reshape(*w.shape[:rank], channels, multiplier)
    out = np.einsum(f"n{positions}g{taps},{taps}gj->n{positions}gj", view, kernel)
    macs = prod(view.shape[: rank + 2]) * prod(w.shape[:rank]) * multiplier
    return out.reshape(*out.shape[:-2], w.shape[-1]), macs


def _grouped_conv(view, w, groups: int):
    """One stacked product (groups, N*out, K*C/g) @ (groups, K*C/g, filters/g), written in place into
    the (N*out, groups, filters/g) output."""
    import numpy as np

    from cnncalc import arrays

    rank = w.ndim - 2
    batch, out_spatial, channels = view.shape[0], view.shape[1 : 1 + rank], view.shape[1 + rank]
    per_group, per_group_out = channels // groups, w.shape[-1] // groups
    split = view.reshape(batch, *out_spatial, groups, per_group, *w.shape[:rank])
    del view
    # (groups, N, *out, *kernel, C/g): the group axis first, then the same row/column order as im2col
    order = (1 + rank, 0, *range(1, 1 + rank), *range(3 + rank, 3 + 2 * rank), 2 + rank)
    cols = np.ascontiguousarray(split.transpose(order)).reshape(groups, -1, prod(w.shape[:rank]) * per_group)
    del split
    kernel = np.ascontiguousarray(
        np.moveaxis(w.reshape(*w.shape[:rank], per_group, groups, per_group_out), rank + 1, 0)
    ).reshape(groups, -1, per_group_out)
    out = np.empty((cols.shape[1], groups, per_group_out), dtype=cols.dtype)
    _, macs = arrays.matmul(cols, kernel, out=out.transpose(1, 0, 2))
    return out.reshape(batch, *out_spatial, w.shape[-1]), macs

@register
class Conv1d(Conv):
    name = "conv1d"
    rank = 1
    summary = "1-D convolution over {channels, length} inputs (text, audio)"
    pattern_defaults = MappingProxyType({})
    example_input = "{channels: 4, length: 16}"


@register
class Conv2d(Conv):
    name = "conv2d"
    rank = 2
    summary = "2-D convolution (same as conv on an image)"
    pattern_defaults = MappingProxyType({})


@register
class Conv3d(Conv):
    name = "conv3d"
    rank = 3
    summary = "3-D convolution over {channels, depth, height, width} inputs"
    pattern_defaults = MappingProxyType({})
    example_input = "6x6x6x2"


@register
class Depthwise(Conv):
    """One filter (or `multiplier` filters) per input channel: conv with groups = C_in."""

    name = "depthwise"
    aliases = ("depthwise_conv", "dwconv")
    rules = ()
    example = "{kernel: 3, padding: 1, multiplier: 2}"
    # the pattern DSL's positional, size and count forms are plain CONV's only
    pattern_positional = pattern_size = pattern_count = None
    pattern_defaults = MappingProxyType({})
    summary = "depthwise convolution: groups = C_in, C_in*multiplier filters of K x K x 1"
    params = (
        Param("kernel", integers(1), doc="window size F: an int or one per spatial axis"),
        Param("stride", integers(1), 1, "step S between windows"),
        Param("padding", padding, None, "P: int, per axis, before/after pairs, or a word as for conv; "
              "omitted = 0 (automatic under the sas convention)"),
        Param("dilation", integers(1), 1, "spacing D between kernel taps"),
        Param("multiplier", integer(1), 1, "filters per input channel (depth multiplier)"),
        Param("bias", boolean, True, "one learned bias per filter"),
    )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        """As a conv with groups = C_in and C_in * multiplier filters; every later stage reads those
        from the inference (its geometry's groups, its output's channels)."""
        channels = inputs[0].channels
        as_conv = {**p, "filters": channels * p["multiplier"], "groups": channels}
        return super().infer(as_conv, inputs, ctx)
