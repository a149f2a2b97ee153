"""cnncalc/block_expressions.py's own reader of plain arithmetic gives the tree Python's parser gives, or
leaves the text to Python's parser: random token soups are read both ways, and evaluated both ways (the
same value or the same error, message, hint and location). tests/test_blocks.py has the arithmetic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import block_expressions
from cnncalc.block_expressions import python_tree, read
from cnncalc.errors import CnnCalcError, Location
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode

ROOT = Path(__file__).resolve().parent.parent
LOC = Location("<test>", 3, 7)
NAMES = {"_p0", "_p1"}
#: pieces of text, glued or spaced at random: what plain arithmetic is made of, and what is near it
PIECES = ["_p0", "_p1", "1", "0", "4", "12", "007", "00", "0.25", "1.5", "00.5", "3.", ".5", "1e3", "1_0", "2j",
          "max", "min", "make_divisible", "min_value", "abs", "x", "if", "in", "True", "None", "lambda",
          "=", "==", "(", ")", ",", "+", "-", "*", "/", "//", "**", "%", "~", "[", "]", ".", " ", " ", "\t", "'a'",
          "\n", "#"]
SOUP = st.lists(st.sampled_from(PIECES), max_size=14).map("".join).map(str.strip)
SPACE = st.sampled_from(["", "", " ", "  "])


def _arithmetic(leaf: st.SearchStrategy) -> st.SearchStrategy:
    """Well-formed plain arithmetic (numbers, names, + - * / //, unary signs, parentheses, helper calls with
    trailing commas and min_value=), spaced at random."""
    def joined(*parts):
        return st.tuples(*parts).map("".join)

    def extend(inner):
        arguments = st.lists(inner, min_size=0, max_size=3).map(", ".join)
        return st.one_of(
            joined(inner, SPACE, st.sampled_from(["+", "-", "*", "/", "//"]), SPACE, inner),
            joined(st.sampled_from(["-", "+", "- "]), inner),
            joined(st.just("("), SPACE, inner, SPACE, st.just(")")),
            joined(st.sampled_from(["max", "min", "make_divisible"]), SPACE, st.just("("), arguments,
                   st.sampled_from(["", ",", ", min_value=3", ",min_value = 1,"]), st.just(")")))

    return st.recursive(leaf, extend, max_leaves=8)


ARITHMETIC = _arithmetic(st.sampled_from(["_p0", "_p1", "0", "1", "4", "12", "0.25", "1.5", "00.5"]))
#: plain arithmetic with one piece put in somewhere: near misses, which Python reads or refuses
NEAR = st.tuples(ARITHMETIC, st.sampled_from(PIECES), st.integers(0, 200)).map(
    lambda made: (made[0][:made[2]] + made[1] + made[0][made[2]:]).strip())
#: the pieces of expressions as written in a spec ($params, $in's fields), for whole evaluations
TEXT_PIECES = ["$a", "$b", "$f", "$s", "$in.channels", "$in.height", "$in.size", "$in.depth", "$in", "$zz",
               *[piece for piece in PIECES if not piece.startswith("_p")]]
TEXT = st.one_of(st.lists(st.sampled_from(TEXT_PIECES), max_size=12).map("".join), _arithmetic(
    st.sampled_from(["$a", "$b", "$f", "$s", "$in.channels", "$in.size", "$in.depth", "1", "0", "8", "0.25"])))
ARGS = {"a": YNode(64, LOC, "64"), "b": YNode(0, LOC, "0"), "f": YNode(0.5, LOC, "0.5"), "s": YNode("x", LOC, "x")}


def _pythons(source: str):
    try:
        return python_tree(source)
    except SyntaxError:
        return SyntaxError


def _typed(tree):
    """The tree with each constant's type beside it (1, 1.0 and True are equal, not the same literal)."""
    if tree[:1] == ("constant",):
        return ("constant", type(tree[1]), tree[1])
    return tuple(_typed(part) if isinstance(part, tuple) else part for part in tree)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # Python's, for `1if` and the like (never read by cnncalc's)
@given(st.one_of(SOUP, ARITHMETIC, NEAR))
@settings(max_examples=1500, deadline=None)
def test_the_reader_gives_pythons_tree_or_leaves_the_text_to_python(source):
    mine = read(source, NAMES)
    if mine is not None:
        theirs = _pythons(source)
        assert theirs is not SyntaxError and _typed(mine) == _typed(theirs)


def test_plain_arithmetic_is_read_without_python():
    for source in ["4 * _p0", "make_divisible(_p0 * 0.25, 8)", "max(1, _p1 // 4,)", "-(_p0 - 1) / 2",
                   "make_divisible(3, 8, min_value=1)", "min(_p0, 16, 32)", "max()"]:
        assert read(source, NAMES) == python_tree(source)
    for source in ["_p0 ** 2", "01", "1e3", "x", "_p0(1)", "max(min_value=1, 2)", "(" * 31 + "1" + ")" * 31,
                   "1 if 2 else 3"]:
        assert read(source, NAMES) is None


def _outcome(text: str, shape: Shape | None):
    try:
        return block_expressions.evaluate(text, ARGS, LOC, shape)
    except CnnCalcError as error:
        return type(error), error.message, error.code, error.hint, error.loc


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@given(TEXT, st.sampled_from([None, Shape((7, 7), 512), Shape((7, 9), 3), Shape((), 10)]))
@settings(max_examples=1000, deadline=None)
def test_an_expression_evaluates_as_with_pythons_parser_alone(text, shape):
    mine = _outcome(text, shape)
    with mock.patch.object(block_expressions, "read", lambda source, names: None):
        assert mine == _outcome(text, shape)


def test_a_spec_with_block_arithmetic_imports_no_ast():
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\nfrom cnncalc import block_expressions as b\n"
            "from cnncalc.errors import Location\nfrom cnncalc.shapes import Shape\n"
            "assert b.evaluate('make_divisible($in.channels * 0.25, 8) + 4 * 2', {}, Location('<t>', 1, 1),"
            " Shape((7, 7), 512)) == 136\nprint('_ast' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False"], done.stderr


@given(st.lists(st.sampled_from(["$", "$$", "a", "in", ".", "channels", "_", "9", " ", "$in.", "é", "x.y", "+"]),
                max_size=12).map("".join))
def test_references_are_the_patterns_matches(text):
    import re

    expected = [(m.start(), m.end(), m.group(1), m.group(2)) for m in re.finditer(block_expressions.REFERENCE.pattern,
                                                                                   text)]
    assert list(block_expressions.references(text)) == expected
    assert block_expressions.reads_input(text) == any(name == "in" and field for _, _, name, field in expected)
