"""cnncalc/report.py: the rows, totals and textbook memory of one analysed model, and its JSON form."""

from __future__ import annotations

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
