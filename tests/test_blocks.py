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
    given, name, stage = blocks.arguments(block, load("{width: 8, name: b1}\n"), LOC)
    assert given["width"].value == 8 and given["stride"].value == 1 and name == "b1" and stage is None


def test_a_use_names_its_stage_unless_its_block_has_a_stage_parameter():
    basic = next(iter(blocks.parse_blocks(load("basic: {params: [width], layers: [relu]}\n"), KINDS).values()))
    assert blocks.arguments(basic, load("{width: 8, stage: layer2}\n"), LOC)[2] == "layer2"
    staged = next(iter(blocks.parse_blocks(load("staged: {params: [stage], layers: [relu]}\n"), KINDS).values()))
    given, _, stage = blocks.arguments(staged, load("{stage: 3}\n"), LOC)
    assert given["stage"].value == 3 and stage is None
    with pytest.raises(SpecError, match="stage"):  # the unknown-key message lists it
        blocks.arguments(basic, load("{width: 8, stag: x}\n"), LOC)


# ---------------------------------------------------------------------------------------------
# blocks that see their input: `$in.<field>` and the helpers max, min, make_divisible

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cnncalc import block_expressions  # noqa: E402
from cnncalc.shapes import Shape  # noqa: E402

MAP = Shape((7, 7), 512)


def torchvision_make_divisible():
    """torchvision's own `_make_divisible` (torchvision/models/_utils.py), the oracle of the helper."""
    try:
        from torchvision_models import torchvision_models  # tests/torchvision_models.py, where it has landed
    except ImportError:
        import sys
        import types

        def torchvision_models():
            # `import torchvision` fails on this torch build's missing compiled ops; the models need none
            sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
            import torchvision.models

            return torchvision.models
    return torchvision_models()._utils._make_divisible


@given(value=st.one_of(st.integers(-10**6, 10**9), st.floats(-1e6, 1e9, allow_nan=False)),
       divisor=st.integers(1, 256), minimum=st.one_of(st.none(), st.integers(1, 10**6)))
@settings(max_examples=400)
def test_make_divisible_is_torchvisions(value, divisor, minimum):
    oracle = torchvision_make_divisible()
    expected = oracle(value, divisor, minimum)
    assert block_expressions.make_divisible(value, divisor, minimum) == expected
    text = f"make_divisible({value!r}, {divisor}" + (f", {minimum})" if minimum is not None else ")")
    assert blocks.expression(text, {}, LOC) == expected


@given(channels=st.integers(1, 4096), ratio=st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]),
       divisor=st.sampled_from([1, 4, 8, 16]))
def test_make_divisible_of_a_width_times_a_float_factor_is_torchvisions(channels, ratio, divisor):
    # MobileNetV3's adjust_channels(c, width_mult) = _make_divisible(c * width_mult, 8), written with $in
    expected = torchvision_make_divisible()(channels * ratio, divisor)
    given_ratio = {"ratio": YNode(ratio, LOC, str(ratio))}
    shape = Shape((7, 7), channels)
    assert blocks.expression(f"make_divisible($in.channels * $ratio, {divisor})", given_ratio, LOC, shape) == expected
    assert blocks.expression(f"make_divisible($in.channels * {ratio!r}, {divisor})", {}, LOC, shape) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("$in.channels // 4", 128), ("$in.height * $in.width", 49), ("$in.size", 7), ("4 * $in.channels", 2048),
    ("max(1, $in.channels // 1024)", 1), ("min($in.channels, 16, 32)", 16), ("max($w, $in.height)", 64),
    ("make_divisible($in.channels * 0.25, 8)", 128), ("make_divisible(16 * 1.0, 8)", 16),
    ("make_divisible(24 * 0.75, 8)", 24), ("make_divisible(3, 8, min_value=1)", 9),
    ("make_divisible($in.channels / 3, 8)", 168), ("make_divisible(max(1, $in.channels // 64), 8)", 8),
])
def test_expressions_read_the_input_and_call_the_helpers(text, value):
    assert blocks.expression(text, args(w=64), LOC, MAP) == value


@pytest.mark.parametrize(("text", "shape", "code", "said"), [
    ("$in.depth", MAP, "CNN227", "has no depth"),
    ("$in.size", Shape((7, 9), 512), "CNN227", "not square"),
    ("$in.height", Shape((), 512), "CNN227", "has no height"),
    ("$in.chanels + 1", MAP, "CNN227", "not a field"),
    ("$w.channels", MAP, "CNN227", "only $in has fields"),
    ("$in + 1", MAP, "CNN227", "$in alone"),
    ("$in.channels", None, "CNN228", "outside a block"),
    ("$in.channels * 0.5", MAP, "CNN222", "fraction"),
    ("$in.channels // ($in.height - 7)", MAP, "CNN222", "division by zero"),
    ("make_divisible($in.channels, 0)", MAP, "CNN222", "positive divisor"),
    ("make_divisible($in.channels)", MAP, "CNN222", "make_divisible() takes"),
    ("max($in.channels)", MAP, "CNN222", "at least two"),
    ("make_divisible(1e400, 8)", MAP, "CNN222", "not a number"),
    ("max(1, 2.5)", MAP, "CNN222", "fraction"),
    ("make_divisible", MAP, "CNN222", "may only use"),
    ("abs($in.channels)", MAP, "CNN222", "may only use"),
])
def test_input_field_and_helper_errors_are_coded_and_say_why(text, shape, code, said):
    with pytest.raises(SpecError) as caught:
        blocks.expression(text, args(w=64), LOC, shape)
    assert caught.value.code == code and said in caught.value.message
    assert caught.value.loc == LOC and caught.value.hint


def test_an_expression_error_with_in_says_what_in_is():
    with pytest.raises(SpecError) as caught:
        blocks.expression("$in.channels // ($in.height - 7)", {}, LOC, MAP)
    assert "here $in is 7x7x512 (channels 512, height 7, width 7, size 7)" in caught.value.hint


def test_the_fields_of_in_follow_the_axes_of_the_input():
    assert block_expressions.input_fields(Shape((), 10)) == {"channels": 10}
    assert block_expressions.input_fields(Shape((100,), 3)) == {"channels": 3, "length": 100, "size": 100}
    assert block_expressions.input_fields(Shape((4, 5, 5), 3)) == {"channels": 3, "depth": 4, "height": 5,
                                                                    "width": 5}


def test_substitute_computes_input_fields_everywhere_and_keeps_the_places():
    node = load("conv: {filters: '$in.channels // 4', kernel: [$in.height, 1], name: se}\n")
    out = blocks.substitute(node, {}, MAP)
    settings_ = out.value["conv"].value
    assert settings_["filters"].value == 128 and [k.value for k in settings_["kernel"].value] == [7, 1]
    assert settings_["filters"].loc == node.value["conv"].value["filters"].loc


def test_a_block_reads_its_input_through_its_layers_or_its_defaults_not_through_a_parameter_named_in():
    def block(text: str) -> blocks.BlockDef:
        (defined,) = blocks.parse_blocks(load(text), KINDS).values()
        return defined

    assert blocks.reads_input(block("b: {layers: [conv: {filters: $in.channels, kernel: 1}]}\n"))
    assert blocks.reads_input(block("b: {params: [s: '$in.channels // 4'], layers: [fc: $s]}\n"))
    assert not blocks.reads_input(block("b: {params: [in], layers: [conv: {filters: 2 * $in, kernel: 1}]}\n"))
    assert not blocks.reads_input(block("b: {params: [w], layers: [conv: {filters: $w, kernel: 1}]}\n"))


@given(st.text(alphabet=st.sampled_from(list("$ _aZ09.-\t\né")), max_size=8))
@settings(max_examples=300, deadline=None)
def test_a_whole_reference_is_what_its_pattern_matches(value):
    import re

    match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)$", value.strip())
    assert blocks._whole_reference(value) == (match.group(1) if match else None)
