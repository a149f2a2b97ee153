"""The channel-wise kinds of issue #14 against PyTorch 2.13 on random shapes and settings: the
`multiply` merge (squeeze-and-excitation's x * gate(x)), the `split` construct with its
`channel_slice` views (ShuffleNetV2's chunk), `channel_shuffle`, and `fc` per position (ConvNeXt's
MLP on a channels-last map).

Each random spec runs through the registry's oracle (tests/torch_nets.py): output shape and
parameters of the torch network, the numpy forward within 1e-4, the bytes autograd saves
(saved_tensors_hooks), and for a few blocks the CPU allocator's peaks."""

from __future__ import annotations

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc import memory
from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import analyze_text
from test_forwards import assert_matches, input_of
from torch_nets import GraphNet, batch_input, inference_peak, saved_bytes, training_peak

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pointwise(filters: int, rank: int) -> dict:
    """A layer with weights that keeps the positions: a 1x1 conv, or fc on vectors."""
    return {"fc": filters} if rank == 0 else {"conv": {"filters": filters, "kernel": 1}}


@st.composite
def multiply_layers(draw, rank: int, channels: int) -> list:
    """x * gate(x) with every gate shape that broadcasts: the map itself, 1x1xC, a vector of C, HxWx1."""
    gates = ["map"] + (["pooled", "vector", "one_channel"] if rank else [])
    gate = draw(st.sampled_from(gates))
    squeeze = max(1, channels // 2)
    body = {
        "map": [{"sigmoid": None}],
        "pooled": [{"global_pool": "avg"}, _pointwise(squeeze, rank), {"relu": None}, _pointwise(channels, rank),
                   {"sigmoid": None}],
        "vector": [{"global_pool": "avg"}, {"flatten": None}, {"fc": channels}, {"hardsigmoid": None}],
        "one_channel": [_pointwise(1, rank), {"sigmoid": None}],
    }[gate]
    branches = [[], body] if draw(st.booleans()) else [body, []]
    return [{"multiply": branches}]


@st.composite
def split_layers(draw, rank: int, channels: int) -> list:
    groups = draw(st.sampled_from([g for g in (2, 3, 4) if channels % g == 0] or [1]))
    if groups == 1:
        groups, channels = 2, 2 * channels
    merge = draw(st.sampled_from(["concat", "add"]))
    size = channels // groups
    sections = None
    if merge == "concat" and draw(st.booleans()):
        cuts = sorted(draw(st.sets(st.integers(1, channels - 1), min_size=1, max_size=3)))
        sections = [b - a for a, b in zip([0, *cuts], [*cuts, channels])]
    branches = []
    for part in sections or [size] * groups:
        if draw(st.booleans()) and merge == "concat":
            branches.append([])
        else:
            width = part if merge == "add" else draw(st.integers(1, 5))
            branches.append([_pointwise(width, rank), {"relu": None}])
    if merge == "add" and all(b == [] for b in branches):
        branches[0] = [_pointwise(size, rank)]
    split = {"branches": branches, "merge": merge}
    if sections:
        split["sections"] = sections
    return [_pointwise(channels, rank), {"split": split}]


@st.composite
def shuffle_layers(draw, rank: int, channels: int) -> list:
    groups = draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    return [{"channel_shuffle": groups}]


@st.composite
def per_position_layers(draw, rank: int, channels: int) -> list:
    """ConvNeXt's MLP: after a layer norm (channels-last storage), or straight after a convolution."""
    before = [{"layernorm": None}] if draw(st.booleans()) else []
    units = draw(st.integers(1, 7))
    return [*before, {"fc": {"units": units, "per_position": True, "bias": draw(st.booleans())}}, {"gelu": None},
            {"fc": {"units": channels, "per_position": True}}]


BUILDERS = {"multiply": multiply_layers, "split": split_layers, "channel_shuffle": shuffle_layers,
            "fc_per_position": per_position_layers}


@st.composite
def specs(draw, features=tuple(BUILDERS), ranks=(0, 1, 2, 3)):
    """(feature, spec): the feature's layers between a layer with weights and a 1x1 conv (fc on vectors)."""
    feature = draw(st.sampled_from(features))
    rank = draw(st.sampled_from(ranks))
    size = draw(st.integers(1, {0: 1, 1: 9, 2: 6, 3: 3}[rank]))
    channels = draw(st.integers(1, 6))
    layers = draw(BUILDERS[feature](rank, channels))
    spec = {"input": input_of(rank, size, channels), "layers": [_pointwise(channels, rank), *layers, _pointwise(3, rank)]}
    return feature, spec


def analysed(spec: dict):
    analysis = analyze_text(yaml.safe_dump(spec, sort_keys=False), "<channels>", "pytorch")
    assert analysis.ok, [d.message for d in analysis.diagnostics]
    return analysis


def torch_macs(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Conv and linear multiply-adds from the shapes torch runs (forward hooks), bias excluded."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Linear):
            total += output.numel() * module.in_features
        else:
            total += output.numel() * module.weight[0].numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d))]
    with torch.no_grad():
        model.eval()(x)
    for handle in handles:
        handle.remove()
    return total // x.shape[0]


@SETTINGS
@given(specs())
def test_shapes_params_and_macs_are_the_torch_networks(case):
    _, spec = case
    analysis = analysed(spec)
    model = GraphNet(analysis)
    x = batch_input(analysis, 2)
    with torch.no_grad():
        y = model.eval()(x)
    out = analysis.results[-1].output
    assert (tuple(y.shape[2:]) + (y.shape[1],) if out.rank else tuple(y.shape[1:])) == out.dims
    assert sum(r.inference.params for r in analysis.results) == sum(p.numel() for p in model.parameters())
    assert sum(r.inference.macs for r in analysis.results) == torch_macs(model, x)


@SETTINGS
@given(specs(), st.integers(1, 3))
def test_numpy_forward_matches_pytorch(case, batch):
    _, spec = case
    assert_matches(spec, "pytorch", batch)


@SETTINGS
@given(specs(), st.integers(1, 3), st.booleans())
def test_saved_bytes_are_what_autograd_saves(case, batch, first):
    """Byte for byte: the unique storages saved_tensors_hooks sees, parameters excluded; `first`: the
    feature reads the network input (which needs no gradient: a product then keeps only the factor
    the gate's gradient needs)."""
    _, spec = case
    if first:
        spec["layers"] = spec["layers"][1:]
    analysis = analysed(spec)
    torch.manual_seed(0)
    measured = saved_bytes(GraphNet(analysis), batch_input(analysis, batch))
    assert memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="sgd").activations_bytes == measured


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs(ranks=(0, 2)))
def test_saved_bytes_under_autocast(case):
    _, spec = case
    analysis = analysed(spec)
    torch.manual_seed(0)
    measured = saved_bytes(GraphNet(analysis), batch_input(analysis, 2), autocast=torch.bfloat16)
    mem = memory.pytorch(analysis, batch=2, dtype="float32", optimizer="adam", amp="bfloat16")
    assert mem.activations_bytes == measured


# ---------------------------------------------------------------------------------------------
# the blocks of modern CNNs, as torchvision writes them, against the CPU allocator

SQUEEZE_EXCITE = """
  - conv: {filters: 16, kernel: 3, padding: 1}
  - multiply: [[], [global_pool: avg, conv: {filters: 4, kernel: 1}, relu, conv: {filters: 16, kernel: 1}, sigmoid]]
  - conv: {filters: 8, kernel: 1}
"""
CONVNEXT = """
  - conv: {filters: 16, kernel: 1}
  - residual:
      - conv: {filters: 16, kernel: 7, padding: 3, groups: 16}
      - permute
      - layernorm: {eps: 1.0e-6}
      - fc: {units: 64, per_position: true}
      - gelu
      - fc: {units: 16, per_position: true}
      - layer_scale
      - permute: {to: channels_first}
  - conv: {filters: 8, kernel: 1}
"""
SHUFFLE_UNIT = """
  - conv: {filters: 16, kernel: 1}
  - split:
      - []
      - [conv: {filters: 8, kernel: 1}, relu, conv: {filters: 8, kernel: 3, padding: 1, groups: 8},
         conv: {filters: 8, kernel: 1}, relu]
  - channel_shuffle: 2
  - conv: {filters: 8, kernel: 1}
"""


@pytest.mark.parametrize("body, batch, tolerance", [
    (SQUEEZE_EXCITE, 1, 0.0), (SQUEEZE_EXCITE, 8, 0.0), (CONVNEXT, 1, 0.0), (CONVNEXT, 8, 0.0),
    (SHUFFLE_UNIT, 1, 0.0),
    # at batch > 1 a channel slice of NCHW memory is not contiguous: the convolution reading it
    # copies it first, a transient cnncalc does not model
    (SHUFFLE_UNIT, 8, 0.12),
], ids=["se-1", "se-8", "convnext-1", "convnext-8", "shuffle-1", "shuffle-8"])
def test_block_peaks_as_the_cpu_allocator_sees_them(body, batch, tolerance):
    analysis = analyze_text("input: 12x12x8\nlayers:" + body, "<block>", "pytorch")
    assert analysis.ok, [d.message for d in analysis.diagnostics]
    torch.manual_seed(0)
    model = GraphNet(analysis)
    x = batch_input(analysis, batch)
    mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="sgd")
    assert mem.activations_bytes == saved_bytes(model, x)
    measured = training_peak(model, x, "sgd")[0]
    assert measured * (1 - tolerance) <= mem.training_bytes <= measured
    measured = inference_peak(model, x)
    assert measured * (1 - tolerance) <= mem.inference_bytes <= measured


def test_squeeze_excitation_keeps_the_map_and_the_gate():
    """MulBackward0 keeps x for the gate's gradient and the 1x1xC gate for x's."""
    analysis = analyze_text("input: 12x12x8\nlayers:" + SQUEEZE_EXCITE, "<se>", "pytorch")
    product = next(r for r in analysis.results if r.node.type == "multiply")
    assert product.output.dims == (12, 12, 16) and product.inference.params == product.inference.macs == 0
    mem = memory.pytorch(analysis, batch=2, dtype="float32", optimizer="sgd")
    row = mem.layers[product.node.index]
    # the map (first saved here: the conv before keeps its own input); the gate is the sigmoid's output
    assert row.saved_bytes == 2 * 12 * 12 * 16 * 4


def test_per_position_fc_counts_each_position():
    analysis = analyze_text("input: 7x7x96\nlayers:\n  - fc: {units: 384, per_position: true}\n", "<fc>", "pytorch")
    result = analysis.results[1]
    assert result.output.dims == (7, 7, 384)
    assert result.inference.params == 96 * 384 + 384
    assert result.inference.macs == 7 * 7 * 96 * 384
    assert result.inference.bias_macs == 7 * 7 * 384
    flat = analyze_text("input: 7x7x96\nlayers:\n  - fc: 384\n", "<fc>", "pytorch").results[1]
    assert flat.output.dims == (384,) and flat.inference.params == 7 * 7 * 96 * 384 + 384


def test_split_builds_one_view_per_branch_and_a_merge():
    text = "input: 4x4x6\nlayers:\n  - split: {groups: 3, branches: [[], [relu], [conv: {filters: 2, kernel: 1}]]}\n"
    analysis = analyze_text(text, "<split>", "pytorch")
    names = [(r.node.name, r.node.type, r.output.dims) for r in analysis.results]
    assert names == [("input", "input", (4, 4, 6)),
                     ("branch1/channel_slice1", "channel_slice", (4, 4, 2)),
                     ("branch2/channel_slice1", "channel_slice", (4, 4, 2)), ("branch2/relu1", "relu", (4, 4, 2)),
                     ("branch3/channel_slice1", "channel_slice", (4, 4, 2)), ("branch3/conv1", "conv", (4, 4, 2)),
                     ("split1", "concat", (4, 4, 6))]
    mem = memory.pytorch(analysis, batch=2, dtype="float32", optimizer="sgd")
    assert all(mem.layers[i].output_bytes == 0 for i in (1, 2, 4))  # views


def test_channel_shuffle_interleaves_the_groups():
    analysis = analyze_text("input: 1x1x6\nlayers:\n  - channel_shuffle: 3\n", "<shuffle>", "pytorch")
    import numpy as np

    from cnncalc import executor

    x = np.arange(6, dtype=np.float32).reshape(1, 1, 1, 6)
    run = executor.execute(executor.plan(analysis, 1), measure=False, given_input=x.copy())
    assert run.output.reshape(-1).tolist() == [0, 2, 4, 1, 3, 5]
    assert torch.nn.ChannelShuffle(3)(torch.arange(6.0).reshape(1, 6, 1, 1)).reshape(-1).tolist() == [0, 2, 4, 1, 3, 5]


# ---------------------------------------------------------------------------------------------
# refusals: located, with their codes


@pytest.mark.parametrize("layers, code, where", [
    ("  - multiply: [[], [conv: {filters: 4, kernel: 1}]]\n", "CNN204", (3, 5)),
    ("  - multiply: [[], [pool: 2]]\n", "CNN204", (3, 5)),
    ("  - multiply: [[], [sigmoid], [relu]]\n", "CNN225", (3, 5)),
    ("  - multiply: [[]]\n", "CNN224", (3, 5)),
    ("  - channel_shuffle: 4\n", "CNN226", (3, 5)),
    ("  - split: [[], [], [], [], []]\n", "CNN226", (3, 5)),
    ("  - split: {sections: [2, 2], branches: [[], []]}\n", "CNN226", (3, 5)),
    ("  - split: {groups: 3, branches: [[], []]}\n", "CNN226", (3, 21)),
    ("  - split: {groups: 2, sections: [3, 3], branches: [[], []]}\n", "CNN226", (3, 13)),
    ("  - split: {merge: multiply, branches: [[], []]}\n", None, (3, 20)),
    ("  - split: {branches: [[], [conv: {filters: 2, kernel: 1}]], merge: add}\n", "CNN204", (3, 5)),
    ("  - channel_slice: {groups: 2, index: 2}\n", "CNN226", (3, 5)),
])
def test_refusals_are_located(layers, code, where):
    """On a 4x4x6 input: 6 channels do not split into 4 or 5 groups, sections must add up to 6."""
    text = "input: 4x4x6\nlayers:\n" + layers
    try:
        analysis = analyze_text(text, "<bad>", "pytorch")
    except CnnCalcError as error:
        assert (error.loc.line, error.loc.col) == where
        assert code is None or error.code == code
        return
    assert not analysis.ok
    diagnostic = next(d for d in analysis.diagnostics if d.severity == "error")
    assert diagnostic.code == code
    assert (diagnostic.loc.line, diagnostic.loc.col) == where
    assert diagnostic.hint


@pytest.mark.parametrize("branches, kept", [
    # the gate needs a gradient, the network input does not: only the input is kept (for the gate's)
    ("[[], [global_pool: avg, conv: {filters: 6, kernel: 1}, hardsigmoid]]", "map"),
    # the map needs one, the gate (computed from the input without weights) does not: only the gate
    ("[[conv: {filters: 6, kernel: 1}], [global_pool: avg, hardsigmoid]]", "gate"),
])
@pytest.mark.parametrize("batch", [1, 3])
def test_a_product_keeps_each_factor_only_for_the_other_factors_gradient(branches, kept, batch):
    analysis = analyze_text(f"input: 5x5x6\nlayers:\n  - multiply: {branches}\n  - conv: {{filters: 2, kernel: 1}}\n",
                            "<mul>", "pytorch")
    assert analysis.ok
    product = next(r for r in analysis.results if r.node.type == "multiply")
    mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="sgd")
    assert mem.layers[product.node.index].saved_bytes == batch * 4 * (5 * 5 * 6 if kept == "map" else 6)
    torch.manual_seed(0)
    assert mem.activations_bytes == saved_bytes(GraphNet(analysis), batch_input(analysis, batch))
