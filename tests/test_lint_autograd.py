"""CNN309 against PyTorch itself: the rule fires exactly when a training step's backward raises
because an in-place op overwrote a tensor autograd saved."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc import report
from cnncalc.lint.engine import lint_text
from cnncalc.lint.options import LintOptions
from cnncalc.pipeline import analyze_text
from torch_nets import GraphNet, Unsupported, batch_input


def backward_raises(text: str) -> bool:
    analysis = analyze_text(text, "<spec>", "pytorch")
    torch.manual_seed(0)
    model = GraphNet(analysis).train()
    out = model(batch_input(analysis, 2))
    try:
        out.backward(torch.ones_like(out))
    except RuntimeError as error:
        assert "modified by an inplace operation" in str(error)
        return True
    return False


def reported(text: str) -> bool:
    return any(d.code == "CNN309" for d in lint_text(text, "<spec>").diagnostics)


@pytest.mark.parametrize(("layers", "fails"), [
    (["sigmoid", "relu: {inplace: true}"], True),
    (["tanh", "relu: {inplace: true}"], True),
    (["relu", "relu: {inplace: true}"], True),
    (["relu: {inplace: true}", "relu: {inplace: true}"], True),
    (["batchnorm", "relu: {inplace: true}"], False),
    (["pool: 2", "relu: {inplace: true}"], False),
])
def test_inplace_after_a_layer_that_keeps_its_output(layers, fails):
    body = "".join(f"  - {layer}\n" for layer in layers)
    text = f"input: 8x8x3\nlayers:\n  - conv: {{filters: 4, kernel: 3, padding: 1}}\n{body}  - fc: 2\n"
    assert backward_raises(text) is fails
    assert reported(text) is fails


def test_inplace_after_a_branch_saved_the_same_tensor():
    """The residual branch's conv reads (and saves) x before the in-place ReLU on the other path."""
    text = """input: 8x8x4
layers:
  - conv: {filters: 4, kernel: 1, name: x}
  - add:
      - [conv: {filters: 4, kernel: 3, padding: 1}]
      - [relu: {inplace: true}]
  - fc: 2
"""
    assert backward_raises(text)
    assert reported(text)


@st.composite
def chains(draw):
    words = ["relu", "relu: {inplace: true}", "sigmoid", "tanh", "batchnorm", "pool: {kernel: 2, stride: 1}",
             "conv: {filters: 3, kernel: 1}", "dropout: 0.5"]
    layers = draw(st.lists(st.sampled_from(words), min_size=1, max_size=6))
    body = "".join(f"  - {layer}\n" for layer in layers)
    return f"input: 6x6x3\nlayers:\n  - conv: {{filters: 3, kernel: 1}}\n{body}  - fc: 2\n"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_the_rule_fires_exactly_when_backward_raises(text):
    try:
        fails = backward_raises(text)
    except Unsupported:
        return
    assert reported(text) is fails, text


def test_inplace_after_a_product_saved_the_same_tensor():
    """x * gate(x) keeps x for the gate's gradient: an in-place ReLU on x afterwards breaks backward."""
    text = """input: 8x8x4
layers:
  - conv: {filters: 4, kernel: 1, name: x}
  - residual:
      layers: [multiply: [[], [global_pool: avg, conv: {filters: 4, kernel: 1}, sigmoid]]]
      shortcut: [relu: {inplace: true}]
  - fc: 2
"""
    assert backward_raises(text)
    assert reported(text)


# ---------------------------------------------------------------------------------------------
# CNN207: a training batch norm over one value per channel


def forward_refused(text: str, batch: int) -> bool:
    analysis = analyze_text(text, "<spec>", "pytorch")
    model = GraphNet(analysis).train()
    try:
        model(batch_input(analysis, batch))
    except ValueError as error:
        assert "Expected more than 1 value per channel when training" in str(error)
        return True
    return False


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("layers", [
    ["global_pool: avg", "batchnorm"],          # a 1x1 map
    ["global_pool: avg", "flatten", "fc: 4", "batchnorm"],  # a vector
    ["batchnorm"],                             # 1x2 positions
])
def test_cnn207_fires_exactly_when_pytorch_refuses_to_train(layers, batch):
    body = "".join(f"  - {layer}\n" for layer in layers)
    text = f"input: 2x4x3\nlayers:\n  - conv: {{filters: 4, kernel: [2, 3]}}\n{body}"
    refused = forward_refused(text, batch)
    found = lint_text(text, "<spec>", LintOptions(select=("CNN207",), batch=batch)).diagnostics
    assert [d.code for d in found] == (["CNN207"] if refused else [])
    assert "CNN207" not in {d.code for d in lint_text(text, "<spec>", LintOptions(batch=batch)).diagnostics}  # opt-in
    # the report (analyze, its JSON) says so whatever lint selects
    codes = [w["code"] for w in report.build(analyze_text(text, "<spec>", "pytorch"),
                                             report.Options(batch=batch)).to_dict()["warnings"]]
    assert codes == (["CNN207"] if refused else [])
