"""Every problem of a file, as ruff reports them: lint does not stop at the first one.

Two recoveries, each one that can give no false finding:

- spec errors (a negative filter count, an unknown key, an unknown layer...) are collected per layer
  item: the item an error is in is left out and the spec read again, until it reads or `MAX_SPEC_ERRORS`
  are found. The network with items left out is not analysed (its shapes would be fiction).
- after a hard shape error (a kernel larger than its input) the walk goes on through every layer whose
  inputs are still known: branches that do not depend on the failed layer are still checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from cnncalc.analysis import Analysis
from cnncalc.conventions import Convention
from cnncalc.diagnostics import Diagnostic
from cnncalc.errors import CnnCalcError, LimitError, SpecError
from cnncalc.graph import Graph
from cnncalc.layers.base import Context
from cnncalc.records import replace
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode

#: how many spec errors one file reports at most (each costs one more reading of the spec)
MAX_SPEC_ERRORS = 20

#: a node's place in the tree: mapping keys and sequence indices from the root
Path = tuple  # tuple[str | int, ...]


def _position(node_loc) -> tuple[int, int]:
    return (node_loc.line, node_loc.col)


def _preorder(node: YNode, path: Path = (), depth: int = 0) -> Iterator[tuple[tuple[int, int], Path, int, bool]]:
    """(position, path, depth, is a layer item) of every key and node in document order."""
    yield _position(node.loc), path, depth, False
    if node.is_mapping:
        for key, child in node.value.items():
            if key in node.key_locs:
                yield _position(node.key_locs[key]), (*path, key, "key"), depth + 1, False
            yield from _preorder(child, (*path, key), depth + 1)
    elif node.is_sequence:
        items = path[-1:] == ("layers",)
        for index, child in enumerate(node.value):
            for place in _preorder(child, (*path, index), depth + 1):
                yield (place[0], place[1], place[2], True) if items and place[1] == (*path, index) else place


def _items_holding(root: YNode, error: CnnCalcError) -> list[Path]:
    """The items of `layers:` lists whose text holds the error's position, innermost first."""
    where = _position(error.loc)
    if where[0] <= 0:
        return []
    places = list(_preorder(root))
    holding = []
    for index, (start, path, depth, is_item) in enumerate(places):
        if not is_item or start > where:
            continue
        after = next((p[0] for p in places[index + 1:] if p[1][:len(path)] != path), None)
        if after is None or where < after:
            holding.append((depth, path))
    return [path for _, path in sorted(holding, key=lambda held: -held[0])]


def _smaller(root: YNode, error: CnnCalcError) -> YNode | None:
    """The tree without the innermost item holding the error whose removal leaves no `layers:` list empty."""
    for path in _items_holding(root, error):
        smaller = _without(root, path)
        if smaller is not None:
            return smaller
    return None


def _without(node: YNode, path: Path) -> YNode | None:
    """The tree with the item at `path` left out (None: it would leave a `layers:` list empty)."""
    head, rest = path[0], path[1:]
    if node.is_sequence:
        if not rest:
            kept = node.value[:head] + node.value[head + 1:]
            return replace(node, value=kept) if kept else None
        child = _without(node.value[head], rest)
        return None if child is None else replace(
            node, value=node.value[:head] + (child,) + node.value[head + 1:])
    child = _without(node.value[head], rest)
    return None if child is None else replace(node, value={**node.value, head: child})


def spec_errors(root: YNode, path: str, first: SpecError) -> list[CnnCalcError]:
    """`first` and the spec errors of the other layer items (see the module's docstring)."""
    from cnncalc.spec import parse_spec

    found: list[CnnCalcError] = [first]
    error: CnnCalcError = first
    while len(found) < MAX_SPEC_ERRORS:
        smaller = _smaller(root, error)
        if smaller is None:
            break
        root = smaller
        try:
            parse_spec(root, path)
            break
        except LimitError:
            break
        except SpecError as again:
            if again.loc == error.loc and again.message == error.message:
                break  # the same error again: it is not in the item left out
            found.append(again)
            error = again
    return found


def independent_shape_errors(graph: Graph, convention: Convention, analysis: Analysis) -> list[Diagnostic]:
    """After the hard shape error that ended the analysis, the errors of the layers whose inputs are still
    known (branches that do not read the failed layer, directly or not)."""
    if analysis.complete:
        return []
    shapes: dict[int, Shape] = {index: result.output for index, result in enumerate(analysis.results)}
    found = []
    for index in range(len(analysis.results) + 1, len(graph.nodes)):
        node = graph.nodes[index]
        if not all(i in shapes for i in node.inputs):
            continue
        inputs = tuple(shapes[i] for i in node.inputs)
        names = tuple(graph.nodes[i].name for i in node.inputs)
        try:
            shapes[index] = node.kind.infer(node.params, inputs, Context(convention, node.label, names)).output
        except CnnCalcError as error:
            if error.loc.line == 0:
                error.loc = node.loc
            found.append(Diagnostic.from_error(error))
    return found
