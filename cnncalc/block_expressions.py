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
import re

from cnncalc.errors import LimitError, Location, SpecError
from cnncalc.limits import MAX_EXPRESSION_VALUE
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    import ast

MAX_EXPRESSION = 200
#: `$name` or `$in.field`; the field is read only after `$in`.
REFERENCE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?")
#: the name of the tensor entering a block use, in `$in.channels`.
INPUT = "in"
#: the helpers an expression may call, by name.
HELPERS = ("make_divisible", "max", "min")
#: the fields of `$in` by the number of spatial axes of the input (a vector has none).
_AXES = {0: (), 1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
FIELDS = ("channels", "height", "width", "depth", "length", "size")
_INPUT_FIELD_HINT = "write $in.channels, $in.height, $in.width (an image), $in.length (a sequence), " \
                    "$in.depth (a volume) or $in.size (a square map)"


def reads_input(text: str) -> bool:
    """Whether a value's text reads a field of the block use's input (`$in.channels`)."""
    return "$" in text and any(match.group(1) == INPUT and match.group(2) for match in REFERENCE.finditer(text))


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
    """Walks the parsed expression. `names` maps the placeholder identifiers that stand for `$param` and
    `$in.field` in the parsed text to (parameter, field or None). `real` is true inside make_divisible's
    first argument, where floats are allowed."""

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

    def value(self, tree: ast.AST, real: bool = False):
        import _ast as ast  # the node classes, without ast.py (~5 ms of every start-up; most specs have no arithmetic)

        if isinstance(tree, ast.Constant):
            value = self.number(tree.value, real)
            if value is not None:
                return value
        elif isinstance(tree, ast.Name) and tree.id in self.names:
            return self.reference(tree.id, real)
        elif isinstance(tree, ast.UnaryOp) and isinstance(tree.op, (ast.USub, ast.UAdd)):
            value = self.value(tree.operand, real)
            return -value if isinstance(tree.op, ast.USub) else value
        elif isinstance(tree, ast.BinOp) and isinstance(tree.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv,
                                                                  ast.Div)):
            return self.binary(tree.op, self.value(tree.left, real), self.value(tree.right, real), real)
        elif isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id in HELPERS:
            return self.call(tree, real)
        raise self.error("block expressions may only use whole numbers, $params, $in.channels/height/width, "
                         "+ - * / // and parentheses, max, min and make_divisible",
                         "write e.g. 4 * $width, $in.channels // 4 or make_divisible($in.channels * 0.25, 8)")

    def binary(self, op: ast.operator, left, right, real: bool):
        import _ast as ast

        if isinstance(op, ast.Add):
            return bounded(left + right, self.loc)
        if isinstance(op, ast.Sub):
            return bounded(left - right, self.loc)
        if isinstance(op, ast.Mult):
            return bounded(left * right, self.loc)
        if right == 0:
            raise self.error("division by zero in a block expression",
                             "check the divisor: an argument or an $in field that is 0 here")
        if isinstance(op, ast.FloorDiv):
            return bounded(left // right, self.loc)
        if real:
            return bounded(left / right, self.loc)  # inside make_divisible: Python's true division
        if left % right:
            raise self.error(f"{left}/{right} is not a whole number", "use // to round down")
        return left // right

    def call(self, tree: ast.Call, real: bool):
        name = tree.func.id
        given = list(tree.args)
        for keyword in tree.keywords:
            if name != "make_divisible" or keyword.arg != "min_value" or len(given) != 2:
                raise self.error(f"{name}() takes its arguments by position",
                                 "write make_divisible(v, divisor) or make_divisible(v, divisor, min_value)")
            given.append(keyword.value)
        if name == "make_divisible":
            return self.make_divisible(given)
        if len(given) < 2:
            raise self.error(f"{name}() needs at least two values", f"write e.g. {name}(1, $in.channels // 4)")
        values = [self.value(arg, real) for arg in given]
        return max(values) if name == "max" else min(values)

    def make_divisible(self, given: list[ast.expr]) -> int:
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


def evaluate(text: str, args: dict[str, YNode], loc: Location, shape: Shape | None = None) -> int:
    """The whole-number value of `text` for the use's arguments and (inside a block use that reads it) the
    shape of its input; every error is located at `loc`, the value's place in the block's text."""
    if len(text) > MAX_EXPRESSION:
        raise SpecError(f"the expression is longer than {MAX_EXPRESSION} characters", loc, code="CNN222")
    for match in REFERENCE.finditer(text):
        name, field = match.groups()
        if field is not None and name != INPUT:
            raise SpecError(f"${name}.{field}: only $in has fields", loc, code="CNN227",
                            hint=f"${name} is a parameter of the block; {_INPUT_FIELD_HINT}")
        if field is not None:
            input_field(field, shape, loc)
        elif name not in args:
            raise bare_input(loc) if name == INPUT else undefined(name, args, loc)
    # Python parses the arithmetic; each reference becomes a placeholder identifier first, so that a
    # parameter named like a keyword (`in`, `if`, `lambda`, `True`) or a soft keyword reads as a name.
    # The prefix is one the text does not contain, and a bare word (no `$`) stays an error.
    prefix = "_p"
    while prefix in text:
        prefix += "_"
    names: dict[str, tuple[str, str | None]] = {}

    def placeholder(match: re.Match) -> str:
        key = f"{prefix}{len(names)}"
        names[key] = (match.group(1), match.group(2))
        return f" {key} "

    source = REFERENCE.sub(placeholder, text)
    quick = _plain_arithmetic(source, names, args, shape, loc)
    if quick is not None:
        return quick
    import _ast  # ast.parse is this compile() call; ast.py itself (its helpers, ~2.5 ms to import) is not needed

    try:
        tree = compile(source.strip(), "<unknown>", "eval", _ast.PyCF_ONLY_AST).body
    except SyntaxError:
        raise SpecError(f"cannot read the expression {text!r}", loc, code="CNN222",
                        hint="write e.g. 4 * $width, $count - 1 or $in.channels // 4") from None
    return _Evaluator(names, args, loc, shape).value(tree)


# ---------------------------------------------------------------------------------------------
# the common case without Python's parser: `_ast`'s ~120 node classes cost ~2.5 ms to set up, more than
# all of ResNet-50's arithmetic (`4 * $width`, `$blocks - 1`)


class _NotPlain(Exception):
    """Anything `_plain_arithmetic` leaves to the parser: other syntax, a float, a fraction, a bound, a 0."""


_DIGITS = "0123456789"
_OPERATORS = "+-*/()"


def _tokens(source: str) -> list[str] | None:
    """Whole numbers (no leading zero, no `_`), names, `+ - * / // ( )`; None for any other character."""
    tokens: list[str] = []
    at, end = 0, len(source)
    while at < end:
        char = source[at]
        if char in " \t":
            at += 1
        elif char in _OPERATORS:
            double = char == "/" and source.startswith("//", at)
            tokens.append("//" if double else char)
            at += 2 if double else 1
        elif char in _DIGITS or char == "_" or char.isascii() and char.isalpha():
            start = at
            while at < end and (source[at] in _DIGITS or source[at] == "_" or source[at].isascii() and source[at].isalpha()):
                at += 1
            tokens.append(source[start:at])
        else:
            return None
    return tokens


class _Plain:
    """Python's grammar for these tokens (unary signs bind tighter than `*`; operators associate to the
    left), computed as `_Evaluator` computes it; any doubt raises `_NotPlain`."""

    def __init__(self, tokens: list[str], names: dict[str, tuple[str, str | None]], args: dict[str, YNode],
                 shape: Shape | None, loc: Location):
        self.tokens, self.names, self.args, self.shape, self.loc = tokens, names, args, shape, loc
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def sum(self) -> int:
        value = self.term()
        while (op := self.peek()) in ("+", "-"):
            self.at += 1
            right = self.term()
            value = self.within(value + right if op == "+" else value - right)
        return value

    def term(self) -> int:
        value = self.factor()
        while (op := self.peek()) in ("*", "//", "/"):
            self.at += 1
            right = self.factor()
            if op == "*":
                value = self.within(value * right)
            elif right == 0 or (op == "/" and value % right):
                raise _NotPlain  # the parser's path words the error
            else:
                value = self.within(value // right) if op == "//" else value // right
        return value

    def factor(self) -> int:
        op = self.peek()
        if op in ("+", "-"):
            self.at += 1
            value = self.factor()
            return -value if op == "-" else value
        return self.atom()

    def atom(self) -> int:
        token = self.peek()
        if token is None:
            raise _NotPlain
        self.at += 1
        if token == "(":
            value = self.sum()
            if self.peek() != ")":
                raise _NotPlain
            self.at += 1
            return value
        if token[0] in _DIGITS:
            if not all(char in _DIGITS for char in token) or (token[0] == "0" and len(token) > 1):
                raise _NotPlain
            return self.within(int(token))
        if token not in self.names:
            raise _NotPlain
        name, field = self.names[token]
        if field is not None:
            return input_field(field, self.shape, self.loc)
        value = self.args[name].value
        if type(value) is not int:  # a float, a bool, a text: the parser's path says what is wrong
            raise _NotPlain
        return self.within(value)

    @staticmethod
    def within(value: int) -> int:
        if -MAX_EXPRESSION_VALUE <= value <= MAX_EXPRESSION_VALUE:
            return value
        raise _NotPlain


def _plain_arithmetic(source: str, names: dict[str, tuple[str, str | None]], args: dict[str, YNode],
                      shape: Shape | None = None, loc: Location | None = None) -> int | None:
    """The value of `source` (the expression with its placeholders) when it is whole-number arithmetic of
    numbers and placeholders that computes without an error, as `_Evaluator` would compute it; None where
    the parser's path must decide (calls, floats, fractions, a division by zero, a bound, a syntax error)."""
    tokens = _tokens(source)
    if not tokens:
        return None
    plain = _Plain(tokens, names, args, shape, loc)
    try:
        value = plain.sum()
    except _NotPlain:
        return None
    return value if plain.at == len(tokens) else None

