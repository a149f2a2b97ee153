"""The pattern's AST, how it prints, and how to walk it.

Frozen nodes (`Layer`, `Group`, `Repeat`, `Optional`, `Chain`, and the argument values `Num`,
`Word`, `Tup`) whose spans (start, end offsets in the text) do not take part in equality, so a
parsed pattern equals the one written by hand. `format_pattern` prints an AST back:
parse(format_pattern(ast)) == ast. The walkers find what the bindings and the expansion need.
Nothing here knows layer kinds, specs or the command line.
"""

from __future__ import annotations

from cnncalc.records import dataclass, field
from typing import Union


# ---------------------------------------------------------------------------------------------
# the AST: frozen values; spans (start, end offsets in the text) do not take part in equality


@dataclass(frozen=True, slots=True)
class Num:
    value: int | float


@dataclass(frozen=True, slots=True)
class Word:
    name: str


@dataclass(frozen=True, slots=True)
class Tup:
    items: tuple[Value, ...]


Value = Union[Num, Word, Tup]


@dataclass(frozen=True, slots=True)
class Arg:
    key: str | None
    value: Value
    span: tuple[int, int] = field(default=(0, 0), compare=False)
    value_span: tuple[int, int] = field(default=(0, 0), compare=False)


@dataclass(frozen=True, slots=True)
class Layer:
    #: the canonical upper-case word: CONV, POOL, FC, RELU, INPUT...
    word: str
    #: CONV3 -> 3 (the window), None when not written
    size: int | None = None
    #: CONV3-64 -> 64 (filters), FC-4096 -> 4096 (units)
    count: int | None = None
    #: None when no parentheses were written; () for "FC()"
    args: tuple[Arg, ...] | None = None
    #: INPUT[224x224x3] -> (224, 224, 3)
    dims: tuple[int, ...] | None = None
    span: tuple[int, int] = field(default=(0, 0), compare=False)
    size_span: tuple[int, int] = field(default=(0, 0), compare=False)
    count_span: tuple[int, int] = field(default=(0, 0), compare=False)
    dims_span: tuple[int, int] = field(default=(0, 0), compare=False)


@dataclass(frozen=True, slots=True)
class Chain:
    items: tuple[Node, ...]
    span: tuple[int, int] = field(default=(0, 0), compare=False)


@dataclass(frozen=True, slots=True)
class Group:
    body: Chain
    span: tuple[int, int] = field(default=(0, 0), compare=False)


@dataclass(frozen=True, slots=True)
class Repeat:
    body: Node
    #: a whole number, or the name of a variable
    times: int | str
    #: the span of the count (where errors about it point)
    span: tuple[int, int] = field(default=(0, 0), compare=False)


@dataclass(frozen=True, slots=True)
class Optional:
    body: Node
    #: the span of the '?'
    span: tuple[int, int] = field(default=(0, 0), compare=False)


Node = Union[Layer, Group, Repeat, Optional]


# ---------------------------------------------------------------------------------------------
# printing


def _format_value(value: Value) -> str:
    if isinstance(value, Num):
        return repr(value.value)
    if isinstance(value, Word):
        return value.name
    return "(" + ", ".join(_format_value(v) for v in value.items) + ")"


def _format_layer(layer: Layer) -> str:
    text = layer.word
    if layer.size is not None:
        text += str(layer.size)
    if layer.count is not None:
        text += f"-{layer.count}"
    if layer.dims is not None:
        text += "[" + "x".join(str(d) for d in layer.dims) + "]"
    if layer.args is not None:
        parts = [(f"{a.key}=" if a.key else "") + _format_value(a.value) for a in layer.args]
        text += "(" + ", ".join(parts) + ")"
    return text


def format_node(node: Node | Chain) -> str:
    if isinstance(node, Chain):
        return " -> ".join(format_node(item) for item in node.items)
    if isinstance(node, Layer):
        return _format_layer(node)
    if isinstance(node, Group):
        return "[" + format_node(node.body) + "]"
    if isinstance(node, Repeat):
        return f"{format_node(node.body)}*{node.times}"
    return f"{format_node(node.body)}?"


def format_pattern(chain: Chain) -> str:
    """The canonical text of a pattern: parse(format_pattern(ast)) == ast."""
    return format_node(chain)


# ---------------------------------------------------------------------------------------------
# walking the AST


def walk(node: Node | Chain):
    """Every node, outermost first (iterative: nesting is bounded, but no recursion is needed)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, Chain):
            stack.extend(reversed(current.items))
        elif isinstance(current, (Group, Repeat, Optional)):
            stack.append(current.body)


def optionals(chain: Chain) -> tuple[Optional, ...]:
    """Every '?' in the order it appears in the text: OPT1, OPT2, ..."""
    found = [n for n in walk(chain) if isinstance(n, Optional)]
    return tuple(sorted(found, key=lambda n: n.span[0]))


def switch_word(node: Optional) -> str | None:
    """`POOL?` (and `POOL2?`, `[POOL]?`) can be switched by the word POOL."""
    body = node.body
    while isinstance(body, Group) and len(body.body.items) == 1:
        body = body.body.items[0]
    return body.word if isinstance(body, Layer) else None


def leaves(value: Value):
    """The numbers and words of an argument value (a tuple's items, one by one)."""
    if isinstance(value, Tup):
        for item in value.items:
            yield from leaves(item)
    else:
        yield value
