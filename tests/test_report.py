"""cnncalc/report.py: the rows, totals and textbook memory of one analysed model, and its JSON form."""

from __future__ import annotations

import json

from cnncalc import report
from cnncalc.pipeline import analyze_text

SPEC = """
name: tiny
input: 8x8x3
layers:
  - conv: {filters: 4, kernel: 3, padding: 1}
  - relu
  - pool: 2
  - fc: 10
"""


def build(**options):
    return report.build(analyze_text(SPEC, "<test>"), report.Options(**options))


def test_rows_count_params_macs_and_activations_per_sample():
    rep = build()
    assert [r.type for r in rep.rows] == ["input", "conv", "relu", "pool", "fc"]
    conv, relu, pool, fc = rep.rows[1:]
    assert conv.params == 3 * 3 * 3 * 4 + 4 and conv.macs == 8 * 8 * 3 * 3 * 3 * 4
    assert relu.inplace and relu.activations == 0 and relu.output_elements == 8 * 8 * 4
    assert fc.params == 4 * 4 * 4 * 10 + 10 and fc.input_names == ("pool1",)
    assert rep.totals.params == conv.params + fc.params and rep.totals.flops == 2 * rep.totals.macs


def test_count_bias_adds_one_mac_per_biased_output():
    plain, biased = build(), build(count_bias=True)
    assert biased.totals.macs - plain.totals.macs == 8 * 8 * 4 + 10


def test_the_json_form_scales_counts_by_the_batch():
    one, four = build().to_dict(), build(batch=4).to_dict()
    assert four["batch"] == 4
    assert four["totals"]["macs"] == 4 * one["totals"]["macs"]
    assert four["totals"]["params"] == one["totals"]["params"]
    assert [layer["name"] for layer in one["layers"]] == ["input", "conv1", "relu1", "pool1", "fc1"]


def test_textbook_peak_layer_counts_distinct_tensors_once():
    # the largest layer is the conv: its 8x8x3 input and 8x8x4 output (relu works in place on it)
    assert report._peak_layer(analyze_text(SPEC, "<test>")) == 8 * 8 * 3 + 8 * 8 * 4


def test_the_lazy_json_form_is_the_same_document_in_one_pass_iterators():
    from collections.abc import Iterator

    from cnncalc.pipeline import report_file

    rep = report_file("specs/resnet18.yaml")
    whole, lazy = rep.to_dict(), rep.to_dict(lazy=True)
    assert isinstance(lazy["layers"], Iterator) and isinstance(lazy["memory"]["layers"], Iterator)
    lazy["layers"] = list(lazy["layers"])
    lazy["memory"]["layers"] = list(lazy["memory"]["layers"])
    # the same JSON document: lazy rows give their shape and name tuples as they are (JSON lists), not copies
    assert json.loads(json.dumps(lazy)) == whole and json.dumps(lazy, indent=2) == json.dumps(whole, indent=2)
    assert list(lazy) == list(whole) and list(lazy["memory"]) == list(whole["memory"])
    assert lazy["layers"][1]["output_shape"] is rep.rows[1].output_shape


def test_rows_of_equal_shapes_share_one_dims_tuple():
    rep = report.build(analyze_text("input: 8x8x3\nlayers:\n  - repeat: {times: 50, layers: [relu]}\n", "x.yaml"),
                       report.Options())
    assert len({id(r.output_shape) for r in rep.rows}) == 1 and rep.rows[-1].output_shape == (8, 8, 3)
    assert len({id(r.input_shapes) for r in rep.rows[1:]}) == 1
