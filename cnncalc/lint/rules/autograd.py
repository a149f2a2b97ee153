"""What PyTorch's autograd would refuse: a spec whose shapes and counts are fine but whose training
step raises in `backward()`. Read from the layer kinds' own memory rules (what each op saves)."""

from __future__ import annotations

from collections.abc import Iterator

from cnncalc.analysis import LayerResult
from cnncalc.diagnostics import Diagnostic
from cnncalc.layers.base import MemoryContext, MemoryRule
from cnncalc.lint.rule import Rule
from cnncalc.lint.subject import Subject

#: one sample in float32 for training: the rules' flags do not depend on the sizes
_TRAINING = MemoryContext(batch=1, act_bytes=4, param_bytes=4, training=True)


def _rule(result: LayerResult) -> MemoryRule:
    node = result.node
    return node.kind.memory_rule(node.params, result.inputs, result.inference, _TRAINING)


def _keeps_inputs(rule: MemoryRule) -> bool:
    """The op's backward reads its inputs: all of them, or a product's factors (x * gate keeps both)."""
    return rule.saves_inputs or rule.saves_operands


def inplace_overwrites_saved(subject: Subject) -> Iterator[Diagnostic]:
    results = subject.analysis.results
    rules = {r.node.index: _rule(r) for r in results[1:]}
    for result in results[1:]:
        node = result.node
        if not rules[node.index].aliases_input or not node.params.get("inplace", False):
            continue
        source = node.inputs[0]
        if source > 0 and rules[source].saves_output:
            yield INPLACE_OVERWRITES_SAVED.at(
                node.loc,
                f"{node.label}: the in-place op overwrites the output of {results[source].node.label}, "
                "which its backward needs",
                f"drop `inplace: true` here (or from the layer before): {results[source].node.type} "
                "keeps its result for the gradient",
            )
            continue
        earlier = next((r for r in results[source + 1:node.index]
                        if source in r.node.inputs and _keeps_inputs(rules[r.node.index])), None)
        if earlier is not None:
            yield INPLACE_OVERWRITES_SAVED.at(
                node.loc,
                f"{node.label}: the in-place op overwrites its input after {earlier.node.label} saved it "
                "for backward",
                "drop `inplace: true`, or apply it before the branch that reads the same tensor",
            )


INPLACE_OVERWRITES_SAVED = Rule(
    "CNN309", "inplace-overwrites-saved", "warning", "an in-place op overwrites a tensor saved for backward",
    what="Reports an in-place op (`relu: {inplace: true}`) whose input is a tensor autograd keeps for "
    "the backward pass: the output of a ReLU, sigmoid, tanh or softmax, or an input that another layer "
    "read (and saved) before.",
    why="PyTorch checks saved tensors' versions: training such a model fails in `backward()` with "
    "\"one of the variables needed for gradient computation has been modified by an inplace operation\". "
    "Shapes, counts and inference are unaffected, so nothing else reports it.",
    example="""
    - sigmoid
    - relu: {inplace: true}
    """,
    fix="Drop `inplace: true` there; in-place ReLU is safe after conv, batch norm, add or pooling, which "
    "do not keep their outputs.",
    check=inplace_overwrites_saved,
)

RULES = (INPLACE_OVERWRITES_SAVED,)
