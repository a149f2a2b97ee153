"""Block arithmetic's path without Python's parser (`_plain_arithmetic`): on any text it computes what the
parser's path computes, or leaves the text to it, so values and errors are the same either way; Python's
own arithmetic is the outside truth for what it computes. (The expressions' rules: tests/test_blocks.py.)"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import block_expressions
from cnncalc.errors import CnnCalcError, Location
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode

LOC = Location("b.yaml", 3, 5)
SHAPE = Shape((14, 14), 256)
ARGS = {"a": YNode(64, LOC, "64"), "b": YNode(-3, LOC, "-3"), "z": YNode(0, LOC, "0"), "f": YNode(0.5, LOC, "0.5"),
        "t": YNode(True, LOC, "true"), "s": YNode("x", LOC, "x"), "big": YNode(10**18, LOC, str(10**18))}


def outcome(text: str, plain: bool):
    """The value or the error (type, message, code, hint, place) of `text`, with or without the plain path."""
    saved = block_expressions._plain_arithmetic
    if not plain:
        block_expressions._plain_arithmetic = lambda *given: None
    try:
        return block_expressions.evaluate(text, ARGS, LOC, SHAPE)
    except CnnCalcError as error:
        return type(error), error.message, error.code, error.hint, error.loc
    finally:
        block_expressions._plain_arithmetic = saved


atoms = st.sampled_from(["$a", "$b", "$z", "$f", "$t", "$s", "$big", "$in.channels", "$in.height", "$in.size",
                         "0", "1", "2", "7", "64", "007", "1_0", "2.5", "1e3", "x", "max", "10000000000000000000"])
operators = st.sampled_from([" + ", " - ", " * ", " // ", " / ", "*", "-", " ** ", " % ", " ", "//", "/ /"])


@st.composite
def texts(draw, depth: int = 3):
    parts = [draw(st.sampled_from(["", "-", "+", "--", "- "]))]
    if depth and draw(st.booleans()):
        parts.append("(" + draw(texts(depth - 1)) + draw(st.sampled_from([")", ")", ""])))
    else:
        parts.append(draw(atoms))
    for _ in range(draw(st.integers(0, 3))):
        parts.append(draw(operators))
        parts.append(draw(texts(depth - 1)) if depth and draw(st.booleans()) else draw(atoms))
    return "".join(parts)


@given(texts())
@settings(max_examples=400, deadline=None)
def test_the_plain_path_gives_the_parser_s_value_or_error(text):
    assert outcome(text, plain=True) == outcome(text, plain=False)


def placeholders(text: str) -> tuple[str, dict[str, tuple[str, str | None]]]:
    """The text with its references replaced as `evaluate` replaces them, and the placeholders' meanings."""
    names: dict[str, tuple[str, str | None]] = {}

    def placeholder(match) -> str:
        key = f"_p{len(names)}"
        names[key] = (match.group(1), match.group(2))
        return f" {key} "

    return block_expressions.REFERENCE.sub(placeholder, text), names


@given(texts())
@settings(max_examples=200, deadline=None)
def test_what_the_plain_path_computes_is_python_s_arithmetic(text):
    source, names = placeholders(text)
    value = block_expressions._plain_arithmetic(source, names, ARGS, SHAPE, LOC)
    if value is None:
        return
    env = {key: (block_expressions.input_field(field, SHAPE, LOC) if field else ARGS[name].value)
           for key, (name, field) in names.items()}
    # `/` is computed only where it divides exactly: Python's floor division gives that whole number
    assert eval(source.replace("//", "#").replace("/", "//").replace("#", "//"), {}, env) == value  # noqa: S307


class _Parser:
    """The parser's path, counting its uses."""

    used = 0

    def __init__(self, *given):
        type(self).used += 1
        self.evaluator = _EVALUATOR(*given)

    def value(self, tree):
        return self.evaluator.value(tree)


_EVALUATOR = block_expressions._Evaluator


@pytest.mark.parametrize(("text", "value"), [
    ("4 * $a", 256), ("$a - 1", 63), ("-$a * 2 + 1", -127), ("$a // -3", -22), ("($a - 4) / 2", 30),
    ("- - $b", -3), ("$in.channels // 4", 64), ("2 * (3 + $b) * 5", 0), ("$big * 1", 10**18)])
def test_plain_arithmetic_takes_the_plain_path(text, value, monkeypatch):
    monkeypatch.setattr(block_expressions, "_Evaluator", _Parser)
    _Parser.used = 0
    assert block_expressions.evaluate(text, ARGS, LOC, SHAPE) == value
    assert _Parser.used == 0


@pytest.mark.parametrize("text", ["$a / 0", "$a / 3", "$f * 2", "$t + 1", "$big + 1", "max($a, 2)", "007 + $a",
                                  "1_0 + $a", "2 ** $a", "$a $a", "($a", "2.5 * $a", "$s * 2", "$a % 2"])
def test_anything_else_is_left_to_the_parser(text, monkeypatch):
    answers = []
    plain = block_expressions._plain_arithmetic
    monkeypatch.setattr(block_expressions, "_plain_arithmetic", lambda *given: answers.append(plain(*given)))
    try:
        block_expressions.evaluate(text, ARGS, LOC, SHAPE)  # max(...) and 1_0 are fine, the rest errors
    except CnnCalcError:
        pass
    assert answers == [None]
