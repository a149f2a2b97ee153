"""Shape propagation over a layer graph: each node's output shape and counts, in order.

Errors do not stop at the first one when they need not: a non-integral size is recorded and
propagation goes on with the size rounded down, so `lint` sees every problem in one run. A
layer whose input cannot be known (a kernel larger than the input) ends the walk.
"""

from __future__ import annotations

from cnncalc.records import dataclass, replace

from cnncalc import bulk
from cnncalc.conventions import Convention
from cnncalc.diagnostics import Diagnostic
from cnncalc.errors import CnnCalcError
from cnncalc.graph import BULK_FROM, Graph, Node
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
    return replace(convention, conv_rounding="floor", pool_rounding="floor")


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
    for node, inputs, inference, error in _steps(graph, convention, input_shape):
        yield PropagatedNode(node, inputs, inference, error)


def _steps(graph: Graph, convention: Convention, input_shape: Shape | None = None):
    """`propagate`'s steps as plain (node, inputs, inference, error) tuples.

    Why memoised: a repeat's layers share one params dict, and in a chain they read equal shapes, so a
    million-layer spec has a handful of distinct inferences. Equal kind, params (the same dict) and input
    shapes under one convention give an equal inference; only the layer's name differs, and the name only
    reaches errors and notes, so an inference is shared only when it has no notes (errors are never
    kept). The input shape tuples are shared the same way (one per distinct tuple of shapes, not one per layer)."""
    nodes = graph.nodes
    # every output shape once per value (hashed once per distinct inference, not per layer), so that the
    # inputs and the memo below can be keyed by identity: a shape's hash is Python code
    canonical: dict[Shape, Shape] = {}
    start = input_shape or graph.input
    shapes: list[Shape] = [canonical.setdefault(start, start)]
    known: dict[tuple, tuple[Inference, Shape]] = {}
    # inputs by their shapes' identities (`shapes` and `canonical` keep every one alive)
    interned: dict[int | tuple[int, ...], tuple[Shape, ...]] = {}
    # the last memoisable layer's key and inference: a repeat's layer is most often the one before's twin
    last_kind = last_params = last_ident = last_inference = last_output = None
    for position in range(1, len(nodes)):
        node = nodes[position]
        reads = node.inputs
        if len(reads) == 1:
            shape = shapes[reads[0]]
            ident: int | tuple[int, ...] = id(shape)
            inputs = interned.get(ident)
            if inputs is None:
                inputs = interned[ident] = (shape,)
        else:
            inputs = tuple(shapes[i] for i in reads)
            ident = tuple(map(id, inputs))
            inputs = interned.setdefault(ident, inputs)
        kind, params = node.kind, node.params
        if kind is last_kind and params is last_params and ident == last_ident:  # a repeat's next layer
            shapes.append(last_output)
            yield node, inputs, last_inference, None
            continue
        key = (id(kind), id(params), ident)
        found = known.get(key)
        if found is None:
            inference, error = _infer_step(graph, node, inputs, convention)
            if inference is None:
                yield node, inputs, None, error
                return
            output = canonical.setdefault(inference.output, inference.output)
            if error is None and not inference.notes:
                known[key] = (inference, output)
        else:
            inference, output = found
            error = None
        if error is None and not inference.notes:  # what the next layer checks first
            last_kind, last_params, last_ident, last_inference, last_output = kind, params, ident, inference, output
        shapes.append(output)
        yield node, inputs, inference, error


def _infer_step(graph: Graph, node: Node, inputs: tuple[Shape, ...],
                convention: Convention) -> tuple[Inference | None, CnnCalcError | None]:
    """One node's inference and error: a non-integral size is inferred again rounded down (and reported);
    any other error gives no inference."""
    names = tuple(graph.nodes[i].name for i in node.inputs)
    try:
        return _infer(node, inputs, convention, names), None
    except NonIntegralError as error:
        try:
            return _infer(node, inputs, _flooring(convention), names), error
        except CnnCalcError as worse:
            return None, worse
    except CnnCalcError as error:
        return None, error


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
    results: list[LayerResult] = [LayerResult(graph.nodes[0], (), Inference(graph.input))]
    diagnostics: list[Diagnostic] = []
    recovering = False
    # a million results: made through their slots (cnncalc/bulk.py), where that pays for making the maker
    make = bulk.maker(LayerResult) if len(graph.nodes) >= BULK_FROM else LayerResult
    for node, inputs, inference, error in _steps(graph, convention):
        if error is not None:
            if isinstance(error, NonIntegralError):
                if not recovering:
                    _locate(error, node)
                    diagnostics.append(Diagnostic.from_error(_with_network_input(graph, convention, error, node)))
                recovering = True
            else:
                diagnostics.append(Diagnostic.from_error(_locate(error, node)))
        if inference is None:
            break
        results.append(make(node, inputs, inference))
        if inference.notes:
            diagnostics.extend(_warnings(PropagatedNode(node, inputs, inference), recovering or error is not None))
    return Analysis(graph, convention, tuple(results), tuple(diagnostics))


__all__ = ["Analysis", "LayerResult", "PropagatedNode", "analyze", "format_fraction", "propagate"]
