"""cnncalc/analysis.py: shape propagation over the graph, its recovery from non-integral sizes, the
search for a network input that fits, and the resolved geometry each result carries."""

from __future__ import annotations

from cnncalc.analysis import analyze, fitting_inputs, propagate
from cnncalc.conventions import get
from cnncalc.pipeline import analyze_text, parse
from cnncalc import graph as graph_module
from cnncalc.shapes import Shape

ALEXNET_224 = """
input: 224x224x3
layers:
  - conv: {filters: 96, kernel: 11, stride: 4}
  - relu
  - pool: {kernel: 3, stride: 2}
"""


def graph_of(text: str):
    return graph_module.build(parse(text, "<test>"))


def test_results_follow_the_nodes_with_outputs_counts_and_geometry():
    analysis = analyze_text(ALEXNET_224.replace("224x224", "227x227"), "<test>")
    assert analysis.ok and analysis.complete
    assert [r.output for r in analysis.results] == [Shape((227, 227), 3), Shape((55, 55), 96), Shape((55, 55), 96),
                                                   Shape((27, 27), 96)]
    conv = analysis.results[1]
    assert conv.inference.params == 11 * 11 * 3 * 96 + 96
    assert conv.geometry.kernel == (11, 11) and conv.geometry.stride == (4, 4) and conv.geometry.pads == ((0, 0),) * 2
    assert analysis.results[2].geometry is None  # relu has no window
    assert analysis.results[3].geometry.stride == (2, 2)  # the pool's stride, resolved


def test_a_non_integral_size_is_one_error_and_propagation_goes_on_rounded_down():
    analysis = analyze_text(ALEXNET_224, "<test>")
    assert not analysis.ok and analysis.complete
    (error,) = [d for d in analysis.diagnostics if d.severity == "error"]
    assert error.code == "CNN201" and "227x227x3" in error.hint
    assert analysis.results[1].output == Shape((54, 54), 96)


def test_fitting_inputs_are_the_nearest_sizes_that_divide_on_each_side():
    found = fitting_inputs(graph_of(ALEXNET_224), get("strict"), 0)
    smaller, larger = (shape for shape, _ in found)
    assert smaller.spatial[0] < 224 and larger == Shape((227, 227), 3)


def test_propagate_stops_at_an_error_that_leaves_no_shape():
    text = "input: 4x4x3\nlayers:\n  - conv: {filters: 2, kernel: 5}\n  - relu\n"
    steps = list(propagate(graph_of(text), get("strict")))
    assert len(steps) == 1 and steps[0].inference is None and steps[0].error.code == "CNN202"
    analysis = analyze(graph_of(text), get("strict"))
    assert not analysis.complete and [d.code for d in analysis.diagnostics] == ["CNN202"]


def test_equal_layers_share_one_inference_and_layers_with_notes_keep_their_own():
    """The memo of `_steps`: a repeat's equal layers on equal inputs share one inference (and one inputs
    tuple); a layer with notes (whose messages name it) is inferred for itself, so every warning names its layer."""
    from cnncalc.pipeline import analyze_text

    shared = analyze_text("input: 8x8x3\nlayers:\n  - repeat: {times: 4, layers: [relu, {conv: {filters: 3, kernel: 3, padding: 1}}]}\n",
                          "x.yaml")
    relus = [r for r in shared.results if r.node.type == "relu"]
    convs = [r for r in shared.results if r.node.type == "conv"]
    assert len({id(r.inference) for r in relus}) == 1 and len({id(r.inference) for r in convs}) == 1
    assert len({id(r.inputs) for r in convs}) == 1
    noted = analyze_text("input: 8x8x3\nlayers:\n  - repeat: {times: 3, layers: [{conv: {filters: 3, kernel: 2, padding: same}}]}\n",
                         "x.yaml")
    warned = [d.message.split(":")[0] for d in noted.diagnostics if d.code == "CNN302"]
    assert warned == [f"{r.node.name} (conv)" for r in noted.results[1:]] and len(warned) == 3


def test_equal_layers_of_separate_block_uses_share_one_inference():
    from cnncalc.pipeline import analyze_text

    text = "input: 8x8x8\nlayers:\n  - basic: {width: 8}\n  - basic: {width: 8}\n"
    results = analyze_text(text, "two.yaml", "pytorch").results
    convs = [r for r in results if r.node.type == "conv"]
    adds = [r for r in results if r.node.type == "add"]
    assert len(convs) == 4 and len({id(r.inference) for r in convs}) == 1
    assert len(adds) == 2 and adds[0].inference is adds[1].inference
    assert {r.node.loc.line for r in convs} == {3, 4}  # each still at its own use
