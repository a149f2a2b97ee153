"""Each layer's memory rule (`LayerKind.memory_rule`) for one batch and mode, found once per distinct layer:
what the liveness simulation (cnncalc/liveness.py) and the CUDA event sequence (cnncalc/cuda/step.py) read."""

from __future__ import annotations

from operator import attrgetter

from cnncalc.analysis import Analysis, LayerResult
from cnncalc.layers.base import MemoryContext, MemoryRule
from cnncalc.records import replace


def distinct(analysis: Analysis) -> tuple[tuple[int, ...], tuple[LayerResult, ...]]:
    """The distinct layers of a network for its memory rules: per graph node after the input, the index of
    its distinct layer, and each distinct layer's first result. Found once per report and shared by its
    modes (training and inference ask the same layers for their rules).

    Why: a rule is a function of the kind, its settings, the input shapes and the inference (never of the
    layer's name), and a network repeats its layers: ResNet-50's 174 layers are 54 distinct ones, 23 of its
    53 convolutions, whose CPU kernel models cost most of a report's time. A repeat's layers share one
    inference, found by identity without hashing it; the others by value (a record's hash is Python code)."""
    group_of: list[int] = []
    firsts: list[LayerResult] = []
    by_identity: dict[tuple[int, int, int, int], int] = {}
    by_value: dict[tuple, int] = {}
    for result in analysis.results[1:]:
        node, inference = result.node, result.inference
        fast = (id(node.kind), id(node.params), id(result.inputs), id(inference))
        group = by_identity.get(fast)
        if group is None:
            new = len(firsts)
            try:  # hashed once, found or added (a record's hash is Python code: it was a third of this)
                group = by_value.setdefault((node.kind, tuple(sorted(node.params.items())), result.inputs,
                                             inference), new)
            except TypeError:  # a setting that is not hashable: a distinct layer of its own
                group = new
            if group == new:
                firsts.append(result)
            by_identity[fast] = group  # the analysis holds the objects whose ids these are
        group_of.append(group)
    return tuple(group_of), tuple(firsts)


def rules(analysis: Analysis, ctx: MemoryContext,
          layers: tuple[tuple[int, ...], tuple[LayerResult, ...]] | None = None) -> tuple[MemoryRule, ...]:
    """Each layer's memory rule for this batch and mode; index i is graph node i (the input's is empty).
    `layers`: the network's `distinct` layers, when known; each distinct layer's rule is found once."""
    group_of, firsts = layers if layers is not None else distinct(analysis)
    made = []
    for result in firsts:
        node, inference = result.node, result.inference
        rule = node.kind.memory_rule(node.params, result.inputs, inference, ctx)
        made.append(_with_counted_params(rule, inference.params, inference.buffers, ctx))
    return (MemoryRule(), *map(made.__getitem__, group_of))


def _with_counted_params(rule: MemoryRule, params: int, buffers: int, ctx: MemoryContext) -> MemoryRule:
    """A kind that does not list its parameter tensors still has the parameters it counts: one tensor."""
    if params and not rule.param_tensors:
        rule = replace(rule, param_tensors=(params,))
    if buffers and not rule.buffer_bytes:
        rule = replace(rule, buffer_bytes=buffers * ctx.param_bytes)
    return rule


def same_storages(analysis: Analysis, ctx: MemoryContext, found: tuple[MemoryRule, ...],
                  infer_found: tuple[MemoryRule, ...]) -> bool:
    """Whether the liveness simulation's inference run (`infer_found` its rules) has the storages and readers
    of its training run (`found`, under `ctx`): every layer runs in both (no training-only head), no autocast
    (whose element sizes follow the rules) and the same outputs alias their inputs in both modes."""
    graph = analysis.graph
    if ctx.amp or not infer_found or graph.output_nodes(True) != graph.output_nodes(False) or any(
            map(attrgetter("training_only"), graph.nodes)):
        return False
    aliases = attrgetter("aliases_input")
    return list(map(aliases, found)) == list(map(aliases, infer_found))
