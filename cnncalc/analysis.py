"""Shape propagation over a layer graph: each node's output shape and counts, in order.

Errors do not stop at the first one when they need not: a non-integral size is recorded and
propagation goes on with the size rounded down, so `lint` sees every problem in one run. A
layer whose input cannot be known (a kernel larger than the input) ends the walk.
"""

from __future__ import annotations

import dataclasses
from cnncalc.records import dataclass

from cnncalc.conventions import Convention
from cnncalc.diagnostics import Diagnostic
from cnncalc.errors import CnnCalcError
from cnncalc.graph import Graph, Node
from cnncalc.layers.base import Context, Geometry, Inference
from cnncalc.shapes import Shape
from cnncalc.window import NonIntegralError, format_fraction

#: How far `analyze` searches for a network input size that fits (each side of the given size).
INPUT_SEARCH = 64


@dataclass(frozen=True, slots=True)
class LayerResult:
    node: Node
    inputs: tuple[Shape, ...]
    inference: Inference

    @property
    def output(self) -> Shape:
        return self.inference.output

    @property
    def geometry(self) -> Geometry | None:
        """The resolved kernel, stride, dilation, padding, groups ... of a windowed layer (None otherwise)."""
        return self.inference.geometry


@dataclass(frozen=True, slots=True)
class Analysis:
    graph: Graph
    convention: Convention
    results: tuple[LayerResult, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    @property
    def complete(self) -> bool:
        return len(self.results) == len(self.graph.nodes)


def _flooring(convention: Convention) -> Convention:
    return dataclasses.replace(convention, conv_rounding="floor", pool_rounding="floor")


def _infer(node: Node, inputs: tuple[Shape, ...], convention: Convention, names: tuple[str, ...] = ()) -> Inference:
    return node.kind.infer(node.params, inputs, Context(convention, node.label, names))


@dataclass(frozen=True, slots=True)
class PropagatedNode:
    """One node of a propagation: its inference (None if it could not be made) and its error, if any."""

    node: Node
    inputs: tuple[Shape, ...]
    inference: Inference | None
    error: CnnCalcError | None = None


def propagate(graph: Graph, convention: Convention, input_shape: Shape | None = None):
    """Yield a `PropagatedNode` per node, front to back. A non-integral size is reported and propagation goes
    on with the size rounded down; any other error ends the walk."""
    shapes: list[Shape] = [input_shape or graph.input]
    floor = _flooring(convention)
    for node in graph.nodes[1:]:
        inputs = tuple(shapes[i] for i in node.inputs)
        names = tuple(graph.nodes[i].name for i in node.inputs)
        try:
            step = PropagatedNode(node, inputs, _infer(node, inputs, convention, names))
        except NonIntegralError as error:
            try:
                step = PropagatedNode(node, inputs, _infer(node, inputs, floor, names), error)
            except CnnCalcError as worse:
                yield PropagatedNode(node, inputs, None, worse)
                return
        except CnnCalcError as error:
            yield PropagatedNode(node, inputs, None, error)
            return
        shapes.append(step.inference.output)
        yield step


def _fits_everywhere(graph: Graph, convention: Convention, shape: Shape) -> bool:
    return all(step.error is None for step in propagate(graph, convention, input_shape=shape))


def _output_at(graph: Graph, convention: Convention, shape: Shape, node: Node | None) -> Shape | None:
    """The output of `node` for this network input when every layer fits, else None."""
    found = None
    for step in propagate(graph, convention, input_shape=shape):
        if step.error is not None:
            return None
        if node is not None and step.node is node:
            found = step.inference.output
    return found if node is not None else shape


def fitting_inputs(graph: Graph, convention: Convention, axis: int,
                   node: Node | None = None) -> list[tuple[Shape, Shape | None]]:
    """The network inputs closest to the given one on each side (changing `axis`, or all axes of a
    square input) for which every layer's size works out, smaller first: (input, `node`'s output)."""
    start = graph.input
    square = len(set(start.spatial)) == 1
    found = []
    for sign in (-1, 1):
        for delta in range(1, INPUT_SEARCH + 1):
            size = start.spatial[axis] + sign * delta
            if size < 1:
                break
            spatial = tuple(size if (square or i == axis) else w for i, w in enumerate(start.spatial))
            candidate = start.with_spatial(spatial)
            output = _output_at(graph, convention, candidate, node)
            if output is not None:
                found.append((candidate, output if node is not None else None))
                break
    return found


def _locate(error: CnnCalcError, node: Node) -> CnnCalcError:
    if error.loc.line == 0:
        error.loc = node.loc
    return error


def _with_network_input(graph: Graph, convention: Convention, error: NonIntegralError, node: Node) -> NonIntegralError:
    found = fitting_inputs(graph, convention, error.axis_index, node)
    if found:
        texts = [f"{shape} ({output})" for shape, output in found]
        texts[0] = f"{found[0][0]} ({node.name} then gives {found[0][1]})"
        error.hint = error.compose_hint(" or ".join(texts))
    return error


#: Consequences of a first non-integral size: later sizes were computed from a rounded-down
#: value, so their own rounding problems are echoes, not separate findings.
_ECHO_CODES = frozenset({"CNN201", "CNN301"})


def _warnings(step: PropagatedNode, recovering: bool) -> list[Diagnostic]:
    return [
        Diagnostic("warning", note.code, note.message, step.node.loc, note.hint)
        for note in step.inference.notes
        if not (recovering and note.code in _ECHO_CODES)
    ]


def analyze(graph: Graph, convention: Convention) -> Analysis:
    results: list[LayerResult] = []
    diagnostics: list[Diagnostic] = []
    recovering = False
    for step in propagate(graph, convention):
        error = step.error
        if isinstance(error, NonIntegralError):
            if not recovering:
                _locate(error, step.node)
                diagnostics.append(Diagnostic.from_error(_with_network_input(graph, convention, error, step.node)))
            recovering = True
        elif error is not None:
            diagnostics.append(Diagnostic.from_error(_locate(error, step.node)))
        if step.inference is None:
            break
        results.append(LayerResult(step.node, step.inputs, step.inference))
        if step.inference.notes:
            diagnostics.extend(_warnings(step, recovering or error is not None))
    input_node = graph.nodes[0]
    first = LayerResult(input_node, (), Inference(graph.input))
    return Analysis(graph, convention, (first, *results), tuple(diagnostics))


__all__ = ["Analysis", "LayerResult", "PropagatedNode", "analyze", "format_fraction", "propagate"]
