"""Backward MACs per layer (cnncalc/backward.py): each gradient product the size of the forward one."""

from __future__ import annotations

from pathlib import Path

from cnncalc import backward, pipeline, report

ROOT = Path(__file__).resolve().parent.parent


def _vgg16():
    return pipeline.analyze_text((ROOT / "specs" / "vgg16.yaml").read_text(), "specs/vgg16.yaml", "pytorch")


def test_backward_macs_equal_forward_except_the_first_input_gradient():
    built = report.build(_vgg16(), report.Options(memory_model="textbook", batch=2))
    layers = built.to_dict()["layers"]
    weighted = [layer for layer in layers if layer["type"] in ("conv", "fc")]
    assert weighted[0]["backward_input_macs"] == 0
    assert all(layer["backward_weight_macs"] == layer["macs"] for layer in weighted)
    assert all(layer["backward_input_macs"] == layer["macs"] for layer in weighted[1:])
    t = built.to_dict()["totals"]
    assert t["backward_weight_macs"] == t["macs"]
    assert t["backward_input_macs"] == t["macs"] - weighted[0]["macs"]


def test_no_input_gradient_through_parameterless_layers_from_the_input():
    text = ("name: t\ninput: 8x8x4\nlayers:\n  - pool: {kernel: 2}\n  - conv: {filters: 2, kernel: 1}\n"
            "  - conv: {filters: 2, kernel: 1}\n")
    grads = backward.backward(pipeline.analyze_text(text, "t.yaml"))
    assert [(g.input_grad, g.weight_grad) for g in grads] == [(0, 0), (0, 0), (0, 128), (64, 64)]
