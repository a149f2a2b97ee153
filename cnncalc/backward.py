"""Backward multiply-accumulates per layer: the input gradient and the weight gradient (training cost)."""

from __future__ import annotations

from cnncalc.records import dataclass

from cnncalc.analysis import Analysis

CONV_TYPES = frozenset({"conv", "conv1d", "conv2d", "conv3d", "depthwise"})
#: the kinds whose forward and backward MACs cnncalc counts by default (torchvision's convention)
WEIGHTED_TYPES = CONV_TYPES | {"conv_transpose", "fc"}


@dataclass(frozen=True, slots=True)
class Backward:
    """Backward multiply-accumulates of one layer per sample: the input gradient and the weight gradient.

    Convention: conv, transposed conv and fc only (as the forward MACs), bias excluded. Each gradient is
    one product the size of the forward one, so each equals the forward MACs; the input gradient is
    absent (0) where no input needs a gradient: the network input, and anything computed from it by
    layers without parameters (the first conv's input gradient is never computed)."""

    input_grad: int = 0
    weight_grad: int = 0

    @property
    def total(self) -> int:
        return self.input_grad + self.weight_grad


NO_BACKWARD = Backward()


def backward(analysis: Analysis) -> tuple[Backward, ...]:
    # per node, in order (node i is result i): whether its output needs a gradient
    needs_grad: list[bool] = []
    out = []
    made: dict[tuple[int, int], Backward] = {}  # equal counts share one value (a repeat's layers)
    weighted: dict[int, bool] = {}  # per kind, by identity: a million layers are a handful of kinds
    append, needs = out.append, needs_grad.append
    last_kind = last_inf = last_upstream = last_grads = None  # the layer before: a repeat's are its twins
    for result in analysis.results:
        node, inf = result.node, result.inference
        reads = node.inputs
        upstream = needs_grad[reads[0]] if len(reads) == 1 else any(needs_grad[i] for i in reads)
        kind = node.kind
        if inf is last_inf and kind is last_kind and upstream is last_upstream:
            needs(upstream or inf.params > 0)
            append(last_grads)
            continue
        needs(upstream or inf.params > 0)
        counted = weighted.get(id(kind))
        if counted is None:
            counted = weighted[id(kind)] = kind is not None and kind.name in WEIGHTED_TYPES
        if counted:
            counts = (inf.macs if upstream else 0, inf.macs)
            grads = made.get(counts)
            if grads is None:
                grads = made[counts] = Backward(*counts)
        else:
            grads = NO_BACKWARD
        append(grads)
        last_kind, last_inf, last_upstream, last_grads = kind, inf, upstream, grads
    return tuple(out)
