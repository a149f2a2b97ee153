"""The pattern DSL: a whole network on one line, as the cs231n notes write it.

    INPUT[32x32x3] -> [[CONV3-32 -> RELU]*N -> POOL?]*M -> [FC-128 -> RELU]*K -> FC-10

Grammar (whitespace is ignored; `->` may also be written `→`):

    pattern : chain EOF
    chain   : item ("->" item)*
    item    : atom ("*" count | "?")*          at most MAX_POSTFIX operators per item
    atom    : layer | "[" chain "]"            at most MAX_NESTING brackets deep
    layer   : WORD [size] ["-" INT] [args]     CONV3-64, POOL2, FC-4096, RELU, CONV(k=3, f=64)
            | "INPUT" ["[" DIMS "]"]           INPUT[224x224x3]
    args    : "(" [arg ("," arg)*] ")"
    arg     : [NAME "="] value
    value   : NUMBER | NAME | DIMS | "(" value ("," value)+ ")"
    count   : INT | NAME

The text becomes an AST of frozen nodes (`Layer`, `Group`, `Repeat`, `Optional`, `Chain`) whose
spans point into the text; `format_pattern` prints an AST back. `expand` turns an AST plus variable
bindings into the very `LayerSpec`/`RepeatSpec` items a YAML `layers:` list gives, built through
`spec.SpecBuilder`, so every later stage sees no difference. See docs/pattern.md.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from cnncalc.errors import CnnCalcError, LimitError, Location, ParseError, SpecError, UsageError
from cnncalc.layers import KINDS
from cnncalc.limits import MAX_LAYERS, MAX_REPEAT
from cnncalc.shapes import Shape
from cnncalc.spec import (
    Item,
    LayerSpec,
    RepeatSpec,
    Spec,
    SpecBuilder,
    parse_convention,
    parse_defaults,
    parse_input,
)
from cnncalc.yamlsource import YNode

#: How deep brackets may nest, and how many `*`/`?` one item may carry (documented in docs/pattern.md).
MAX_NESTING = 32
MAX_POSTFIX = 4
#: Digits in one number: anything longer is certainly a mistake, and int() of huge strings is slow.
MAX_DIGITS = 30

INPUT_WORD = "INPUT"
#: Layer words: every one-input kind and alias, upper-cased (CONV, POOL, FC, RELU, BN, DROPOUT, ...);
#: merges (add, concat) need branches, which a chain cannot express.
LAYER_WORDS: dict[str, str] = {word.upper(): kind.name for word, kind in KINDS.items() if kind.arity == 1}
#: The words the cs231n notes use, offered first when a word is misspelt.
CORE_WORDS = ("INPUT", "CONV", "POOL", "FC", "RELU", "SIGMOID", "TANH", "SOFTMAX", "BN", "DROPOUT", "FLATTEN")
#: Short argument names: CONV(k=3, f=64, s=1, p=same).
ARG_ALIASES = {"k": "kernel", "f": "filters", "s": "stride", "p": "padding", "d": "dilation", "g": "groups"}
#: The setting a lone positional argument gives: CONV(64), FC(1000), POOL(3), DROPOUT(0.5).
POSITIONAL = {"conv": "filters", "conv1d": "filters", "conv2d": "filters", "conv3d": "filters"}
#: Words an argument value may be without being a variable.
LITERAL_WORDS = frozenset({"same", "valid", "max", "avg", "true", "false", "yes", "no", "on", "off"})
#: Settings of plain CONV and POOL when nothing else gives them (cs231n: 3x3 stride 1 size-preserving
#: convs; 2x2 max pools, whose stride defaults to the window). Filters and FC units have no default.
BUILTIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "conv": {"kernel": 3, "stride": 1, "padding": "same"},
    "pool": {"kernel": 2},
}
#: Which layer words accept a glued size (CONV3, POOL2) and a "-N" count (CONV3-64, FC-4096).
SIZE_KEY = {"conv": "kernel", "conv1d": "kernel", "conv2d": "kernel", "conv3d": "kernel", "pool": "kernel"}
COUNT_KEY = {"conv": "filters", "conv1d": "filters", "conv2d": "filters", "conv3d": "filters", "fc": "units"}


# ---------------------------------------------------------------------------------------------
# positions


@dataclass(frozen=True, slots=True)
class Locator:
    """Maps an offset in the pattern text to a `Location` in the file (or command line) it came from.

    `segments` are (offset in the pattern, line, column) where each source line's part begins.
    """

    path: str
    segments: tuple[tuple[int, int, int], ...]

    def at(self, offset: int, width: int = 1) -> Location:
        start, line, col = self.segments[0]
        for seg in self.segments:
            if seg[0] <= offset:
                start, line, col = seg
        return Location(self.path, line, col).shifted(offset - start, max(width, 1))

    @classmethod
    def for_text(cls, path: str, text: str) -> Locator:
        segments, offset = [], 0
        for number, line in enumerate(text.split("\n"), start=1):
            segments.append((offset, number, 1))
            offset += len(line) + 1
        return cls(path, tuple(segments))

    @classmethod
    def for_scalar(cls, node: YNode, source: str | None) -> Locator:
        """Positions inside a YAML scalar: exact for one-line plain or quoted scalars; for block and
        folded scalars, each source line is matched against the scalar's text."""
        loc, value = node.loc, node.text
        if loc.end_line == loc.line and loc.end_col is not None and "\n" not in value:
            quoted = (loc.end_col - loc.col) == len(value) + 2
            return cls(loc.path, ((0, loc.line, loc.col + quoted),))
        if source is None:
            return cls(loc.path, ((0, loc.line, loc.col),))
        return cls(loc.path, _scalar_segments(node, source) or ((0, loc.line, loc.col),))


def _scalar_segments(node: YNode, source: str) -> tuple[tuple[int, int, int], ...]:
    loc, value = node.loc, node.text
    lines = source.splitlines()
    segments, cursor = [], 0
    for index in range(loc.line - 1, len(lines)):
        start = loc.col - 1 if index == loc.line - 1 else 0
        part = lines[index][start:]
        stripped = part.lstrip()
        col = start + len(part) - len(stripped) + 1
        if index == loc.line - 1 and stripped[:1] in ("|", ">"):
            continue
        if index == loc.line - 1 and stripped[:1] in ("'", '"'):
            stripped, col = stripped[1:], col + 1
        while cursor < len(value) and value[cursor].isspace():
            cursor += 1
        common = 0
        while common < min(len(stripped), len(value) - cursor) and stripped[common] == value[cursor + common]:
            common += 1
        if common:
            segments.append((cursor, index + 1, col))
            cursor += common
        if cursor >= len(value.rstrip()):
            break
    return tuple(segments)


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
# tokens


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    start: int
    end: int


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      |(?P<arrow>->|→)
      |(?P<dims>\d+(?:[xX]\d+)+)
      |(?P<number>\d+\.\d+|\.\d+|\d+)
      |(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:-\d+)?)
      |(?P<punct>[\[\]()*?,=])""",
    re.VERBOSE,
)

_CHARACTER_HINTS = {
    "-": "arrows are written '->'",
    ">": "arrows are written '->'",
    "{": "group layers with '[' and ']'",
    "}": "group layers with '[' and ']'",
    "x": "sizes are written like INPUT[224x224x3] or CONV(k=3x3)",
    ";": "separate layers with '->'",
    "|": "separate layers with '->'",
}


def _describe(token: Token) -> str:
    if token.kind == "eof":
        return "the end of the pattern"
    return f"'{token.text}'"


class _Parser:
    def __init__(self, text: str, locator: Locator):
        self.text = text
        self.locator = locator
        self.tokens = self._tokenize()
        self.pos = 0

    # errors -----------------------------------------------------------------------------------

    def loc(self, start: int, end: int | None = None) -> Location:
        return self.locator.at(start, (end if end is not None else start + 1) - start)

    def fail(self, message: str, token: Token, hint: str = "", code: str = "CNN111") -> ParseError:
        return ParseError(message, self.loc(token.start, max(token.end, token.start + 1)), hint=hint, code=code)

    def where(self, offset: int) -> str:
        here = self.locator.at(offset)
        first = self.locator.at(0)
        return f"column {here.col}" if here.line == first.line else f"line {here.line}, column {here.col}"

    # tokens -----------------------------------------------------------------------------------

    def _tokenize(self) -> list[Token]:
        tokens, pos, text = [], 0, self.text
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None:
                char = text[pos]
                raise ParseError(f"unexpected character {char!r} in the pattern", self.loc(pos),
                                 hint=_CHARACTER_HINTS.get(char, "a pattern holds layer words, '->', '[', ']', "
                                                            "'*', '?' and (arguments)"), code="CNN110")
            kind = match.lastgroup
            if kind != "ws":
                value = match.group()
                # punctuation is its own kind, so the rules can say `kind == "["`
                tokens.append(Token(value if kind == "punct" else kind, value, pos, match.end()))
            pos = match.end()
        tokens.append(Token("eof", "", len(text), len(text)))
        return tokens

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.pos += 1
        return token

    def integer(self, token: Token) -> int:
        if len(token.text) > MAX_DIGITS:
            raise ParseError(f"the number {token.text[:12]}... has {len(token.text)} digits", self.loc(token.start,
                             token.end), hint="use a realistic value", code="CNN115")
        return int(token.text)

    # rules ------------------------------------------------------------------------------------

    def pattern(self) -> Chain:
        if self.peek().kind == "eof":
            raise self.fail("the pattern is empty", self.peek(), hint="write layers such as 'INPUT -> CONV3-16 -> RELU "
                            "-> FC-10'", code="CNN111")
        return self.chain(0, None)

    def chain(self, depth: int, opener: Token | None) -> Chain:
        start = self.peek().start
        items = [self.item(depth)]
        while True:
            token = self.peek()
            if token.kind == "arrow":
                self.advance()
                items.append(self.item(depth))
                continue
            if token.kind == "]":
                if opener is None:
                    raise self.fail("unmatched ']': no '[' is open here", token,
                                    hint="remove this ']', or add the '[' it should close", code="CNN112")
                return Chain(tuple(items), (start, token.start))
            if token.kind == "eof":
                if opener is not None:
                    raise self.fail(f"expected ']' to close '[' opened at {self.where(opener.start)}", token,
                                    hint="add the missing ']' (and '*N' if the group repeats)", code="CNN112")
                return Chain(tuple(items), (start, token.start))
            expected = "'->' or ']'" if opener is not None else "'->'"
            hint = "put '->' between two layers"
            if token.kind in ("*", "?"):
                hint = "'*' and '?' follow a layer or a ']' directly"
            raise self.fail(f"expected {expected}, found {_describe(token)}", token, hint=hint)

    def item(self, depth: int) -> Node:
        node = self.atom(depth)
        postfixes = 0
        while self.peek().kind in ("*", "?"):
            operator = self.advance()
            postfixes += 1
            if postfixes > MAX_POSTFIX:
                raise LimitError(f"more than {MAX_POSTFIX} '*'/'?' operators on one item", self.loc(operator.start),
                                 hint="group the item with '[' ']' instead", code="CNN121")
            if operator.kind == "?":
                if isinstance(node, Optional):
                    raise self.fail("'?' is given twice", operator, hint="one '?' makes an item optional",
                                    code="CNN111")
                node = Optional(node, (operator.start, operator.end))
            else:
                node = self.repeat(node, operator)
        return node

    def repeat(self, body: Node, star: Token) -> Repeat:
        token = self.advance()
        if token.kind == "number" and token.text.isdigit():
            times = self.integer(token)
            if times > MAX_REPEAT:
                raise LimitError(f"the repeat count {times:,} is larger than the limit of {MAX_REPEAT:,}",
                                 self.loc(token.start, token.end), hint="use a smaller count", code="CNN115")
            return Repeat(body, times, (token.start, token.end))
        if token.kind == "name" and "-" not in token.text:
            if token.text.upper() in LAYER_WORDS or token.text.upper() == INPUT_WORD:
                raise self.fail(f"'{token.text}' is a layer, not a repeat count", token,
                                hint="write '[A -> B]*N' to repeat a group; '->' joins layers", code="CNN111")
            return Repeat(body, token.text, (token.start, token.end))
        if token.kind == "number":
            raise self.fail(f"a repeat count is a whole number, not {token.text}", token, code="CNN115")
        raise self.fail(f"expected a repeat count after '*', found {_describe(token)}", token,
                        hint="write a whole number or a variable, e.g. '*3' or '*N'")

    def atom(self, depth: int) -> Node:
        token = self.peek()
        if token.kind == "[":
            if depth >= MAX_NESTING:
                raise LimitError(f"the pattern nests brackets more than {MAX_NESTING} deep", self.loc(token.start),
                                 hint="flatten the pattern; real networks need a few levels", code="CNN121")
            self.advance()
            if self.peek().kind == "]":
                raise self.fail("empty brackets: a group needs at least one layer", self.peek(), code="CNN111")
            body = self.chain(depth + 1, token)
            close = self.advance()
            return Group(body, (token.start, close.end))
        if token.kind == "name":
            return self.layer()
        if token.kind == "eof":
            raise self.fail("expected a layer, found the end of the pattern", token,
                            hint="remove the trailing '->', or add the last layer", code="CNN111")
        if token.kind == "arrow":
            raise self.fail("expected a layer before '->'", token, hint="there is an extra '->' here")
        if token.kind == "]":
            raise self.fail("expected a layer, found ']'", token, hint="remove the '->' before ']'")
        raise self.fail(f"expected a layer or '[', found {_describe(token)}", token,
                        hint="a layer is a word such as CONV3-64, POOL2, RELU or FC-10")

    def layer(self) -> Layer:
        token = self.advance()
        word, size, count, spans = self.split_word(token)
        dims, dims_span = None, (0, 0)
        if word == INPUT_WORD and self.peek().kind == "[" and self.peek(1).kind in ("dims", "number"):
            self.advance()
            size_token = self.advance()
            dims = tuple(self.integer(Token("number", part, size_token.start, size_token.end))
                         for part in size_token.text.lower().split("x"))
            dims_span = (size_token.start, size_token.end)
            close = self.advance()
            if close.kind != "]":
                raise self.fail(f"expected ']' after the input size, found {_describe(close)}", close, code="CNN112")
        args = self.args(word) if self.peek().kind == "(" else None
        end = self.tokens[self.pos - 1].end
        return Layer(word, size, count, args, dims, (token.start, end), spans[0], spans[1], dims_span)

    def split_word(self, token: Token) -> tuple[str, int | None, int | None, tuple]:
        base, dash, count_text = token.text.partition("-")
        count_span = (token.start + len(base) + 1, token.end) if dash else (0, 0)
        word, size, size_span = base.upper(), None, (0, 0)
        if word not in LAYER_WORDS and word != INPUT_WORD:
            match = re.fullmatch(r"(.*?[A-Za-z_])(\d+)", base)
            if match and match[1].upper() in LAYER_WORDS:
                word = match[1].upper()
                size = self.integer(Token("number", match[2], token.start + len(match[1]), token.start + len(base)))
                size_span = (token.start + len(match[1]), token.start + len(base))
            else:
                raise self.unknown_word(base, token)
        kind = LAYER_WORDS.get(word)
        if size is not None and kind not in SIZE_KEY:
            raise ParseError(f"{word} takes no window size", self.loc(*size_span),
                             hint=f"write {word}" + ("-N for N units" if kind in COUNT_KEY else ""), code="CNN117")
        count = None
        if dash:
            if kind not in COUNT_KEY:
                raise ParseError(f"{word} takes no '-N' count", self.loc(*count_span),
                                 hint="only CONV (filters) and FC (units) take one: CONV3-64, FC-4096", code="CNN117")
            count = self.integer(Token("number", count_text, *count_span))
        return word, size, count, (size_span, count_span)

    def unknown_word(self, base: str, token: Token) -> SpecError:
        """An unknown layer is an invalid model (exit 1), as in a YAML spec; the text itself parsed."""
        stem = re.sub(r"\d+$", "", base).upper() or base.upper()
        words = list(CORE_WORDS) + sorted(set(LAYER_WORDS) - set(CORE_WORDS))
        close = difflib.get_close_matches(stem, words, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        return SpecError(f"unknown layer '{base}'", self.loc(token.start, token.start + len(base)),
                          hint=hint + "layers: " + ", ".join(CORE_WORDS) + " (and any cnncalc layer type)",
                          code="CNN113")

    def args(self, word: str) -> tuple[Arg, ...]:
        opener = self.advance()
        if word == INPUT_WORD:
            raise self.fail("INPUT takes its size in brackets, not arguments", opener,
                            hint="write INPUT[224x224x3]", code="CNN118")
        args: list[Arg] = []
        if self.peek().kind == ")":
            self.advance()
            return ()
        while True:
            args.append(self.arg())
            token = self.advance()
            if token.kind == ")":
                return tuple(args)
            if token.kind == "eof":
                raise self.fail(f"expected ')' to close '(' opened at {self.where(opener.start)}", token,
                                code="CNN112")
            if token.kind != ",":
                raise self.fail(f"expected ',' or ')', found {_describe(token)}", token,
                                hint="separate arguments with ','")

    def arg(self) -> Arg:
        first = self.peek()
        key = None
        if first.kind == "name" and self.peek(1).kind == "=":
            if "-" in first.text:
                raise self.fail(f"'{first.text}' is not a setting name", first, code="CNN116")
            key = first.text
            self.advance()
            self.advance()
        value_start = self.peek().start
        value = self.value(nested=False)
        end = self.tokens[self.pos - 1].end
        return Arg(key, value, (first.start, end), (value_start, end))

    def value(self, nested: bool) -> Value:
        token = self.advance()
        if token.kind == "number":
            if token.text.isdigit():
                return Num(self.integer(token))
            return Num(float(token.text))
        if token.kind == "dims":
            return Tup(tuple(Num(self.integer(Token("number", p, token.start, token.end)))
                             for p in token.text.lower().split("x")))
        if token.kind == "name" and "-" not in token.text:
            return Word(token.text)
        if token.kind == "(" and not nested:
            items = [self.value(nested=True)]
            while self.peek().kind == ",":
                self.advance()
                items.append(self.value(nested=True))
            close = self.advance()
            if close.kind != ")":
                raise self.fail(f"expected ',' or ')' in the list of values, found {_describe(close)}", close)
            if len(items) < 2:
                raise self.fail("a list of values needs two or more values", close,
                                hint="write the single value without parentheses")
            return Tup(tuple(items))
        if token.kind == "(":
            raise self.fail("lists of values do not nest", token, code="CNN111")
        if token.kind in (",", ")"):
            raise self.fail(f"expected a value, found {_describe(token)}", token,
                            hint="remove the extra ',' or give the value")
        raise self.fail(f"expected a value, found {_describe(token)}", token,
                        hint="a value is a number, a word such as same/avg, a variable, or (a, b)")


def parse(text: str, locator: Locator | None = None) -> Chain:
    """The AST of a pattern; a located `CnnCalcError` if it is malformed."""
    return _Parser(text, locator or Locator.for_text("<pattern>", text)).pattern()


def parse_layer_token(text: str, locator: Locator) -> Layer:
    """One layer with arguments, as `--set 'CONV(f=32)'` gives per-token defaults."""
    chain = parse(text, locator)
    if len(chain.items) != 1 or not isinstance(chain.items[0], Layer) or chain.items[0].word == INPUT_WORD:
        raise ParseError("expected one layer word with its settings, e.g. CONV(f=32, k=3)", locator.at(0, len(text)),
                         code="CNN119")
    return chain.items[0]


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


def variable_names(chain: Chain) -> dict[str, str]:
    """Every name a binding may set, and what it does: 'repeat count', 'setting', 'switch'."""
    names: dict[str, str] = {}
    for node in walk(chain):
        if isinstance(node, Repeat) and isinstance(node.times, str):
            names[node.times] = "repeat count"
        elif isinstance(node, Layer):
            for arg in node.args or ():
                for value in _values(arg.value):
                    if isinstance(value, Word) and is_variable_word(value.name):
                        names.setdefault(value.name, "setting")
    for index, node in enumerate(optionals(chain), start=1):
        names[f"OPT{index}"] = "switch"
        word = switch_word(node)
        if word is not None:
            names.setdefault(word, "switch")
    return names


def is_variable_word(name: str) -> bool:
    """In arguments an upper-case word is a variable (F, WIDTH); other words are values (same, avg)."""
    return name == name.upper() and name.lower() not in LITERAL_WORDS


def _values(value: Value):
    if isinstance(value, Tup):
        for item in value.items:
            yield from _values(item)
    else:
        yield value


def layer_count(chain: Chain, bindings: Mapping[str, int]) -> int:
    """Layers the pattern expands to (INPUT excluded), from the product formula, without expanding.

    Unbound repeat counts count as 0 (`expand` reports them); switches as `expand` decides them.
    """
    on = _switches(chain, bindings)

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


def _switches(chain: Chain, bindings: Mapping[str, int]) -> dict[int, bool]:
    """Whether each '?' (by its offset) is on: OPTk first, then its word, else on."""
    result = {}
    for index, node in enumerate(optionals(chain), start=1):
        word = switch_word(node)
        value = bindings.get(f"OPT{index}", bindings.get(word, 1) if word else 1)
        result[node.span[0]] = bool(value)
    return result


# ---------------------------------------------------------------------------------------------
# expansion into spec items


@dataclass(frozen=True, slots=True)
class Binding:
    """A variable's value(s): one for `analyze`/`expand`, several for `sweep` (`-D N=0..3`)."""

    name: str
    values: tuple[int, ...]
    loc: Location
    #: given on the command line (-D): its mistakes are usage errors (exit 2), not spec errors
    usage: bool = False

    def error(self, message: str, hint: str, code: str = "CNN119") -> CnnCalcError:
        return (UsageError if self.usage else SpecError)(message, self.loc, hint=hint, code=code)


_BINDING = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_SWITCH_WORDS = {"on": 1, "off": 0, "true": 1, "false": 0, "yes": 1, "no": 0}
#: The most values one binding may take in a sweep.
MAX_RANGE = 1000


def parse_values(text: str, loc: Location, name: str) -> tuple[int, ...]:
    """`2`, `0..3` (inclusive), `1,2,4`, or on/off/true/false for switches."""
    word = text.strip().lower()
    if word in _SWITCH_WORDS:
        return (_SWITCH_WORDS[word],)
    values: list[int] = []
    for part in word.split(","):
        low, dots, high = part.partition("..")
        try:
            first = int(low) if len(low.strip()) <= MAX_DIGITS else None
            last = int(high) if dots and len(high.strip()) <= MAX_DIGITS else first
        except ValueError:
            first = last = None
        if first is None or last is None or first < 0 or last < first:
            raise SpecError(f"cannot read the value {text.strip()!r} of {name}", loc,
                            hint="write a whole number (N=2), an inclusive range (N=0..3), a list (N=1,2,4) "
                            "or on/off", code="CNN119")
        if last - first + 1 > MAX_RANGE:
            raise LimitError(f"the range {part.strip()} of {name} has more than {MAX_RANGE:,} values", loc,
                             hint="sweep a smaller range", code="CNN123")
        values.extend(range(first, last + 1))
    return tuple(dict.fromkeys(values))


def parse_define(text: str, index: int = 1) -> Binding:
    """A command-line `-D NAME=VALUE`."""
    loc = Location(f"-D #{index}", 1, 1, 1, 1 + max(len(text), 1))
    match = _BINDING.match(text)
    if match is None:
        raise UsageError(f"cannot read the definition {text!r}", loc,
                         hint="write -D NAME=VALUE, e.g. -D N=2 or -D N=0..3 or -D POOL=0", code="CNN119")
    try:
        values = parse_values(match[2], loc, match[1])
    except SpecError as error:
        raise UsageError(error.message, loc, hint=error.hint, code=error.code) from None
    return Binding(match[1], values, loc, usage=True)


def yaml_bindings(node: YNode | None) -> dict[str, Binding]:
    """`vars: {N: 2, M: 1..3, POOL: off}` from a YAML spec."""
    if node is None or node.value is None:
        return {}
    if not node.is_mapping:
        raise SpecError("vars must be a mapping of names to values", node.loc, hint="write vars: {N: 2, M: 3}",
                        code="CNN122")
    result = {}
    for name, value in node.value.items():
        if not value.is_scalar or value.value is None:
            raise SpecError(f"the value of {name} must be a number, a range or on/off", value.loc, code="CNN119")
        text = value.text if not isinstance(value.value, bool) else ("on" if value.value else "off")
        result[name] = Binding(name, parse_values(text, value.loc, name), value.loc)
    return result


@dataclass(frozen=True, slots=True)
class PatternSource:
    """A parsed pattern and everything needed to turn it into a `Spec` for given bindings."""

    text: str
    ast: Chain
    locator: Locator
    name: str
    path: str
    #: the input size given outside the pattern (--input or YAML `input:`), if any
    input: Shape | None
    input_loc: Location
    #: kind name -> settings (built-in, YAML `defaults:`, per-token keys, --set; later ones win)
    defaults: dict[str, dict[str, Any]]
    bindings: dict[str, Binding]
    #: the spec's own `convention:` (YAML only)
    convention: str | None = None

    def with_bindings(self, bindings: Mapping[str, Binding]) -> PatternSource:
        """These bindings over the source's own (`-D` overrides `vars:`); names the pattern does not use
        are refused, with the nearest used name."""
        names = variable_names(self.ast)
        for binding in bindings.values():
            if binding.name not in names:
                same_case = [n for n in names if n.lower() == binding.name.lower()]
                close = same_case or difflib.get_close_matches(binding.name, list(names), n=1, cutoff=0.5)
                used = ", ".join(sorted(names)) or "none"
                raise binding.error(f"the pattern has no variable or switch '{binding.name}'",
                                    hint=(f"did you mean {close[0]}? " if close else "") + f"its names: {used}")
        merged = dict(self.bindings)
        merged.update(bindings)
        return _replace(self, bindings=merged)

    def with_settings(self, settings: list[str] | tuple[str, ...]) -> PatternSource:
        """`--set 'CONV(f=32)'` over every other default."""
        return _replace(self, defaults=_merge(self.defaults, token_defaults(list(settings))))

    def check_bound(self) -> None:
        """Refuse a repeat count or setting variable that no binding gives (before a sweep starts)."""
        for node in walk(self.ast):
            if isinstance(node, Repeat) and isinstance(node.times, str) and node.times not in self.bindings:
                _Expander(self, {}).times(node)
            if isinstance(node, Layer):
                for arg in node.args or ():
                    for value in _values(arg.value):
                        if isinstance(value, Word) and is_variable_word(value.name) and value.name not in self.bindings:
                            _LayerArgs(self.locator.at, {}).ynode(value, self.locator.at(*_width(arg.value_span)))

    def variants(self) -> list[dict[str, int]]:
        """Every combination of the bound values, in binding order (the last name varies fastest)."""
        combos: list[dict[str, int]] = [{}]
        for binding in self.bindings.values():
            combos = [{**c, binding.name: v} for c in combos for v in binding.values]
        return combos

    def spec(self, values: Mapping[str, int] | None = None) -> Spec:
        """The spec for single values of every binding (or the given ones, for one sweep variant)."""
        if values is None:
            values = {}
            for binding in self.bindings.values():
                if len(binding.values) != 1:
                    raise binding.error(f"{binding.name} has {len(binding.values)} values here",
                                        hint="give one value, or use `cnncalc sweep` to try each")
                values[binding.name] = binding.values[0]
        return _Expander(self, values).spec()


def _replace(source: PatternSource, **changes: Any) -> PatternSource:
    from dataclasses import replace

    return replace(source, **changes)


class _Expander:
    def __init__(self, source: PatternSource, values: Mapping[str, int]):
        self.source = source
        self.values = dict(values)
        self.at = source.locator.at
        self.builder = SpecBuilder(source.path, source.defaults)
        self.switches = _switches(source.ast, self.values)
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
                    raise SpecError("INPUT can only be the first item of the pattern", self.at(*_width(node.span)),
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
                raise SpecError("INPUT can only be the first item of the pattern", self.at(*_width(node.span)),
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
        loc = self.at(*_width(node.span))
        return [RepeatSpec(times, tuple(body), loc)], times * count

    def times(self, node: Repeat) -> int:
        if isinstance(node.times, int):
            return node.times
        loc = self.at(*_width(node.span))
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
            raise LimitError(f"the pattern expands to more than {MAX_LAYERS:,} layers", self.at(*_width(node.span)),
                             hint="lower the repeat counts", code="CNN120")

    # one layer ------------------------------------------------------------------------------------

    def layer(self, node: Layer) -> LayerSpec:
        kind = KINDS[LAYER_WORDS[node.word]]
        loc = self.at(*_width(node.span))
        args = _LayerArgs(self.at, self.values).mapping(node, loc)
        try:
            return self.builder.layer(node.word, loc, args)
        except SpecError as error:
            if error.code == "CNN105":
                error.hint = (f"write e.g. {_example(node.word, kind.name)}, pass --set '{node.word}(...)', "
                              f"or give `{node.word}: {{...}}` in a YAML spec")
            raise


class _LayerArgs:
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
                raise SpecError(f"{node.word} is given '{key}' twice", self.at(*_width(arg.span)),
                                hint="give each setting once", code="CNN116")
            written.add(key)
            values[key] = self.ynode(arg.value, self.at(*_width(arg.value_span)))
        if not values:
            return None
        return YNode(values, loc, key_locs={key: value.loc for key, value in values.items()})

    def shorthand(self, node: Layer, kind: str) -> list[tuple[str, YNode, bool]]:
        """CONV3-64 = kernel 3, 64 filters, stride 1, padding 1; POOL2 = kernel 2; FC-4096 = 4096 units.

        The window and the count are written ("hard"); a conv's stride and padding are implied and
        an explicit argument may change them."""
        result = []
        if node.size is not None:
            loc = self.at(*_width(node.size_span))
            result.append((SIZE_KEY[kind], YNode(node.size, loc, str(node.size)), True))
            if kind.startswith("conv"):
                pad: Any = (node.size - 1) // 2 if node.size % 2 else "same"
                result.append(("stride", YNode(1, loc, "1"), False))
                result.append(("padding", YNode(pad, loc, str(pad)), False))
        if node.count is not None:
            loc = self.at(*_width(node.count_span))
            result.append((COUNT_KEY[kind], YNode(node.count, loc, str(node.count)), True))
        return result

    def arg_key(self, node: Layer, kind, arg: Arg, position: int) -> str:
        loc = self.at(*_width(arg.span))
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
            return YNode(_SWITCH_WORDS[word] == 1 if word in _SWITCH_WORDS else word, loc, value.name)
        close = difflib.get_close_matches(word, sorted(LITERAL_WORDS), n=1, cutoff=0.6)
        raise SpecError(f"unbound variable {value.name}", loc,
                        hint=(f"did you mean '{close[0]}'? " if close else "") + f"bind it with -D {value.name}=... "
                        "(or vars: in a YAML spec)", code="CNN114")


def _width(span: tuple[int, int]) -> tuple[int, int]:
    """(offset, width) for `Locator.at`."""
    return span[0], max(span[1] - span[0], 1)


def _settings_help(kind) -> str:
    aliases = {full: short for short, full in ARG_ALIASES.items()}
    names = [f"{aliases[p.name]}/{p.name}" if p.name in aliases else p.name for p in kind.params]
    return f"settings: {', '.join(names)}" if names else "it takes no settings"


def _example(word: str, kind: str) -> str:
    examples = {"conv": f"{word}3-64 or {word}(f=64)", "fc": f"{word}-10 or {word}(10)"}
    return examples.get(kind, f"{word}(...)")


# ---------------------------------------------------------------------------------------------
# sources: a command line or a YAML spec


def _settings_node(layer: Layer, locator: Locator) -> YNode:
    """--set 'CONV(f=32, k=3)' as the YAML mapping {filters: 32, kernel: 3}."""
    return _LayerArgs(locator.at, {}).mapping(layer, locator.at(0)) or YNode({}, locator.at(0))


def token_defaults(settings: list[str]) -> dict[str, dict[str, Any]]:
    """Per-token defaults from `--set` options."""
    result: dict[str, dict[str, Any]] = {}
    for index, text in enumerate(settings, start=1):
        locator = Locator.for_text(f"--set #{index}", text)
        layer = parse_layer_token(text, locator)
        node = YNode({layer.word: _settings_node(layer, locator)}, locator.at(0),
                     key_locs={layer.word: locator.at(0, len(layer.word))})
        for kind, values in parse_defaults(node).items():
            result.setdefault(kind, {}).update(values)
    return result


def _merge(*layers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for kind, values in layer.items():
            result.setdefault(kind, {}).update(values)
    return result


def _compact(text: str) -> str:
    return " ".join(text.split())


def from_text(
    text: str,
    *,
    input: str | None = None,
    settings: list[str] | tuple[str, ...] = (),
    defines: list[str] | tuple[str, ...] = (),
    path: str = "<pattern>",
    name: str | None = None,
) -> PatternSource:
    """A pattern from the command line: `--pattern`, `--input`, `--set`, `-D`."""
    locator = Locator.for_text(path, text)
    ast = parse(text, locator)
    shape, input_loc = None, Location(path, 1, 1)
    if input is not None:
        input_loc = Location("--input", 1, 1, 1, 1 + len(input))
        shape = parse_input(YNode(input, input_loc, input))
    source = PatternSource(text, ast, locator, name or _compact(text), path, shape, input_loc,
                           dict(BUILTIN_DEFAULTS), {})
    return source.with_settings(settings).with_bindings(parse_defines(defines))


def parse_defines(defines: list[str] | tuple[str, ...]) -> dict[str, Binding]:
    result: dict[str, Binding] = {}
    for index, text in enumerate(defines, start=1):
        binding = parse_define(text, index)
        result[binding.name] = binding
    return result


PATTERN_KEYS = ("name", "description", "convention", "input", "defaults", "pattern", "vars")


def from_yaml(root: YNode, path: str, source: str | None = None) -> PatternSource:
    """A YAML spec with `pattern:` (and `vars:`, per-token defaults such as `CONV: {filters: 32}`)."""
    fields = root.value
    if "layers" in fields:
        raise SpecError("the spec gives both `layers:` and `pattern:`", root.key_locs["layers"],
                        hint="keep one: `pattern:` expands into the layers", code="CNN122")
    token_keys = {}
    for key in fields:
        if key in PATTERN_KEYS:
            continue
        if key.upper() in LAYER_WORDS:
            token_keys[key] = fields[key]
            continue
        words = list(PATTERN_KEYS) + list(CORE_WORDS[1:])
        close = difflib.get_close_matches(key, words, n=1, cutoff=0.6) or difflib.get_close_matches(
            key.upper(), words, n=1, cutoff=0.6)
        raise SpecError(f"unknown key '{key}' in a pattern spec", root.key_locs[key],
                        hint=(f"did you mean '{close[0]}'? " if close else "") + "allowed: "
                        + ", ".join(PATTERN_KEYS) + ", and layer words with their default settings (CONV: {...})",
                        code="CNN102")
    node = fields["pattern"]
    if not node.is_scalar or not isinstance(node.value, str) or not node.text.strip():
        raise SpecError("`pattern:` must be the pattern text", node.loc,
                        hint='write pattern: "INPUT -> [CONV3-32 -> RELU]*2 -> POOL2 -> FC-10"', code="CNN122")
    locator = Locator.for_scalar(node, source)
    ast = parse(node.text, locator)
    for key, value in token_keys.items():
        if not value.is_mapping:
            raise SpecError(f"the defaults for {key} must be a mapping of settings", value.loc,
                            hint=f"write {key}: {{filters: 32, kernel: 3}}", code="CNN122")
    per_token = parse_defaults(YNode(token_keys, root.loc, key_locs={k: root.key_locs[k] for k in token_keys}))
    shape, input_loc = None, root.loc
    if "input" in fields:
        shape, input_loc = parse_input(fields["input"]), fields["input"].loc
    name_node = fields.get("name")
    name = name_node.text if name_node is not None and name_node.text else path
    defaults = _merge(BUILTIN_DEFAULTS, parse_defaults(fields.get("defaults")), per_token)
    convention = parse_convention(fields["convention"]) if "convention" in fields else None
    empty = PatternSource(node.text, ast, locator, name, path, shape, input_loc, defaults, {}, convention)
    return empty.with_bindings(yaml_bindings(fields.get("vars")))


def spec_from_yaml(root: YNode, path: str, source: str | None = None) -> Spec:
    """What `spec.parse_spec` returns for a YAML spec with `pattern:`."""
    return from_yaml(root, path, source).spec()


__all__ = [
    "Arg", "Binding", "Chain", "CnnCalcError", "Group", "Layer", "Locator", "MAX_NESTING", "MAX_POSTFIX", "Num",
    "Optional", "PatternSource", "Repeat", "Tup", "Word", "format_pattern", "from_text", "from_yaml", "layer_count",
    "parse", "spec_from_yaml", "variable_names",
]
