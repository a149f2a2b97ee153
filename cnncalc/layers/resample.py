"""Layers that change the spatial size without a learned window: `upsample` (nearest or
(bi/tri)linear interpolation), `adaptive_pool` (pool to a requested size, PyTorch's bin rule)
and `zero_pad` (add zeros around the borders). None has parameters or MACs.
"""

from __future__ import annotations

from math import floor, prod

from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    FUNCTIONAL,
    Context,
    Inference,
    LayerKind,
    MemoryContext,
    MemoryRule,
    Param,
    choice,
    integers,
    need_spatial,
    padding,
    per_axis,
    register,
)
from cnncalc.rule import Rule
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


_SCALE = {"type": "number", "exclusiveMinimum": 0, "maximum": 1024}
scales.schema = {"anyOf": [_SCALE, {"type": "array", "items": _SCALE, "minItems": 1, "maxItems": 3}]}


def _per_axis_scale(value: float | tuple[float, ...], rank: int, label: str) -> tuple[float, ...]:
    if not isinstance(value, tuple):
        return (value,) * rank
    if len(value) == 1:
        return value * rank
    if len(value) == rank:
        return value
    raise ShapeError(f"{label}: `scale` has {len(value)} values but the input has {rank} spatial axes",
                     hint=f"give one factor or {rank}", code="CNN206")


UPSAMPLE_MODE_RANK = Rule(
    "CNN212", "upsample-mode-rank", "error", "an interpolation mode for another number of spatial axes",
    what="Reports upsampling modes that do not match the input's spatial axes (bilinear needs 2, "
    "linear 1, trilinear 3).",
    why="The framework raises; nearest works for any rank.",
    example="- upsample: {scale: 2, mode: bilinear}   # on a 1-D input",
    fix="Use the mode for the input's rank, or nearest.",
)


UPSAMPLE_EMPTY = Rule(
    "CNN213", "upsample-empty", "error", "upsampling to an empty axis",
    what="Reports a scale factor that makes an axis floor to 0.",
    why="PyTorch floors input size x scale; an empty tensor cannot be processed further.",
    example="- upsample: 0.1   # on a 4x4 input",
    fix="Use a larger scale factor.",
)


@register
class Upsample(LayerKind):
    name = "upsample"
    shorthand = "scale"
    rules = (UPSAMPLE_MODE_RANK, UPSAMPLE_EMPTY)
    example = "{scale: 2, mode: bilinear}"
    summary = "interpolates to floor(W * scale) per axis (nearest, linear, bilinear, trilinear); no parameters"
    params = (
        Param("scale", scales, doc="factor per spatial axis (an int, a number, or one per axis)"),
        Param("mode", choice(*UPSAMPLE_MODES), "nearest", "nearest | linear (1-D) | bilinear (2-D) | trilinear (3-D)"),
    )

    def field_steps(self, p, inputs, inference: Inference):
        """Nearest reads input floor(y / f); the linear modes blend the two around (y + 1/2)/f - 1/2."""
        from fractions import Fraction

        from cnncalc.layers.base import FieldStep

        steps = []
        for w, n in zip(inputs[0].spatial, inference.output.spatial):
            f = Fraction(n, w)
            first = 1 - f if p["mode"] == "nearest" else Fraction(1, 2) - f * Fraction(3, 2)
            steps.append(FieldStep(1 if p["mode"] == "nearest" else 2, 1 / f, first / f))
        return tuple(steps)

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """Interpolation backward needs only sizes and scales. On the CPU a 2-D upsample works on
        channels-last copies of its input and output (allocation traces of torch.profiler)."""
        (x,) = inputs
        copies = ctx.activation(x) + ctx.activation(inference.output) if ctx.device == "cpu" and x.rank == 2 else 0
        return MemoryRule(forward_scratch=copies)

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

    def forward(self, p, inputs, run):
        """PyTorch's F.interpolate(scale_factor=...) index rules: nearest takes input floor(i / scale);
        (bi/tri)linear (align_corners=False) blends the two inputs around (i + 0.5) / scale - 0.5, one
        axis after another."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        rank = x.ndim - 2
        factors = _per_axis_scale(p["scale"], rank, self.name)
        sizes = tuple(floor(w * f) for w, f in zip(x.shape[1:-1], factors))
        if p["mode"] == "nearest":
            index = [np.minimum(np.floor(np.arange(n, dtype=np.float32) * np.float32(1 / f)).astype(np.intp), w - 1)
                     for n, w, f in zip(sizes, x.shape[1:-1], factors)]
            grid = np.ix_(np.arange(x.shape[0]), *index, np.arange(x.shape[-1]))
            return ForwardResult(x[grid])
        current = x
        for axis, (n, w, f) in enumerate(zip(sizes, x.shape[1:-1], factors)):
            source = np.maximum((np.arange(n, dtype=np.float32) + np.float32(0.5)) * np.float32(1 / f)
                                - np.float32(0.5), np.float32(0))
            low = np.floor(source).astype(np.intp)
            high = np.where(low < w - 1, low + 1, low)
            weight = (source - low).astype(np.float32).reshape((n,) + (1,) * (rank - axis))
            lows = np.take(current, low, axis=1 + axis)
            highs = np.take(current, high, axis=1 + axis)
            highs -= lows
            highs *= weight
            lows += highs
            del highs
            current = lows
        return ForwardResult(current)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        """nn.Upsample with one factor per axis (PyTorch's floor(W * scale) sizes and index rules)."""
        from torch import nn

        factors = _per_axis_scale(p["scale"], inputs[0].rank, "")
        return nn.Upsample(scale_factor=tuple(float(f) for f in factors), mode=p["mode"])

    def forward_workspace(self, p, inputs, inference: Inference, batch: int) -> int:
        """Linear modes: per axis, the two gathered neighbours, while the previous axis' result lives."""
        if p["mode"] == "nearest":
            return 0
        (x,) = inputs
        output = inference.output
        sizes = list(x.spatial)
        previous, peak = 0, 0
        for axis, n in enumerate(output.spatial):
            sizes[axis] = n
            now = batch * prod(sizes) * x.channels
            peak = max(peak, previous + 2 * now)
            previous = now
        return peak - output.numel * batch


@register
class AdaptivePool(LayerKind):
    name = "adaptive_pool"
    shorthand = "output"
    example = "{output: 3, mode: max}"
    summary = "pools to a requested output size; bin i covers [floor(i*W/out), ceil((i+1)*W/out)); no parameters"
    params = (
        Param("output", integers(1), doc="output size: an int or one per spatial axis"),
        Param("mode", choice("avg", "max"), "avg", "avg or max"),
        FUNCTIONAL,
    )

    def field_steps(self, p, inputs, inference: Inference):
        """PyTorch's bins: output i pools input [floor(i W / n), ceil((i + 1) W / n)); the step is
        W/n, the taps those of the largest bin."""
        from fractions import Fraction
        from math import gcd

        from cnncalc.layers.base import FieldStep

        steps = []
        for w, n in zip(inputs[0].spatial, inference.output.spatial):
            period = n // gcd(w, n)
            largest = max(-(-(i + 1) * w // n) - i * w // n for i in range(min(period, n)))
            steps.append(FieldStep(largest, Fraction(w, n), Fraction(0)))
        return tuple(steps)

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """Average to 1 per axis is mean() (sizes only); otherwise the input, plus int64 indices for max."""
        output = inference.output
        if not ctx.training or (p["mode"] == "avg" and output.numel == output.channels):
            return MemoryRule()
        indices = 8 * ctx.batch * output.numel if p["mode"] == "max" else 0
        return MemoryRule(saves_inputs=True, extra_saved=indices)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        need_spatial(x, ctx.label)
        # Any output size is valid (bins overlap or repeat when it does not divide the input),
        # so there is no integrality check here.
        return Inference(output=x.with_spatial(per_axis(p["output"], x.rank, "output", ctx.label)))

    @staticmethod
    def _bins(size: int, out: int):
        """PyTorch's bins: [floor(i*W/out), ceil((i+1)*W/out)); as (start, length) and the longest length."""
        starts = [i * size // out for i in range(out)]
        ends = [-(-(i + 1) * size // out) for i in range(out)]
        lengths = [e - s for s, e in zip(starts, ends)]
        return starts, lengths, max(lengths)

    def forward(self, p, inputs, run):
        """One axis after another: gather every bin's elements (shorter bins repeat their last one),
        then take the maximum, or the mean of the bin's own elements."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        rank = x.ndim - 2
        current = x
        for axis, out in enumerate(run.inference.output.spatial):
            starts, lengths, longest = self._bins(x.shape[1 + axis], out)
            starts, lengths = np.array(starts), np.array(lengths)
            offsets = np.arange(longest)
            index = starts[:, None] + np.minimum(offsets[None, :], lengths[:, None] - 1)
            gathered = np.take(current, index, axis=1 + axis)
            if p["mode"] == "max":
                current = gathered.max(axis=2 + axis)
            else:
                tail = (1,) * (rank - axis)
                gathered *= (offsets[None, :] < lengths[:, None]).astype(np.float32).reshape((out, longest) + tail)
                current = gathered.sum(axis=2 + axis)
                current /= lengths.astype(np.float32).reshape((out,) + tail)
            del gathered
        return ForwardResult(current if current is not x else x.copy())

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        kind = "AdaptiveAvgPool" if p["mode"] == "avg" else "AdaptiveMaxPool"
        return torch_ops.nn_class(kind, inputs[0].rank)(inference.output.spatial)

    def forward_workspace(self, p, inputs, inference: Inference, batch: int) -> int:
        """Per axis: the gathered bins and the reduced result, while the previous axis' result lives."""
        (x,) = inputs
        output = inference.output
        sizes = list(x.spatial)
        previous, peak = 0, 0
        for axis, out in enumerate(output.spatial):
            sizes[axis] = out
            now = batch * prod(sizes) * x.channels
            longest = self._bins(x.spatial[axis], out)[2]
            peak = max(peak, previous + now * longest + now)
            previous = now
        return peak - output.numel * batch


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


ZERO_PAD_NEEDS_NUMBERS = Rule(
    "CNN214", "zero-pad-needs-numbers", "error", "zero_pad with a padding word",
    what="Reports `zero_pad` given 'same' or 'valid' instead of numbers.",
    why="Explicit zero padding needs amounts; the words only mean something for windowed layers.",
    example="- zero_pad: same",
    fix="Give an int, one per axis, or before/after pairs.",
)


@register
class ZeroPad(LayerKind):
    name = "zero_pad"
    shorthand = "padding"
    rules = (ZERO_PAD_NEEDS_NUMBERS,)
    example = "[1, 2]"
    summary = "adds zeros around the borders: W + P_before + P_after per axis; no parameters"
    params = (Param("padding", padding, doc="int, one per axis, or [before, after] pairs per axis"),)

    def field_steps(self, p, inputs, inference: Inference):
        """Output y is input y - P_before (the zeros read nothing)."""
        from fractions import Fraction

        from cnncalc.layers.base import FieldStep

        pads = _pads(p["padding"], inputs[0].rank, "")
        return tuple(FieldStep(1, Fraction(1), Fraction(-before)) for before, _ in pads)

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """constant_pad_nd's backward slices the gradient: nothing kept."""
        return MemoryRule()

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        need_spatial(x, ctx.label)
        pads = _pads(p["padding"], x.rank, ctx.label)
        return Inference(output=x.with_spatial(tuple(w + b + a for w, (b, a) in zip(x.spatial, pads))))

    def forward(self, p, inputs, run):
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        pads = _pads(p["padding"], x.ndim - 2, self.name)
        return ForwardResult(np.pad(x, ((0, 0), *pads, (0, 0))))

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        """nn.ZeroPadNd with (before, after) per axis."""
        from cnncalc.layers import torch_ops

        pads = _pads(p["padding"], inputs[0].rank, "")
        return torch_ops.nn_class("ZeroPad", len(pads))(tuple(n for pair in reversed(pads) for n in pair))
