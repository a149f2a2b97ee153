"""Design advice from the seeds (cs231n notes, SAS Deep Learning docs): warnings about models that
work but are built against the texts' rules of thumb."""

from __future__ import annotations

from collections.abc import Iterator
from math import log2

from cnncalc.analysis import LayerResult
from cnncalc.diagnostics import Diagnostic
from cnncalc.lint.rule import Rule
from cnncalc.lint.subject import Subject
from cnncalc.units import short


def _family(result: LayerResult) -> str | None:
    """The kind's `family` (LayerKind.family): "conv", "pool" or "fc"; None for the input and others."""
    return None if result.node.kind is None else result.node.kind.family


def _layers(subject: Subject, family: str) -> Iterator[LayerResult]:
    for result in subject.analysis.results[1:]:
        if _family(result) == family and result.inputs and not result.inputs[0].is_vector:
            yield result


def _size(values: tuple[int, ...]) -> str:
    return "x".join(str(v) for v in values)


def _amount(values: tuple[int, ...]) -> str:
    """Padding as a spec would write it: one number when every axis agrees."""
    return str(values[0]) if len(set(values)) == 1 else str(list(values))


def even_kernel(subject: Subject) -> Iterator[Diagnostic]:
    for r in _layers(subject, "conv"):
        kernel = r.geometry.kernel
        if any(k % 2 == 0 for k in kernel):
            yield EVEN_KERNEL.at(
                r.node.loc,
                f"{r.node.label}: kernel {_size(kernel)} is even",
                "SAS recommends odd filter sizes: an even kernel has no centre pixel and needs asymmetric "
                f"padding to keep the size; use {_size(tuple(k + 1 if k % 2 == 0 else k for k in kernel))}",
            )


def large_pool(subject: Subject) -> Iterator[Diagnostic]:
    for r in _layers(subject, "pool"):
        kernel = r.geometry.kernel
        if max(kernel) > 3 and any(o > 1 for o in r.output.spatial):
            yield LARGE_POOL.at(
                r.node.loc,
                f"{r.node.label}: pooling window {_size(kernel)} is larger than 3",
                "cs231n: pooling with larger receptive fields is too destructive; use 2x2 (stride 2) or "
                "3x3 (stride 2), or global_pool to reduce the map to 1x1",
            )


def stride1_resize(subject: Subject) -> Iterator[Diagnostic]:
    for r in _layers(subject, "conv"):
        g = r.geometry
        if all(s == 1 for s in g.stride) and r.output.spatial != r.inputs[0].spatial:
            kernel, dilation = g.kernel, g.dilation
            pads = tuple(d * (k - 1) / 2 for k, d in zip(kernel, dilation))
            fix = (f"padding: {_amount(tuple(int(p) for p in pads))} (P = (F - 1)/2)" if all(p.is_integer() for p in pads)
                   else "an odd kernel with padding (F - 1)/2")
            yield STRIDE1_RESIZE.at(
                r.node.loc,
                f"{r.node.label}: stride-1 convolution changes the size {r.inputs[0]} -> {r.output}",
                f"cs231n: let convolutions keep the spatial size and pools downsample; use {fix}",
            )


def _own_halvings(result: LayerResult, axis: int) -> int:
    """How many times this layer halves the axis (a stride of 4 halves it twice)."""
    if _family(result) not in ("conv", "pool") or not result.inputs or result.inputs[0].is_vector:
        return 0
    s = result.geometry.stride[axis]
    return int(log2(s)) if s > 1 and log2(s).is_integer() else 0


def _halvings(subject: Subject, axis: int) -> int:
    """The most halvings along any path from the input (branches of a block are parallel, not stacked)."""
    depth = {0: 0}
    for r in subject.analysis.results[1:]:
        before = max((depth.get(i, 0) for i in r.node.inputs), default=0)
        depth[r.node.index] = before + _own_halvings(r, axis)
    return max(depth.values())


def input_not_divisible(subject: Subject) -> Iterator[Diagnostic]:
    shape = subject.analysis.graph.input
    for axis, size in enumerate(shape.spatial):
        needed = 2 ** _halvings(subject, axis)
        if size % needed:
            yield INPUT_NOT_DIVISIBLE.at(
                subject.analysis.graph.nodes[0].loc,
                f"input size {size} is not divisible by {needed}, though the network halves it "
                f"{int(log2(needed))} time(s)",
                f"cs231n: the input should be divisible by 2 many times (32, 64, 96, 224, 384, 512); "
                f"use {round(size / needed) * needed or needed}",
            )


def pool_padding(subject: Subject) -> Iterator[Diagnostic]:
    for r in _layers(subject, "pool"):
        padding = r.node.params["padding"]  # as written, for the message
        if r.geometry.padding_word is None and any(b or a for b, a in r.geometry.pads):
            yield POOL_PADDING.at(
                r.node.loc,
                f"{r.node.label}: pooling pads its input ({padding})",
                "cs231n: it is not common to zero-pad the input of pooling layers; make the input size "
                "fit the window instead, or use ceil rounding",
            )


#: the share of all parameters above which the first fully connected layer is "most of the model",
#: and the size below which it is not "huge" (small teaching networks are all FC weights).
FC_SHARE = 0.5
FC_HUGE = 1_000_000


def huge_first_fc(subject: Subject) -> Iterator[Diagnostic]:
    if not subject.finished or not any(True for _ in _layers(subject, "conv")):
        return
    first = next((r for r in subject.analysis.results[1:] if _family(r) == "fc"), None)
    total = sum(r.inference.params for r in subject.analysis.results)
    if first is None or first.inference.params < FC_HUGE or first.inference.params <= FC_SHARE * total:
        return
    share = first.inference.params / total
    yield HUGE_FIRST_FC.at(
        first.node.loc,
        f"{first.node.label}: the first fully connected layer holds {short(first.inference.params)} of "
        f"{short(total)} parameters ({share:.0%})",
        "cs231n (VGG): most parameters sit in the first FC layer; pool the features down first (global_pool) "
        "or use fewer units",
    )


EVEN_KERNEL = Rule(
    "CNN303", "even-conv-kernel", "warning", "a convolution kernel with an even size",
    what="Reports convolutions whose kernel is even along some axis (2, 4, ...).",
    why="SAS Deep Learning: filters should have an odd number of elements; even filters have not been "
    "shown to add information but cause processing difficulties. An even kernel has no centre pixel, so "
    "'same' padding must be asymmetric, which cuDNN does not support (forceEqualPadding).",
    example="- conv: {filters: 64, kernel: 4, padding: same}",
    fix="Use an odd kernel (3, 5, 7).",
    check=even_kernel,
)
LARGE_POOL = Rule(
    "CNN304", "large-pool-window", "warning", "a pooling window larger than 3",
    what="Reports pooling windows larger than 3 along some axis (except pools that reduce the map to 1x1).",
    why="cs231n: in practice only F=3, S=2 (overlapping) and F=2, S=2 are used; pooling sizes with larger "
    "receptive fields are too destructive.",
    example="- pool: {kernel: 4, stride: 4}",
    fix="Use 2x2 or 3x3 windows with stride 2, or several pools; use global_pool to reach 1x1.",
    check=large_pool,
)
STRIDE1_RESIZE = Rule(
    "CNN305", "stride1-conv-resizes", "warning", "a stride-1 convolution that changes the spatial size",
    what="Reports convolutions with stride 1 whose output size differs from their input size.",
    why="cs231n: conv layers should use stride 1 with zero padding P = (F - 1)/2 so that they preserve the "
    "size and leave all downsampling to the pools; otherwise the border information is washed away "
    "and the sizes are hard to make work out.",
    example="- conv: {filters: 64, kernel: 5}   # 32 -> 28",
    fix="Pad by (F - 1)/2 (`padding: 2` for a 5x5 kernel). Designs that shrink on purpose (LeNet-5) can "
    "ignore the rule with `# cnncalc: ignore[CNN305]`.",
    check=stride1_resize,
)
INPUT_NOT_DIVISIBLE = Rule(
    "CNN306", "input-not-divisible", "warning", "an input size not divisible by 2 as often as the network halves it",
    what="Counts how many times the network halves each axis (strides 2 and 4 of convolutions and pools) "
    "and reports an input size that is not divisible by 2 that many times.",
    why="cs231n: the input layer should be divisible by 2 many times (32, 64, 96, 224, 384, 512); "
    "otherwise some downsampling step drops or pads pixels.",
    example="input: 227x227x3   # 5 halvings need a multiple of 32",
    fix="Resize the input to a multiple of 2^halvings (224 for AlexNet-sized networks).",
    check=input_not_divisible,
)
POOL_PADDING = Rule(
    "CNN307", "pool-with-padding", "warning", "a pooling layer that zero-pads its input",
    what="Reports pooling layers with non-zero padding.",
    why="cs231n: for pooling layers it is not common to pad the input; padded max pooling sees padding "
    "values and frameworks disagree about counting them (PyTorch counts them in average pooling, TF and "
    "ONNX do not).",
    example="- pool: {kernel: 3, stride: 2, padding: 1}",
    fix="Make the input size fit the window, or use ceil rounding (`ceil: true`).",
    check=pool_padding,
)
HUGE_FIRST_FC = Rule(
    "CNN308", "huge-first-fc", "warning", "the first fully connected layer holds most of the parameters",
    what="Reports a convolutional network whose first fully connected layer holds more than half of all "
    "parameters and at least 1,000,000 of them.",
    why="cs231n on VGGNet: most parameters are in the first FC layer (102M of 138M); they cost memory and "
    "overfit, and later architectures replaced them by average pooling with no loss of accuracy.",
    example="""
    - pool: {kernel: 2, stride: 2}   # 7x7x512
    - fc: 4096                       # 102,764,544 parameters
    """,
    fix="Pool the features down first (`global_pool`), or use fewer units.",
    check=huge_first_fc,
)

RULES = (EVEN_KERNEL, LARGE_POOL, STRIDE1_RESIZE, INPUT_NOT_DIVISIBLE, POOL_PADDING, HUGE_FIRST_FC)
