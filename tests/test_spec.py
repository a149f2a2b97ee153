"""cnncalc/spec.py: from positioned YAML to a validated Spec: the input, defaults, layers with their
keys filled in, and the constructs."""

from __future__ import annotations

import pytest

from cnncalc.blocks import MergeSpec, ResidualSpec
from cnncalc.errors import SpecError
from cnncalc.layers import KINDS
from cnncalc.shapes import Shape
from cnncalc.spec import LayerSpec, RepeatSpec, SpecBuilder, parse_input, parse_spec
from cnncalc.yamlsource import load


def spec(text: str):
    return parse_spec(load(text, "<test>"), "<test>")


@pytest.mark.parametrize(("text", "shape"), [
    ("224x224x3", Shape((224, 224), 3)), ("8x16x16x2", Shape((8, 16, 16), 2)), ("10", Shape((), 10)),
    ("{channels: 4, length: 100}", Shape((100,), 4)), ("{channels: 3, height: 32, width: 16}", Shape((32, 16), 3)),
])
def test_input_forms(text, shape):
    assert parse_input(load(text)) == shape


@pytest.mark.parametrize("text", ["224x224", "224x224xRGB", "{channels: 3, height: 32}", "{chanels: 3}"])
def test_inputs_that_cannot_be_read(text):
    with pytest.raises(SpecError):
        parse_input(load(text))


def test_layers_get_their_defaults_from_the_kind_and_from_defaults():
    parsed = spec("input: 8x8x3\ndefaults: {conv: {padding: 1}}\nlayers:\n  - conv: {filters: 4, kernel: 3}\n"
                  "  - fc: 10\n  - relu\n")
    conv, fc, relu = parsed.items
    assert isinstance(conv, LayerSpec) and conv.kind is KINDS["conv"]
    assert conv.params == {"filters": 4, "kernel": 3, "stride": 1, "padding": 1, "dilation": 1, "groups": 1,
                           "bias": True}
    assert fc.params == {"units": 10, "bias": True, "per_position": False}  # the shorthand
    assert relu.params == {"inplace": False, "functional": False}


def test_constructs_become_repeat_residual_and_merge_items():
    parsed = spec("input: 8x8x3\nlayers:\n  - repeat: {times: 2, layers: [relu]}\n  - residual: [relu]\n"
                  "  - concat: [[relu], []]\n  - add: {branches: [[relu], []], name: a}\n")
    repeat, residual, concat, add = parsed.items
    assert isinstance(repeat, RepeatSpec) and repeat.times == 2
    assert isinstance(residual, ResidualSpec) and residual.shortcut == ()
    assert isinstance(concat, MergeSpec) and concat.kind == "concat" and len(concat.branches) == 2
    assert isinstance(add, MergeSpec) and add.kind == "add" and add.name == "a"


@pytest.mark.parametrize(("layer", "code"), [
    ("- conv: {kernel: 3}", "CNN105"), ("- conv: {filters: 4, kernel: 3, strides: 2}", "CNN102"),
    ("- convolution: {filters: 4}", "CNN104"), ("- concat", "CNN105"),
])
def test_layer_mistakes_have_their_codes(layer, code):
    with pytest.raises(SpecError) as caught:
        spec(f"input: 8x8x3\nlayers:\n  {layer}\n")
    assert caught.value.code == code


def test_layers_written_alike_share_one_settings_dict_and_others_do_not():
    text = """
input: 8x8x4
defaults: {conv: {bias: false}}
layers:
  - conv: {filters: 8, kernel: 3, padding: 1}
  - bn
  - conv: {filters: 8, kernel: 3, padding: 1, bias: false}
  - bn
  - conv: {filters: 8, kernel: [3, 3], padding: 1}
  - conv: {filters: 8, kernel: 3, padding: 1, bias: true}
"""
    layers = parse_spec(load(text)).items
    assert layers[0].params is layers[2].params and layers[1].params is layers[3].params
    assert layers[4].params is not layers[0].params  # a kernel of two sides is another setting
    assert layers[5].params is not layers[0].params and layers[5].params["bias"] is True
    builder = SpecBuilder("<spec>", {})
    kind = KINDS["dropout"]
    made = [builder._shared(kind, {"rate": value}) for value in (1, 1.0, True, 1, [1], -0.0, 0.0, (1, 2), (1.0, 2),
                                                                 (1, 2), "1", 1.0)]
    assert made[0] is made[3] and made[7] is made[9] and made[1] is made[11]
    # 1, 1.0, True, -0.0 and 0.0, (1, 2) and (1.0, 2), "1" apart (the JSON writes them so); a list not shared
    assert len({id(m) for m in made}) == 9
