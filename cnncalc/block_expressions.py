"""The arithmetic of block expressions: `4 * $width`, `$in.channels // 4`,
`make_divisible($in.channels * 0.25, 8)`.

An expression is whole-number arithmetic (`+ - * / // ( )`, `/` only where it divides exactly) of
numbers, `$param`s and the fields of `$in`, the tensor entering the block use:

| field | value |
|---|---|
| `$in.channels` | its channels (a vector's units) |
| `$in.height`, `$in.width` | an image's or a volume's height and width |
| `$in.depth` | a volume's depth |
| `$in.length` | a sequence's length |
| `$in.size` | the side of a square map (every spatial axis alike) |

and three integer helpers: `max(a, b, ...)`, `min(a, b, ...)` and `make_divisible(v, divisor[, min_value])`,
torchvision's `_make_divisible` (torchvision/models/_utils.py), the rounding of MobileNet and EfficientNet
widths. Its first argument is the one place a fraction may appear (`make_divisible($in.channels * 0.25, 8)`,
`make_divisible(16 * 1.0, 8)`, a float argument such as `$ratio: 0.25`): it is computed with Python's
floats exactly as torchvision computes it, and the result is a whole number again. Everywhere else a
fraction is an error, so sizes stay exact.

Every value read or computed stays within +-10^18 (cnncalc's limit for block arithmetic).
"""

from __future__ import annotations

import math
from functools import lru_cache

from cnncalc.errors import LimitError, Location, SpecError
from cnncalc.limits import MAX_EXPRESSION_VALUE
from cnncalc.patterns import LazyPattern
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    Tree = tuple  # a parsed expression: see "reading" below

MAX_EXPRESSION = 200
#: the helpers an expression may call, by name.
HELPERS = ("make_divisible", "max", "min")
#: the binary operators of block arithmetic, as the tags of their tree nodes.
BINARY = ("+", "-", "*", "//", "/")
#: `$name` or `$in.field`; the field is read only after `$in`. (`references` finds its matches without
#: compiling it: most runs have no block arithmetic, and those that have need no `re` for it.)
REFERENCE = LazyPattern(r"\$([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?")
_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_WORD = _WORD_START | frozenset("0123456789")
#: the name of the tensor entering a block use, in `$in.channels`.
INPUT = "in"
#: the fields of `$in` by the number of spatial axes of the input (a vector has none).
_AXES = {0: (), 1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
FIELDS = ("channels", "height", "width", "depth", "length", "size")
_INPUT_FIELD_HINT = "write $in.channels, $in.height, $in.width (an image), $in.length (a sequence), " \
                    "$in.depth (a volume) or $in.size (a square map)"


def references(text: str):
    """(start, end, name, field or None) of each `$name` and `$name.field` in `text`, left to right:
    REFERENCE's matches (`finditer`), found by hand."""
    at = text.find("$")
    while at != -1:
        end = _word_end(text, at + 1)
        if end == at + 1:  # a `$` without a name
            at = text.find("$", at + 1)
            continue
        name, field = text[at + 1:end], None
        if text.startswith(".", end) and _word_end(text, end + 1) > end + 1:
            field_end = _word_end(text, end + 1)
            field, end = text[end + 1:field_end], field_end
        yield at, end, name, field
        at = text.find("$", end)


def _word_end(text: str, start: int) -> int:
    """Where the ASCII identifier at `start` ends (`start` itself where none begins)."""
    if start >= len(text) or text[start] not in _WORD_START:
        return start
    end = start + 1
    while end < len(text) and text[end] in _WORD:
        end += 1
    return end


def reads_input(text: str) -> bool:
    """Whether a value's text reads a field of the block use's input (`$in.channels`)."""
    return "$" in text and any(name == INPUT and field for _, _, name, field in references(text))


def describe(shape: Shape) -> str:
    """`$in` for a hint: its dimensions and each field's value."""
    fields = ", ".join(f"{name} {value}" for name, value in input_fields(shape).items())
    return f"here $in is {shape} ({fields})"


def input_fields(shape: Shape) -> dict[str, int]:
    """The fields `$in` has for a tensor of this shape."""
    fields = {"channels": shape.channels}
    fields.update(zip(_AXES.get(shape.rank, ()), shape.spatial))
    if shape.spatial and len(set(shape.spatial)) == 1:
        fields["size"] = shape.spatial[0]
    return fields


def input_field(field: str, shape: Shape | None, loc: Location) -> int:
    """The value of `$in.<field>`; a field the input does not have is a located CNN227 error."""
    if shape is None:
        raise outside_a_block(loc)
    fields = input_fields(shape)
    if field in fields:
        return fields[field]
    if field == "size" and shape.spatial:
        why = f"the input {shape} is not square"
    elif field in FIELDS:
        why = f"the input {shape} has no {field}"
    else:
        why = f"'{field}' is not a field of $in"
    raise SpecError(f"$in.{field}: {why}", loc, code="CNN227",
                    hint=describe(shape) + "; " + _INPUT_FIELD_HINT)


def undefined(name: str, args: dict[str, YNode], loc: Location) -> SpecError:
    from cnncalc.keys import did_you_mean

    known = ", ".join("$" + a for a in args) or "none"
    return SpecError(f"${name} is not a parameter of this block", loc, code="CNN220",
                     hint=did_you_mean(name, tuple(args)) + f"parameters: {known}")


def outside_a_block(loc: Location) -> SpecError:
    return SpecError("$in is the input of a block use; outside a block's layers there is none", loc,
                     code="CNN228", hint="move the layer into a block under `blocks:`, or write the number")


def bare_input(loc: Location) -> SpecError:
    return SpecError("$in alone is not a value: it is the tensor entering the block", loc, code="CNN227",
                     hint=_INPUT_FIELD_HINT)


def make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision's `_make_divisible` (torchvision/models/_utils.py), statement for statement: round `v`
    to the nearest multiple of `divisor`, never below `min_value` (default `divisor`) nor 10% below `v`."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    # Make sure that round down does not go down by more than 10%.
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# ---------------------------------------------------------------------------------------------
# evaluation


def bounded(value, loc: Location):
    """Every value an expression reads or computes stays within +-10^18, so that chained blocks that
    square their arguments stop at once, and no message has to print a number of thousands of digits.
    (A float beyond it, an infinity or a NaN inside make_divisible is refused the same way.)"""
    if -MAX_EXPRESSION_VALUE <= value <= MAX_EXPRESSION_VALUE:
        return value
    raise LimitError("a block expression reaches a value beyond 10^18, cnncalc's limit for block arithmetic", loc,
                     hint="use realistic sizes; the arguments of nested blocks multiply")


class _Evaluator:
    """Walks the parsed expression (a tree of tuples, see "reading" below). `names` maps the placeholder
    identifiers that stand for `$param` and `$in.field` in the parsed text to (parameter, field or None).
    `real` is true inside make_divisible's first argument, where floats are allowed."""

    def __init__(self, names: dict[str, tuple[str, str | None]], args: dict[str, YNode], loc: Location,
                 shape: Shape | None):
        self.names, self.args, self.loc, self.shape = names, args, loc, shape
        self.uses_input = any(field for _, field in names.values())

    def error(self, message: str, hint: str = "") -> SpecError:
        if self.uses_input and self.shape is not None:
            hint = f"{hint}; {describe(self.shape)}" if hint else describe(self.shape)
        return SpecError(message, self.loc, code="CNN222", hint=hint)

    def number(self, value, real: bool):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if isinstance(value, float):
            if not real:
                raise self.error(f"{value!r} is a fraction; block sizes are whole numbers",
                                 "a fraction may appear only inside make_divisible(...), e.g. "
                                 "make_divisible($in.channels * 0.25, 8)")
            if not math.isfinite(value):
                raise self.error(f"{value!r} is not a number cnncalc computes with",
                                 "block arithmetic stays within +-10^18")
        return bounded(value, self.loc)

    def reference(self, placeholder: str, real: bool):
        name, field = self.names[placeholder]
        if field is not None:
            return input_field(field, self.shape, self.loc)
        node = self.args[name]
        value = self.number(node.value, real) if isinstance(node.value, (int, float)) else None
        if value is None:
            raise self.error(f"${name} is {node.text or 'not a number'!r}; arithmetic needs a whole number")
        return value

    def value(self, tree: Tree, real: bool = False):
        tag = tree[0]
        if tag == "constant":
            value = self.number(tree[1], real)
            if value is not None:
                return value
        elif tag == "name" and tree[1] in self.names:
            return self.reference(tree[1], real)
        elif tag in ("negative", "positive"):
            value = self.value(tree[1], real)
            return -value if tag == "negative" else value
        elif tag in BINARY:
            return self.binary(tag, self.value(tree[1], real), self.value(tree[2], real), real)
        elif tag == "call":
            return self.call(tree, real)
        raise self.error("block expressions may only use whole numbers, $params, $in.channels/height/width, "
                         "+ - * / // and parentheses, max, min and make_divisible",
                         "write e.g. 4 * $width, $in.channels // 4 or make_divisible($in.channels * 0.25, 8)")

    def binary(self, op: str, left, right, real: bool):
        if op == "+":
            return bounded(left + right, self.loc)
        if op == "-":
            return bounded(left - right, self.loc)
        if op == "*":
            return bounded(left * right, self.loc)
        if right == 0:
            raise self.error("division by zero in a block expression",
                             "check the divisor: an argument or an $in field that is 0 here")
        if op == "//":
            return bounded(left // right, self.loc)
        if real:
            return bounded(left / right, self.loc)  # inside make_divisible: Python's true division
        if left % right:
            raise self.error(f"{left}/{right} is not a whole number", "use // to round down")
        return left // right

    def call(self, tree: Tree, real: bool):
        _, name, arguments, keywords = tree
        given = list(arguments)
        for keyword, value in keywords:
            if name != "make_divisible" or keyword != "min_value" or len(given) != 2:
                raise self.error(f"{name}() takes its arguments by position",
                                 "write make_divisible(v, divisor) or make_divisible(v, divisor, min_value)")
            given.append(value)
        if name == "make_divisible":
            return self.make_divisible(given)
        if len(given) < 2:
            raise self.error(f"{name}() needs at least two values", f"write e.g. {name}(1, $in.channels // 4)")
        values = [self.value(arg, real) for arg in given]
        return max(values) if name == "max" else min(values)

    def make_divisible(self, given: list[Tree]) -> int:
        if len(given) not in (2, 3):
            raise self.error("make_divisible() takes a value, a divisor and optionally a minimum",
                             "write make_divisible($in.channels * 0.25, 8)")
        v = self.value(given[0], real=True)
        divisor = self.value(given[1])
        if divisor < 1:
            raise self.error(f"make_divisible() rounds to multiples of a positive divisor, not {divisor}",
                             "write e.g. make_divisible($in.channels * 0.25, 8)")
        minimum = self.value(given[2]) if len(given) == 3 else None
        return bounded(make_divisible(v, divisor, minimum), self.loc)


@lru_cache(maxsize=4096)
def _read(text: str) -> tuple[dict[str, tuple[str, str | None]], Tree | None]:
    """(the placeholder of each reference in `text` -> (parameter, field or None), its tree; None where
    Python cannot read it). Read once per text: a block's expressions are evaluated again for each use
    with new arguments (ResNet-50's `4 * $width` eight times); the callers never change what it returns."""
    # Python parses the arithmetic; each reference becomes a placeholder identifier first, so that a
    # parameter named like a keyword (`in`, `if`, `lambda`, `True`) or a soft keyword reads as a name.
    # The prefix is one the text does not contain, and a bare word (no `$`) stays an error.
    prefix = "_p"
    while prefix in text:
        prefix += "_"
    names: dict[str, tuple[str, str | None]] = {}
    pieces, done = [], 0
    for start, end, name, field in references(text):
        key = f"{prefix}{len(names)}"
        names[key] = (name, field)
        pieces += [text[done:start], f" {key} "]
        done = end
    source = "".join([*pieces, text[done:]]).strip()
    tree = read(source, names)
    if tree is None:  # not plain arithmetic: Python's parser reads it, and the evaluator refuses what it reads
        try:
            tree = python_tree(source)
        except SyntaxError:
            return names, None
    return names, tree


def evaluate(text: str, args: dict[str, YNode], loc: Location, shape: Shape | None = None) -> int:
    """The whole-number value of `text` for the use's arguments and (inside a block use that reads it) the
    shape of its input; every error is located at `loc`, the value's place in the block's text."""
    if len(text) > MAX_EXPRESSION:
        raise SpecError(f"the expression is longer than {MAX_EXPRESSION} characters", loc, code="CNN222")
    names, tree = _read(text)
    for name, field in names.values():
        if field is not None and name != INPUT:
            raise SpecError(f"${name}.{field}: only $in has fields", loc, code="CNN227",
                            hint=f"${name} is a parameter of the block; {_INPUT_FIELD_HINT}")
        if field is not None:
            input_field(field, shape, loc)
        elif name not in args:
            raise bare_input(loc) if name == INPUT else undefined(name, args, loc)
    if tree is None:
        raise SpecError(f"cannot read the expression {text!r}", loc, code="CNN222",
                        hint="write e.g. 4 * $width, $count - 1 or $in.channels // 4")
    return _Evaluator(names, args, loc, shape).value(tree)


# ---------------------------------------------------------------------------------------------
# reading
#
# A parsed expression is a tree of tuples, the part of Python's syntax tree the evaluator looks at:
#   ("constant", value)                          a literal (only int and float are numbers)
#   ("name", identifier)
#   ("negative" | "positive", operand)           unary - and +
#   (operator, left, right)                      an operator of BINARY
#   ("call", helper, arguments, keywords)        a call of a HELPERS name; keywords: ((name, tree), ...)
#   ("other",)                                   anything else Python reads (refused when reached)
# `read` is cnncalc's own reader of plain arithmetic, the text of nearly every expression; it gives
# Python's tree (tests/test_block_expressions.py holds the two to each other) or None, and for None
# Python's parser reads the text (`python_tree`), which imports _ast (~2.5 ms of a start-up).

#: the characters plain arithmetic is written with (placeholders, helpers, numbers); any other is Python's to read
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ +-*/(),=.")
#: the deepest parentheses `read` follows (Python's parser takes over beyond: its own limits, its errors)
_MAX_DEPTH = 30


class _NotPlain(Exception):
    """The text is not plain arithmetic: Python's parser reads it."""


def _tokens(source: str) -> list:
    """("number", value), ("name", text) or ("op", text) tokens; _NotPlain for what Python would read
    differently or refuse (leading zeros, exponents, `**`, `==`, a number glued to a name or a dot)."""
    found, index, end = [], 0, len(source)
    while index < end:
        char = source[index]
        if char == " ":
            index += 1
        elif char.isdigit():
            start = index
            while index < end and source[index].isdigit():
                index += 1
            fraction = index + 1 < end and source[index] == "." and source[index + 1].isdigit()
            if fraction:
                index += 1
                while index < end and source[index].isdigit():
                    index += 1
            if index < end and (source[index].isalnum() or source[index] in "_."):
                raise _NotPlain
            literal = source[start:index]
            if not fraction and literal[0] == "0" and len(literal) > 1:
                raise _NotPlain
            found.append(("number", float(literal) if fraction else int(literal)))
        elif char.isalpha() or char == "_":
            start = index
            while index < end and (source[index].isalnum() or source[index] == "_"):
                index += 1
            found.append(("name", source[start:index]))
        else:
            pair = source[index:index + 2]
            if pair in ("**", "==") or char == ".":
                raise _NotPlain
            token = "//" if pair == "//" else char
            found.append(("op", token))
            index += len(token)
    return found


class _Reader:
    """Recursive descent over Python's grammar for these tokens: sums of products of unary operands."""

    def __init__(self, tokens: list, names) -> None:
        self.tokens, self.at, self.names, self.depth = tokens + [("end", "")], 0, names, 0

    def peek(self, offset: int = 0) -> tuple:
        return self.tokens[min(self.at + offset, len(self.tokens) - 1)]

    def take(self, kind: str, text=None) -> tuple:
        token = self.tokens[self.at]
        if token[0] != kind or (text is not None and token[1] != text):
            raise _NotPlain
        self.at += 1
        return token

    def operator(self, choices: tuple) -> str | None:
        kind, text = self.peek()
        if kind == "op" and text in choices:
            self.at += 1
            return text
        return None

    def sum(self) -> tuple:
        tree = self.product()
        while (op := self.operator(("+", "-"))) is not None:
            tree = (op, tree, self.product())
        return tree

    def product(self) -> tuple:
        tree = self.unary()
        while (op := self.operator(("*", "/", "//"))) is not None:
            tree = (op, tree, self.unary())
        return tree

    def unary(self) -> tuple:
        op = self.operator(("-", "+"))
        if op is not None:
            return ("negative" if op == "-" else "positive", self.unary())
        return self.atom()

    def atom(self) -> tuple:
        kind, text = self.peek()
        if kind == "number":
            self.at += 1
            return ("constant", text)
        if kind == "name" and text in self.names and self.peek(1) != ("op", "("):
            self.at += 1
            return ("name", text)
        if kind == "name" and text in HELPERS:
            self.at += 1
            return self.call(text)
        self.take("op", "(")
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _NotPlain
        tree = self.sum()
        self.take("op", ")")
        self.depth -= 1
        return tree

    def call(self, helper: str) -> tuple:
        """`helper(a, b...)`, with at most one `min_value=` after them and a trailing comma, as Python allows."""
        self.take("op", "(")
        arguments, keywords = [], []
        while self.operator((")",)) is None:
            if self.peek() == ("name", "min_value") and self.peek(1) == ("op", "=") and not keywords:
                self.at += 2
                keywords.append(("min_value", self.sum()))
            elif keywords:
                raise _NotPlain  # Python's errors: a positional after a keyword, a repeated keyword
            else:
                arguments.append(self.sum())
            if self.operator((",",)) is None:
                self.take("op", ")")
                break
        return ("call", helper, tuple(arguments), tuple(keywords))


def read(source: str, names) -> tuple | None:
    """The tree of plain arithmetic of numbers, the placeholders in `names` and helper calls, as Python's
    parser gives it; None for any other text."""
    if not _PLAIN.issuperset(source):
        return None
    try:
        reader = _Reader(_tokens(source), names)
        tree = reader.sum()
        reader.take("end")
    except _NotPlain:
        return None
    return tree


def python_tree(source: str) -> tuple:
    """The tree of any text Python's parser reads (SyntaxError where it cannot)."""
    import _ast  # ast.parse is this compile() call; ast.py itself (its helpers, ~2.5 ms to import) is not needed

    return _converted(compile(source, "<unknown>", "eval", _ast.PyCF_ONLY_AST).body, _ast)


def _converted(node, ast) -> tuple:
    if isinstance(node, ast.Constant):
        return ("constant", node.value)
    if isinstance(node, ast.Name):
        return ("name", node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return ("negative" if isinstance(node.op, ast.USub) else "positive", _converted(node.operand, ast))
    operators = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Div: "/"}
    if isinstance(node, ast.BinOp) and type(node.op) in operators:
        return (operators[type(node.op)], _converted(node.left, ast), _converted(node.right, ast))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in HELPERS:
        return ("call", node.func.id, tuple(_converted(arg, ast) for arg in node.args),
                tuple((keyword.arg, _converted(keyword.value, ast)) for keyword in node.keywords))
    return ("other",)
