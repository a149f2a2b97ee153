"""Merges of several tensors: `add` (elementwise sum, ResNet's skip connection) and `concat`
(channel concatenation, GoogLeNet's inception module). Neither has parameters or MACs: the
published counts (torchvision's GFLOPS) count conv and fc multiply-adds only.
"""

from __future__ import annotations

from functools import cache

from cnncalc.errors import ShapeError
from cnncalc.layers.base import Context, Inference, LayerKind, MemoryContext, MemoryRule, register
from cnncalc.rule import Rule
from cnncalc.shapes import Shape


def _described(inputs: tuple[Shape, ...], ctx: Context) -> str:
    names = ctx.input_names if len(ctx.input_names) == len(inputs) else tuple(
        f"input {i}" for i in range(1, len(inputs) + 1)
    )
    return ", ".join(f"{name} gives {shape}" for name, shape in zip(names, inputs))


@cache
def _gradient_passed_on() -> MemoryRule:
    """The rule of every add and concatenation, one record (made once: a record costs about as much to
    make as a layer's whole simulation step)."""
    return MemoryRule(grad_is_view=True)


def _need_several(inputs: tuple[Shape, ...], ctx: Context) -> None:
    if len(inputs) < 2:
        raise ShapeError(f"{ctx.label}: a merge needs at least two inputs, got {len(inputs)}",
                         hint="merge two or more branches", code="CNN224")


MERGE_SHAPE_MISMATCH = Rule(
    "CNN204", "merge-shape-mismatch", "error", "add/concat/multiply of branches whose shapes do not fit",
    what="Reports a residual or `add` whose branches end in different shapes, a `concat` whose "
    "branches differ in spatial size, and a `multiply` whose factors do not broadcast.",
    why="Element-wise sums need identical shapes, channel concatenation identical H x W, and a product "
    "sizes that agree or are 1 on every axis; every framework raises at run time.",
    example="""
    - residual:
        layers:
          - conv: {filters: 64, kernel: 3, stride: 2, padding: 1}
    """,
    fix="Give every branch the same stride and padding ('same' keeps H x W), or project the shortcut "
    "(a 1x1 conv with the same stride and filters).",
)
TOO_FEW_BRANCHES = Rule(
    "CNN224", "too-few-branches", "error", "concat or add with fewer than two branches",
    what="Reports `concat:` and `add:` with fewer than two branches.",
    why="A merge of one tensor is a mistake (often a missing level of brackets).",
    example="- concat: [[conv: {filters: 8, kernel: 1}]]",
    fix="List two or more branches; [] is the input itself.",
)


@register
class Concat(LayerKind):
    name = "concat"
    arity = 0
    construct = "channel concatenation"
    rules = (MERGE_SHAPE_MISMATCH, TOO_FEW_BRANCHES)
    example = "[[relu], []]"
    summary = "stacks tensors along the channels; spatial sizes must match; no parameters"

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """CatBackward keeps only sizes; the input gradients are slices (views) of the output's."""
        return _gradient_passed_on()

    def infer(self, p, inputs, ctx: Context) -> Inference:
        _need_several(inputs, ctx)
        spatial = inputs[0].spatial
        if any(shape.spatial != spatial for shape in inputs[1:]):
            raise ShapeError(
                f"{ctx.label}: cannot concatenate along the channels, the spatial sizes differ: "
                f"{_described(inputs, ctx)}",
                hint="give every branch the same stride and padding ('same' padding keeps H x W)",
                code="CNN204",
            )
        return Inference(output=Shape(spatial, sum(shape.channels for shape in inputs)))

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        return torch_ops.Cat()

    def torch_code(self, p, inputs, inference: Inference):
        """Forward code only: torch.cat along the channels (dim 1 in NCHW)."""
        from cnncalc.layers.code import TorchCode

        return TorchCode(None, "torch.cat([{inputs}], dim=1)")

    def forward(self, p, inputs, run):
        """Along the channels: the last axis, channels-last."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        return ForwardResult(np.concatenate(inputs, axis=-1))


@register
class Add(LayerKind):
    name = "add"
    arity = 0
    construct = "element-wise sum"
    rules = (MERGE_SHAPE_MISMATCH, TOO_FEW_BRANCHES)
    example = "[[relu], []]"
    summary = "elementwise sum of two or more tensors of one shape (residual connections); no parameters"

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """AddBackward keeps nothing and hands the output gradient itself to every input."""
        return _gradient_passed_on()

    def infer(self, p, inputs, ctx: Context) -> Inference:
        _need_several(inputs, ctx)
        first = inputs[0]
        if any(shape != first for shape in inputs[1:]):
            raise ShapeError(
                f"{ctx.label}: cannot add tensors of different shapes: {_described(inputs, ctx)}",
                hint="make every branch end with the same size and channels, e.g. a 1x1 conv with the "
                "block's stride on the shortcut (a projection shortcut)",
                code="CNN204",
            )
        return Inference(output=first)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        return torch_ops.Sum()

    def torch_code(self, p, inputs, inference: Inference):
        """Forward code only: the inputs summed left to right."""
        from cnncalc.layers.code import TorchCode

        return TorchCode(None, "{sum}")

    def forward(self, p, inputs, run):
        """Into a new array, as the textbook model counts a merge's output."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        out = np.add(inputs[0], inputs[1])
        for x in inputs[2:]:
            out += x
        return ForwardResult(out)


TOO_MANY_FACTORS = Rule(
    "CNN225", "multiply-needs-two-branches", "error", "multiply of more than two branches",
    what="Reports a `multiply` with three or more branches.",
    why="A gate multiplies one tensor: x * gate(x). A product of three factors is two multiplications "
    "with their own saved tensors; cnncalc models the one.",
    example="- multiply: [[], [sigmoid], [relu]]",
    fix="Nest the products: multiply: [[multiply: [[], [sigmoid]]], [relu]].",
)


def _broadcast(inputs: tuple[Shape, ...], ctx: Context) -> Shape:
    """The product's shape: per axis (channels included) the sizes agree or one of them is 1, as
    PyTorch broadcasts; a vector of C is a 1 x ... x 1 x C map (a squeeze-and-excitation gate after fc)."""
    rank = max(shape.rank for shape in inputs)
    dims = [shape.dims if shape.rank == rank else (*(1,) * rank, shape.channels) for shape in inputs]
    if any(shape.rank not in (0, rank) for shape in inputs):
        dims = []
    out = []
    for sizes in zip(*dims):
        wide = {s for s in sizes if s != 1}
        if len(wide) > 1:
            dims = []
            break
        out.append(wide.pop() if wide else 1)
    if not dims:
        raise ShapeError(
            f"{ctx.label}: cannot multiply, the shapes do not broadcast: {_described(inputs, ctx)}",
            hint="a gate must match the map on every axis or be 1 there: 1x1xC (global_pool, then 1x1 convs) "
            "or C (fc) against HxWxC; check the gate's channels",
            code="CNN204",
        )
    return Shape(tuple(out[:-1]), out[-1])


@register
class Multiply(LayerKind):
    """The elementwise product of two branches, broadcast as PyTorch broadcasts: squeeze-and-
    excitation's `x * gate(x)` (torchvision's SqueezeExcitation, EfficientNet, MobileNetV3, RegNetY),
    with a 1x1xC (or C) gate over HxWxC."""

    name = "multiply"
    arity = 0
    construct = "element-wise product (broadcast: a 1x1xC or C gate scales an HxWxC map)"
    rules = (MERGE_SHAPE_MISMATCH, TOO_FEW_BRANCHES, TOO_MANY_FACTORS)
    example = "[[], [global_pool: avg, sigmoid]]"
    summary = "elementwise product of two tensors, a 1x1xC or C gate broadcast over HxWxC (squeeze-and-excitation); no parameters"

    def infer(self, p, inputs, ctx: Context) -> Inference:
        _need_several(inputs, ctx)
        if len(inputs) > 2:
            raise ShapeError(f"{ctx.label}: multiply takes two branches, got {len(inputs)}",
                             hint="nest the products: multiply: [[multiply: [[], [...]]], [...]]", code="CNN225")
        return Inference(output=_broadcast(inputs, ctx))

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """MulBackward0 keeps each factor for the other's gradient (only when the other needs one);
        each input's gradient is a new tensor (the output gradient times the other factor). A
        broadcast factor's gradient is that full-size product summed down to the factor's shape:
        the product is the backward's transient."""
        broadcast = any(shape.numel < inference.output.numel for shape in inputs)
        return MemoryRule(saves_operands=ctx.training,
                          backward_scratch=ctx.activation(inference.output) if broadcast else 0)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        return torch_ops.Product(inference.output.rank)

    def torch_code(self, p, inputs, inference: Inference):
        """Forward code only: the product, a vector gate (N, C) indexed to (N, C, 1, ...) to broadcast."""
        from cnncalc.layers.code import TorchCode

        spread = ", None" * inference.output.rank
        factors = (f"{{x{i}}}[:, :{spread}]" if x.is_vector and spread else f"{{x{i}}}" for i, x in enumerate(inputs))
        return TorchCode(None, " * ".join(factors))

    def forward(self, p, inputs, run):
        """Channels-last: a vector gate (N, C) is viewed as (N, 1, ..., 1, C); numpy broadcasts the rest."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        rank = run.inference.output.rank
        a, b = (x.reshape(x.shape[0], *(1,) * rank, x.shape[-1]) if x.ndim == 2 else x for x in inputs)
        return ForwardResult(np.multiply(a, b))
