"""AST plus bound values to spec items: the layers a YAML `layers:` list would give.

Each layer token becomes a `LayerSpec` through `spec.SpecBuilder`, from its shorthand (CONV3-64)
and arguments written as the YAML mapping the builder validates; `*N` becomes a `RepeatSpec`;
a '?' that is off contributes nothing. Every later stage sees no difference between a pattern and
a spec file. The expansion is bounded (the repeat and layer limits) before anything is built.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cnncalc.errors import LimitError, Location, SpecError
from cnncalc.layers import KINDS
from cnncalc.limits import MAX_LAYERS, MAX_REPEAT
from cnncalc.pattern.bindings import switches
from cnncalc.pattern.positions import width
from cnncalc.pattern.tree import Arg, Chain, Group, Layer, Node, Num, Optional, Repeat, Tup, Value
from cnncalc.pattern.vocabulary import (
    ARG_ALIASES,
    COUNT_KEY,
    INPUT_WORD,
    LAYER_WORDS,
    LITERAL_WORDS,
    POSITIONAL,
    SIZE_KEY,
    SWITCH_WORDS,
    is_variable_word,
)
from cnncalc.shapes import Shape
from cnncalc.inputs import parse_input
from cnncalc.spec import Item, LayerSpec, RepeatSpec, Spec, SpecBuilder
from cnncalc.yamlsource import YNode

if TYPE_CHECKING:
    from cnncalc.pattern.source import PatternSource


def layer_count(chain: Chain, bindings: Mapping[str, int]) -> int:
    """Layers the pattern expands to (INPUT excluded), from the product formula, without expanding.

    Unbound repeat counts count as 0 (`expand` reports them); switches as `expand` decides them.
    """
    on = switches(chain, bindings)

    def count(node: Node | Chain) -> int:
        if isinstance(node, Chain):
            return sum(count(item) for item in node.items)
        if isinstance(node, Layer):
            return 0 if node.word == INPUT_WORD else 1
        if isinstance(node, Group):
            return count(node.body)
        if isinstance(node, Repeat):
            times = node.times if isinstance(node.times, int) else bindings.get(node.times, 0)
            return times * count(node.body)
        return count(node.body) if on[node.span[0]] else 0

    return count(chain)


class Expander:
    """One expansion: a source with one value for each binding, walked into a `Spec`."""

    def __init__(self, source: PatternSource, values: Mapping[str, int]):
        self.source = source
        self.values = dict(values)
        self.at = source.locator.at
        self.builder = SpecBuilder(source.path, source.defaults)
        self.switches = switches(source.ast, self.values)
        self.binding_locs = {b.name: b.loc for b in source.bindings.values()}

    def spec(self) -> Spec:
        chain = self.source.ast
        shape, input_loc = self.input_shape(chain)
        items, _ = self.chain(chain, top=True)
        return Spec(self.source.name, shape, input_loc, tuple(items), self.source.path, self.source.convention)

    # input ------------------------------------------------------------------------------------

    def input_shape(self, chain: Chain) -> tuple[Shape, Location]:
        first = chain.items[0]
        given, given_loc = self.source.input, self.source.input_loc
        if isinstance(first, Layer) and first.word == INPUT_WORD and first.dims is not None:
            loc = self.at(first.dims_span[0], first.dims_span[1] - first.dims_span[0])
            text = "x".join(str(d) for d in first.dims)
            shape = parse_input(YNode(text, loc, text))
            if given is not None and given != shape:
                raise SpecError(f"the pattern's input {shape} differs from the input {given} given outside it", loc,
                                hint="give the input size in one place", code="CNN118")
            return shape, loc
        if given is None:
            raise SpecError("the pattern gives no input size", self.at(0, 1),
                            hint="start the pattern with INPUT[224x224x3], or pass --input 224x224x3 "
                            "(input: in a YAML spec)", code="CNN118")
        return given, given_loc

    # items ------------------------------------------------------------------------------------

    def chain(self, chain: Chain, top: bool = False) -> tuple[list[Item], int]:
        items: list[Item] = []
        total = 0
        for position, node in enumerate(chain.items):
            if isinstance(node, Layer) and node.word == INPUT_WORD:
                if not (top and position == 0):
                    raise SpecError("INPUT can only be the first item of the pattern", self.at(*width(node.span)),
                                    hint="remove it, or move it to the start", code="CNN118")
                continue
            new, count = self.node(node)
            items.extend(new)
            total += count
            self.check_size(total, node)
        return items, total

    def node(self, node: Node) -> tuple[list[Item], int]:
        if isinstance(node, Layer):
            if node.word == INPUT_WORD:
                raise SpecError("INPUT can only be the first item of the pattern", self.at(*width(node.span)),
                                hint="remove it, or move it to the start", code="CNN118")
            return [self.layer(node)], 1
        if isinstance(node, Group):
            return self.chain(node.body)
        if isinstance(node, Optional):
            if not self.switches[node.span[0]]:
                return [], 0
            return self.node(node.body)
        times = self.times(node)
        body, count = self.node(node.body)
        self.check_size(times * count, node)
        loc = self.at(*width(node.span))
        return [RepeatSpec(times, tuple(body), loc)], times * count

    def times(self, node: Repeat) -> int:
        if isinstance(node.times, int):
            return node.times
        loc = self.at(*width(node.span))
        if node.times not in self.values:
            raise SpecError(f"unbound variable {node.times}", loc,
                            hint=f"bind it with -D {node.times}=2 (or vars: {{{node.times}: 2}} in a YAML spec)",
                            code="CNN114")
        value = self.values[node.times]
        if value > MAX_REPEAT:
            raise LimitError(f"{node.times} = {value:,} is larger than the repeat limit of {MAX_REPEAT:,}", loc,
                             hint="use a smaller value", code="CNN115")
        return value

    def check_size(self, count: int, node: Node) -> None:
        if count > MAX_LAYERS:
            raise LimitError(f"the pattern expands to more than {MAX_LAYERS:,} layers", self.at(*width(node.span)),
                             hint="lower the repeat counts", code="CNN120")

    # one layer ------------------------------------------------------------------------------------

    def layer(self, node: Layer) -> LayerSpec:
        kind = KINDS[LAYER_WORDS[node.word]]
        loc = self.at(*width(node.span))
        args = LayerArgs(self.at, self.values).mapping(node, loc)
        try:
            return self.builder.layer(node.word, loc, args)
        except SpecError as error:
            if error.code == "CNN105":
                error.hint = (f"write e.g. {_example(node.word, kind.name)}, pass --set '{node.word}(...)', "
                              f"or give `{node.word}: {{...}}` in a YAML spec")
            raise


class LayerArgs:
    """A layer token's shorthand and arguments as the YAML mapping `SpecBuilder` validates."""

    def __init__(self, at, values: Mapping[str, int]):
        self.at = at
        self.values = values

    def mapping(self, node: Layer, loc: Location) -> YNode | None:
        kind = KINDS[LAYER_WORDS[node.word]]
        values: dict[str, YNode] = {}
        written: set[str] = set()
        for key, value, hard in self.shorthand(node, kind.name):
            values[key] = value
            if hard:
                written.add(key)
        for position, arg in enumerate(node.args or ()):
            key = self.arg_key(node, kind, arg, position)
            if key in written:
                raise SpecError(f"{node.word} is given '{key}' twice", self.at(*width(arg.span)),
                                hint="give each setting once", code="CNN116")
            written.add(key)
            values[key] = self.ynode(arg.value, self.at(*width(arg.value_span)))
        if not values:
            return None
        return YNode(values, loc, key_locs={key: value.loc for key, value in values.items()})

    def shorthand(self, node: Layer, kind: str) -> list[tuple[str, YNode, bool]]:
        """CONV3-64 = kernel 3, 64 filters, stride 1, padding 1; POOL2 = kernel 2; FC-4096 = 4096 units.

        The window and the count are written ("hard"); a conv's stride and padding are implied and
        an explicit argument may change them."""
        result = []
        if node.size is not None:
            loc = self.at(*width(node.size_span))
            result.append((SIZE_KEY[kind], YNode(node.size, loc, str(node.size)), True))
            for key, value in KINDS[kind].pattern_implied(node.size):
                result.append((key, YNode(value, loc, str(value)), False))
        if node.count is not None:
            loc = self.at(*width(node.count_span))
            result.append((COUNT_KEY[kind], YNode(node.count, loc, str(node.count)), True))
        return result

    def arg_key(self, node: Layer, kind, arg: Arg, position: int) -> str:
        loc = self.at(*width(arg.span))
        if not kind.params:
            raise SpecError(f"{node.word} takes no settings", loc, hint=f"write {node.word}", code="CNN116")
        if arg.key is None:
            key = POSITIONAL.get(kind.name, kind.shorthand)
            if key is None or position != 0:
                raise SpecError(f"{node.word} takes no {'further ' if key else ''}value without a name", loc,
                                hint="name the setting: " + _settings_help(kind), code="CNN116")
            return key
        key = ARG_ALIASES.get(arg.key.lower(), arg.key.lower())
        if kind.param(key) is None:
            names = [p.name for p in kind.params] + [a for a, full in ARG_ALIASES.items() if kind.param(full)]
            close = difflib.get_close_matches(arg.key.lower(), names, n=1, cutoff=0.6)
            raise SpecError(f"{node.word} has no setting '{arg.key}'", loc,
                            hint=(f"did you mean '{close[0]}'? " if close else "") + _settings_help(kind),
                            code="CNN116")
        return key

    def ynode(self, value: Value, loc: Location) -> YNode:
        if isinstance(value, Num):
            return YNode(value.value, loc, repr(value.value))
        if isinstance(value, Tup):
            return YNode(tuple(self.ynode(v, loc) for v in value.items), loc)
        if value.name in self.values:
            number = self.values[value.name]
            return YNode(number, loc, str(number))
        word = value.name.lower()
        if not is_variable_word(value.name):
            # a value such as same/avg/true; the setting's own parser says which words it takes
            return YNode(SWITCH_WORDS[word] == 1 if word in SWITCH_WORDS else word, loc, value.name)
        close = difflib.get_close_matches(word, sorted(LITERAL_WORDS), n=1, cutoff=0.6)
        raise SpecError(f"unbound variable {value.name}", loc,
                        hint=(f"did you mean '{close[0]}'? " if close else "") + f"bind it with -D {value.name}=... "
                        "(or vars: in a YAML spec)", code="CNN114")


def _settings_help(kind) -> str:
    aliases = {full: short for short, full in ARG_ALIASES.items()}
    names = [f"{aliases[p.name]}/{p.name}" if p.name in aliases else p.name for p in kind.params]
    return f"settings: {', '.join(names)}" if names else "it takes no settings"


def _example(word: str, kind: str) -> str:
    examples = {"conv": f"{word}3-64 or {word}(f=64)", "fc": f"{word}-10 or {word}(10)"}
    return examples.get(kind, f"{word}(...)")
