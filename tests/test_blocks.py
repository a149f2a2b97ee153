"""cnncalc/blocks.py: block definitions, argument substitution and expressions, and the construct
words (derived from the merge kinds of the registry)."""

from __future__ import annotations

import pytest

from cnncalc import blocks
from cnncalc.errors import Location, SpecError
from cnncalc.layers import KINDS, construct_kinds
from cnncalc.yamlsource import YNode, load

LOC = Location("<test>", 1, 1)


def args(**values) -> dict[str, YNode]:
    return {k: YNode(v, LOC, str(v)) for k, v in values.items()}


def test_the_construct_words_are_repeat_residual_the_merge_kinds_and_split():
    assert blocks.MERGES == ("concat", "add", "multiply") == tuple(k.name for k in construct_kinds())
    assert blocks.CONSTRUCTS == ("repeat", "residual", "concat", "add", "multiply", "split", "output")
    assert set(blocks.SPLIT_MERGES) <= set(blocks.MERGES)
    assert all(KINDS[word].merge for word in blocks.MERGES)


@pytest.mark.parametrize(("text", "value"), [("4 * $width", 256), ("$width // 3", 21), ("-$width + 1", -63),
                                             ("($width - 4) / 2", 30)])
def test_expressions_are_whole_number_arithmetic_of_the_arguments(text, value):
    assert blocks.expression(text, args(width=64), LOC) == value


@pytest.mark.parametrize("text", ["$width / 3", "$width ** 2", "$width / 0", "$depth + 1", "max($width)"])
def test_other_expressions_are_refused(text):
    with pytest.raises(SpecError) as caught:
        blocks.expression(text, args(width=64), LOC)
    assert caught.value.code in ("CNN220", "CNN222")


def test_substitute_replaces_whole_references_and_expressions_everywhere():
    node = load("conv: {filters: $width, kernel: 3, stride: '$width // 32'}\n")
    out = blocks.substitute(node, args(width=64))
    settings = out.value["conv"].value
    assert settings["filters"].value == 64 and settings["stride"].value == 2 and settings["kernel"].value == 3


def test_block_definitions_declare_required_and_defaulted_parameters():
    node = load("basic: {params: [width, stride: 1], layers: [relu]}\n")
    (block,) = blocks.parse_blocks(node, KINDS).values()
    assert list(block.params) == ["width", "stride"] and block.params["width"] is None
    with pytest.raises(SpecError) as caught:
        blocks.parse_blocks(load("add: {layers: [relu]}\n"), KINDS)
    assert caught.value.code == "CNN223"
    given, name = blocks.arguments(block, load("{width: 8, name: b1}\n"), LOC)
    assert given["width"].value == 8 and given["stride"].value == 1 and name == "b1"
