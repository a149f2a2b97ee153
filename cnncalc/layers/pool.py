"""Pooling: `pool` (max or average over a window) and `global_pool` (one value per channel)."""

from __future__ import annotations

from math import prod
from types import MappingProxyType

from cnncalc.errors import ShapeError
from cnncalc.layers.base import (
    FUNCTIONAL,
    Context,
    Geometry,
    Inference,
    LayerKind,
    MemoryContext,
    NoTorchEquivalent,
    MemoryRule,
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
from cnncalc.window import effective_padding, resolve_padding, slide_all, slide_notes


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


def _rounding(p, pads, label: str, conv) -> tuple[str, str]:
    """(rounding, clip rule) from `ceil`, Theano's `ignore_border`, or the convention's default.

    ignore_border: false is PyTorch's ceil mode with its clip rule in every convention (Theano's
    out_shape and PyTorch agree on every unpadded case); true is plain floor."""
    ceil, ignore_border = p["ceil"], p.get("ignore_border")
    if ignore_border is not None:
        if ceil is not None and ceil == ignore_border:
            raise ShapeError(
                f"{label}: ceil: {str(ceil).lower()} contradicts ignore_border: {str(ignore_border).lower()}",
                hint="give one of the two (ignore_border: false means ceil: true)", code="CNN205")
        if not ignore_border and any(before or after for before, after in pads):
            raise ShapeError(f"{label}: ignore_border: false cannot be combined with padding",
                             hint="Theano pads only with ignore_border: true; remove the padding", code="CNN205")
        return ("floor", conv.pool_clip) if ignore_border else ("ceil", "always")
    if ceil is None:
        ceil = conv.pool_ceil_default
    if ceil:
        return "ceil", conv.pool_clip
    # an explicit `ceil: false` under Caffe is round_mode FLOOR
    return ("floor" if conv.pool_ceil_default else conv.pool_rounding), conv.pool_clip


@register
class Pool(LayerKind):
    name = "pool"
    shorthand = "kernel"
    family = "pool"
    example = "{kernel: 2, stride: 2}"
    pattern_size = "kernel"
    #: cs231n: 2x2 max pools, whose stride defaults to the window
    pattern_defaults = MappingProxyType({"kernel": 2})
    summary = "max or average pooling over a window; no parameters"
    params = (
        Param("kernel", integers(1), doc="window size F"),
        Param("stride", integers(1), None, "step S (defaults to the kernel)"),
        Param("padding", padding, None,
              "P per side (numbers, or 'same'/'valid' where the convention has them); omitted = 0 "
              "(under sas: windows shrink at the end so that the output is ceil(W/S))"),
        Param("dilation", integers(1), 1, "spacing between taps (max pooling)"),
        Param("mode", choice("max", "avg"), "max", "max or avg"),
        Param("ceil", boolean, None,
              "round the output size up (PyTorch/ONNX ceil_mode); omitted = the convention's default "
              "(Caffe rounds up, the others down)"),
        Param("ignore_border", boolean, None,
              "Theano's pool_2d flag: false keeps the partial windows at the end (= ceil: true, needs "
              "padding 0), true drops them (= ceil: false)"),
    )

    def field_steps(self, p, inputs, inference: Inference):
        """A window: each output reads K' = D(K - 1) + 1 neighbours from y S - P_before on."""
        from fractions import Fraction

        from cnncalc.layers.base import FieldStep

        g = inference.geometry
        return tuple(FieldStep(k, Fraction(s), Fraction(-before)) for k, s, (before, _) in zip(g.k_eff, g.stride, g.pads))

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """Both keep the input; max pooling adds the argmax positions as int64 (8 B per output
        element whatever the dtype). PyTorch's CPU kernel computes them without autograd too,
        where they live only while the op runs."""
        indices = 8 * ctx.batch * inference.output.numel if p["mode"] == "max" else 0
        if not ctx.training:
            return MemoryRule(forward_scratch=indices)
        return MemoryRule(saves_inputs=True, extra_saved=indices, unrecorded_scratch=indices)

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
        pads = resolve_padding(p["padding"], x.spatial, kernel, stride, dilation, conv, label, pooling=True)
        word = effective_padding(p["padding"], conv)
        if not isinstance(word, str):
            _check_pool_padding(pads, kernel, conv.pool_pad_limit, label)
        rounding, clip = _rounding(p, pads, label, conv)
        if (p["mode"], x.rank) in conv.pools_compare_unpadded and any(w < k for w, k in zip(x.spatial, kernel)):
            sizes = "x".join(str(w) for w in x.spatial)
            raise ShapeError(
                f"{label}: the unpadded input ({sizes}) is smaller than the window ({'x'.join(map(str, kernel))}); "
                f"{conv.name}'s {x.rank}-D {p['mode']} pool compares the input before padding",
                hint="use a smaller kernel or a larger input (padding does not count here)", code="CNN202")
        slide = slide_all(label, x.spatial, kernel, stride, dilation, pads, rounding, clip)
        geometry = Geometry(kernel, stride, dilation, pads, padding_word=word if isinstance(word, str) else None,
                            ceil=rounding == "ceil", clip=clip)
        return Inference(output=x.with_spatial(slide.spatial),
                         notes=tuple(slide_notes(label, x.spatial, slide, p["padding"])), geometry=geometry)

    def forward(self, p, inputs, run):
        """Max (padding is -inf, as in PyTorch) or average (the divisor counts the padding but not what a
        rounded-up window hangs past it: PyTorch's count_include_pad=True) over strided window views,
        one vectorised pass per kernel tap."""
        import numpy as np

        from cnncalc import arrays
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        spatial = x.shape[1:-1]
        g = run.geometry
        kernel, stride, dilation, pads = g.kernel, g.stride, g.dilation, g.pads
        is_max = p["mode"] == "max"
        fill = -np.inf if is_max else 0.0
        padded = arrays.pad_spatial(x, tuple((b, a + e) for (b, a), e in zip(pads, g.ceil_extra)), fill)
        view = arrays.windows(padded, kernel, stride, dilation)
        if g.ceil:
            view = view[(slice(None), *(slice(0, self._clipped(n, w, s, pb, pa, g.clip))
                                        for n, w, s, (pb, pa) in zip(view.shape[1:], spatial, stride, pads)))]
        taps = arrays.window_taps(view)
        out = np.array(next(taps))
        combine = np.maximum if is_max else np.add
        for tap in taps:
            combine(out, tap, out=out)
        if not is_max:
            out /= _divisor(out.shape[1:-1], kernel, stride, dilation, spatial, pads)
        return ForwardResult(out)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        """nn.MaxPoolNd / nn.AvgPoolNd (count_include_pad, as the forward) with the resolved geometry.
        For values, padding PyTorch cannot take natively is explicit (-inf for max); for memory it
        must be symmetric, with PyTorch's clip rule."""
        from torch import nn

        from cnncalc.layers import torch_ops

        (x,) = inputs
        g = inference.geometry
        is_max = p["mode"] == "max"
        if not is_max and any(d > 1 for d in g.dilation):
            raise NoTorchEquivalent("dilated average pooling")
        if weights is None:
            if not g.symmetric or (g.ceil and g.clip != "always"):
                raise NoTorchEquivalent(f"pooling padding {g.pads} (clip rule {g.clip})")
            native = True
        else:
            # PyTorch's own padding where the clip rule of ceil mode depends on it (start < W + P_before);
            # explicit padding otherwise (asymmetric 'same')
            native = g.ceil and g.symmetric and g.padding_word != "same"
            if native and x.rank == 3 and any(w < k for w, k in zip(x.spatial, g.kernel)):
                raise NoTorchEquivalent("PyTorch's pool3d refuses an input smaller than the window")
        pad = tuple(before for before, _ in g.pads) if native else 0
        if is_max:
            pool = torch_ops.nn_class("MaxPool", x.rank)(g.kernel, g.stride, pad, g.dilation, ceil_mode=g.ceil)
        else:
            pool = torch_ops.nn_class("AvgPool", x.rank)(g.kernel, g.stride, pad, ceil_mode=g.ceil)
        return pool if native else nn.Sequential(torch_ops.pad(g.pads, float("-inf") if is_max else 0.0), pool)

    @staticmethod
    def _clipped(windows: int, size: int, stride: int, before: int, after: int, clip: str) -> int:
        """Rounding up keeps a last window only if it starts inside the input or the left padding
        (Caffe's rule, "if_padded", applies it only to padded pools)."""
        applies = clip == "always" or before or after
        return windows - 1 if applies and (windows - 1) * stride >= size + before else windows

    def forward_workspace(self, p, inputs, inference: Inference, batch: int) -> int:
        """The padded copy, and for averages the per-position divisors."""
        from cnncalc.forward import padded_elements

        (x,) = inputs
        g = inference.geometry
        padded = padded_elements(batch, x.spatial, tuple((b, a + e) for (b, a), e in zip(g.pads, g.ceil_extra)),
                                 x.channels)
        return padded + (prod(inference.output.spatial) if p["mode"] == "avg" else 0)


def _divisor(out_spatial, kernel, stride, dilation, spatial, pads):
    """How many taps of each window lie inside the padded input, as an array (1, *out, 1)."""
    import numpy as np

    divisor = np.ones((1, *out_spatial, 1), dtype=np.float32)
    for axis, (n, k, s, d, w, (before, after)) in enumerate(zip(out_spatial, kernel, stride, dilation, spatial, pads)):
        starts = np.arange(n)[:, None] * s + np.arange(k)[None, :] * d
        inside = (starts < w + before + after).sum(axis=1).astype(np.float32)
        divisor *= inside.reshape((1,) * (axis + 1) + (n,) + (1,) * (len(out_spatial) - axis))
    return divisor


@register
class GlobalPool(LayerKind):
    name = "global_pool"
    summary = "average (or max) over all spatial positions: 1x1xC"
    shorthand = "mode"
    example = "max"
    params = (Param("mode", choice("avg", "max"), "avg", "avg or max"), FUNCTIONAL)

    def field_steps(self, p, inputs, inference: Inference):
        """Every output reads the whole input."""
        from fractions import Fraction

        from cnncalc.layers.base import FieldStep

        return tuple(FieldStep(w, Fraction(1), Fraction(0)) for w in inputs[0].spatial)

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """An average to 1x1 dispatches to mean(), which keeps only sizes; adaptive max pooling
        keeps the input and int64 indices."""
        if p["mode"] == "avg":
            return MemoryRule()
        indices = 8 * ctx.batch * inference.output.numel
        if not ctx.training:
            return MemoryRule(forward_scratch=indices)
        return MemoryRule(saves_inputs=True, extra_saved=indices, unrecorded_scratch=indices)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        need_spatial(x, ctx.label)
        return Inference(output=Shape((1,) * x.rank, x.channels))

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        return torch_ops.nn_class("AdaptiveAvgPool" if p["mode"] == "avg" else "AdaptiveMaxPool", inputs[0].rank)(1)

    def forward(self, p, inputs, run):
        from cnncalc import arrays
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        reduce = x.mean if p["mode"] == "avg" else x.max
        return ForwardResult(reduce(axis=arrays.spatial_axes(x), keepdims=True))
