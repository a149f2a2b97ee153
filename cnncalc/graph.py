"""From a `Spec` tree to a flat layer graph in execution order.

Node 0 is the input. Every other node names the nodes it reads (`inputs`), so chains,
residual adds and concatenations share one representation that the analysis, the memory
model and the executor all walk front to back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnncalc.errors import LimitError, Location, SpecError
from cnncalc.layers import LayerKind
from cnncalc.shapes import Shape
from cnncalc.spec import Item, LayerSpec, RepeatSpec, Spec

#: The largest graph cnncalc builds (documented in the README's limits section).
MAX_LAYERS = 1_000_000


@dataclass(frozen=True, slots=True)
class Node:
    index: int
    name: str
    #: None for the input node.
    kind: LayerKind | None
    params: dict[str, Any]
    inputs: tuple[int, ...]
    loc: Location
    #: names of the enclosing blocks, outermost first (for indented tables).
    block: tuple[str, ...] = ()

    @property
    def type(self) -> str:
        return "input" if self.kind is None else self.kind.name

    @property
    def label(self) -> str:
        return f"{self.name} ({self.type})"


@dataclass(frozen=True, slots=True)
class Graph:
    name: str
    input: Shape
    nodes: tuple[Node, ...]
    path: str = "<spec>"


def count_layers(items: tuple[Item, ...]) -> int:
    total = 0
    for item in items:
        if isinstance(item, RepeatSpec):
            inner = count_layers(item.body)
            total += item.times * inner
        else:
            total += 1
        if total > MAX_LAYERS:
            raise LimitError(
                f"the spec expands to more than {MAX_LAYERS:,} layers",
                item.loc,
                hint="lower the repeat counts",
            )
    return total


class _Builder:
    def __init__(self, spec: Spec):
        self.nodes: list[Node] = [Node(0, "input", None, {}, (), spec.input_loc)]
        self.counters: dict[str, int] = {}
        self.names: dict[str, Location] = {"input": spec.input_loc}

    def _name(self, layer: LayerSpec, suffix: str) -> str:
        if layer.name is not None:
            name = layer.name + suffix
        else:
            kind = layer.kind.name
            self.counters[kind] = self.counters.get(kind, 0) + 1
            name = f"{kind}{self.counters[kind]}"
        if name in self.names:
            first = self.names[name]
            raise SpecError(
                f"two layers are named '{name}' (the first at line {first.line})",
                layer.loc,
                hint="layer names must be unique; rename one (inside `repeat:` a number is appended)",
                code="CNN106",
            )
        self.names[name] = layer.loc
        return name

    def add(self, layer: LayerSpec, suffix: str, block: tuple[str, ...]) -> None:
        index = len(self.nodes)
        node = Node(index, self._name(layer, suffix), layer.kind, layer.params, (index - 1,), layer.loc, block)
        self.nodes.append(node)

    def walk(self, items: tuple[Item, ...], suffix: str = "", block: tuple[str, ...] = ()) -> None:
        for item in items:
            if isinstance(item, RepeatSpec):
                for i in range(1, item.times + 1):
                    self.walk(item.body, f"{suffix}_{i}", block)
            else:
                self.add(item, suffix, block)


def build(spec: Spec) -> Graph:
    count_layers(spec.items)
    builder = _Builder(spec)
    builder.walk(spec.items)
    return Graph(spec.name, spec.input, tuple(builder.nodes), spec.path)
