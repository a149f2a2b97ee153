"""The layer kinds of modern CNNs (issue #14) against PyTorch 2.13 on random shapes and settings:
gelu, hardswish, hardsigmoid, leaky_relu, elu, mish, prelu, layernorm, groupnorm, instancenorm,
layer_scale, drop_path and permute.

Each through the registry's oracle (the kind's `torch_module`, tests/torch_nets.py): output shape,
parameters (the torch module's own), no MACs, the numpy forward within 1e-4, the bytes autograd
saves (saved_tensors_hooks) and the CPU allocator's peaks."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnncalc import memory
from cnncalc.conventions import get
from cnncalc.errors import ShapeError
from cnncalc.layers import KINDS
from cnncalc.layers.base import Context, MemoryContext
from cnncalc.pipeline import analyze_text
from cnncalc.shapes import Shape
from test_forwards import assert_matches, input_of
from torch_nets import GraphNet, batch_input, inference_peak, layer_module, saved_bytes, training_peak

CTX = Context(get("pytorch"), "k (test)")
MODERN = ["gelu", "hardswish", "hardsigmoid", "leaky_relu", "elu", "mish", "prelu", "layernorm", "groupnorm",
          "instancenorm", "layer_scale", "drop_path", "permute"]


@st.composite
def cases(draw, kinds=tuple(MODERN), ranks=(0, 1, 2, 3)):
    """(kind, its settings, rank, size, channels) with settings the kind accepts on that input."""
    kind = draw(st.sampled_from(kinds))
    rank = draw(st.sampled_from((1, 2, 3) if kind == "instancenorm" else ranks))
    # instance norm in training needs more than one position per channel
    size = draw(st.integers(2 if kind == "instancenorm" else 1, {0: 1, 1: 12, 2: 7, 3: 4}[rank]))
    channels = draw(st.integers(1, 6))
    inplace = draw(st.booleans())
    settings_of = {
        "gelu": lambda: {"approximate": draw(st.sampled_from(["none", "tanh"]))},
        "hardswish": lambda: {"inplace": inplace},
        "hardsigmoid": lambda: {"inplace": inplace},
        "mish": lambda: {"inplace": inplace},
        # PyTorch refuses an in-place backward with a negative slope or alpha
        "leaky_relu": lambda: {"negative_slope": draw(st.sampled_from([0.01, 0.2, 1.5] + ([] if inplace else [-0.3]))),
                               "inplace": inplace},
        "elu": lambda: {"alpha": draw(st.sampled_from([1.0, 0.5, 2.0])), "inplace": inplace},
        "prelu": lambda: {"num_parameters": draw(st.sampled_from([1, channels]))},
        "layernorm": lambda: {"affine": draw(st.booleans()), "eps": draw(st.sampled_from([1e-5, 1e-6, 0.1]))},
        "groupnorm": lambda: {"groups": draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0])),
                              "affine": draw(st.booleans())},
        "instancenorm": lambda: {"affine": draw(st.booleans())},
        "layer_scale": lambda: {"init": draw(st.sampled_from([1e-6, 0.5]))},
        "drop_path": lambda: {"rate": draw(st.sampled_from([0.0, 0.2, 0.5])), "mode": draw(st.sampled_from(["row", "batch"]))},
        "permute": lambda: {"to": draw(st.sampled_from(["channels_last", "channels_first"]))},
    }
    return kind, settings_of[kind](), rank, size, channels


def refused_by_pytorch(kind, params, rank, size, channels, batch) -> bool:
    """F.group_norm refuses a batch whose groups hold one value each (N * C/groups * positions == 1)."""
    return kind == "groupnorm" and batch * channels // params["groups"] * size**rank == 1


def spec_of(kind, params, rank, size, channels, after=False):
    """A conv (fc on vectors) first, so the kind reads a layer's output; `after`: a 1x1 conv (an fc) after it."""
    first = {"fc": channels} if rank == 0 else {"conv": {"filters": channels, "kernel": 1}}
    layers = [first, {kind: params}]
    if after:
        layers.append({"fc": 3} if rank == 0 else {"conv": {"filters": 3, "kernel": 1}})
    return {"input": input_of(rank, size, channels), "layers": layers}


def text_of(spec) -> str:
    import yaml

    return yaml.safe_dump(spec, sort_keys=False)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_shape_params_and_macs_are_the_torch_modules(case):
    kind, params, rank, size, channels = case
    shape = Shape((size,) * rank, channels)
    full = {p.name: p.default for p in KINDS[kind].params} | params
    inference = KINDS[kind].infer(full, (shape,), CTX)
    assert inference.macs == 0 and inference.bias_macs == 0  # torchvision's GFLOPS: none for these
    module = KINDS[kind].torch_module(full, (shape,), inference).eval()
    assert inference.params == sum(p.numel() for p in module.parameters())
    assert inference.buffers == sum(b.numel() for b in module.buffers())
    x = torch.randn(2, channels, *shape.spatial)
    with torch.no_grad():
        y = module(x)
    assert (*y.shape[2:], y.shape[1]) == inference.output.dims if rank else tuple(y.shape[1:]) == inference.output.dims


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(1, 3))
def test_numpy_forward_matches_pytorch(case, batch):
    kind, params, rank, size, channels = case
    assume(not refused_by_pytorch(*case, batch))
    assert_matches(spec_of(kind, params, rank, size, channels, after=True), "pytorch", batch)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(1, 3), st.booleans())
def test_saved_bytes_are_what_autograd_saves(case, batch, first):
    """Byte for byte: the unique storages saved_tensors_hooks sees, parameters excluded; `first`:
    the kind reads the network input (which needs no gradient)."""
    kind, params, rank, size, channels = case
    assume(not refused_by_pytorch(*case, batch))
    spec = spec_of(kind, params, rank, size, channels, after=True)
    if first:
        spec["layers"] = spec["layers"][1:]
    analysis = analyze_text(text_of(spec), "<modern>", "pytorch")
    assert analysis.ok, [d.message for d in analysis.diagnostics]
    torch.manual_seed(0)
    measured = saved_bytes(GraphNet(analysis), batch_input(analysis, batch))
    mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="sgd")
    assert mem.activations_bytes == measured


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(ranks=(0, 2)))
def test_saved_bytes_under_autocast(case):
    """--amp bfloat16 against CPU autocast: the activations keep their dtype except prelu's (a
    half-precision op: a half copy of its input and weight) and layer_scale's (float32 scalars
    promote its output to float32); normalisation statistics are float32 beside an affine scale,
    else bfloat16."""
    kind, params, rank, size, channels = case
    assume(not refused_by_pytorch(*case, 2))
    analysis = analyze_text(text_of(spec_of(kind, params, rank, size, channels, after=True)), "<amp>", "pytorch")
    torch.manual_seed(0)
    measured = saved_bytes(GraphNet(analysis), batch_input(analysis, 2), autocast=torch.bfloat16)
    mem = memory.pytorch(analysis, batch=2, dtype="float32", optimizer="adam", amp="bfloat16")
    assert mem.activations_bytes == measured


#: (layer, where): the layer between two convolutions (fc on vectors), or reading the network input
PEAK_CASES = [
    *[(layer, where) for layer in ("gelu", "gelu: tanh", "hardswish", "hardswish: {inplace: true}",
                                   "hardsigmoid: {inplace: true}", "leaky_relu: {inplace: true}", "elu",
                                   "elu: {inplace: true}", "mish: {inplace: true}", "prelu", "prelu: 8",
                                   "groupnorm: 2", "groupnorm: {groups: 4, affine: false}", "instancenorm",
                                   "instancenorm: {affine: true}", "layer_scale", "drop_path: 0.2",
                                   "drop_path: {rate: 0.2, mode: batch}", "permute")
      for where in ("between", "first", "vector")
      if not (where == "vector" and layer.startswith("instancenorm"))],
    ("layernorm", "vector"), ("layernorm: {affine: false}", "vector"),
]


@pytest.mark.parametrize("layer, where", PEAK_CASES)
@pytest.mark.parametrize("batch", [1, 8])
def test_peaks_as_the_cpu_allocator_sees_them(layer, where, batch):
    """Training and inference peaks within 2 % (measured: exact but for a few bytes) of the CPU
    allocator's. Layer norm on a feature map is left out: its output is channels-last memory, and the
    convolutions around it then run other kernels than the NCHW ones cnncalc models."""
    body = {"between": ["conv: {filters: 8, kernel: 3, padding: 1}", layer, "conv: {filters: 8, kernel: 1}"],
            "first": [layer, "conv: {filters: 8, kernel: 1}"],
            "vector": ["global_pool: avg", "fc: 8", layer, "fc: 4"]}[where]
    text = "input: 16x16x8\nlayers:\n" + "".join(f"  - {line}\n" for line in body)
    analysis = analyze_text(text, "<peaks>", "pytorch")
    torch.manual_seed(0)
    model = GraphNet(analysis)
    x = batch_input(analysis, batch)
    mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="sgd")
    assert mem.training_bytes == pytest.approx(training_peak(model, x, "sgd")[0], rel=0.02)
    assert mem.inference_bytes == pytest.approx(inference_peak(model, x), rel=0.02)


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_on_a_map_saves_its_input_and_two_statistics_per_position(batch, affine):
    """ConvNeXt's LayerNorm2d: the input (its storage, through the channels-last view), and the
    mean and 1/std of each of the N*H*W positions, float32. (Peaks: the convolutions around it read and
    return channels-last memory, whose kernels cnncalc does not model.)"""
    text = f"input: 10x12x6\nlayers:\n  - conv: {{filters: 6, kernel: 3, padding: 1}}\n  - layernorm: {{affine: {str(affine).lower()}}}\n  - conv: {{filters: 4, kernel: 1}}\n"
    analysis = analyze_text(text, "<ln>", "pytorch")
    torch.manual_seed(0)
    model = GraphNet(analysis)
    x = batch_input(analysis, batch)
    mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="sgd")
    conv_input = x.numel() * 4
    assert saved_bytes(model, x) == mem.activations_bytes
    assert mem.layers[2].saved_bytes == batch * 10 * 12 * (6 * 4 + 2 * 4)
    assert mem.layers[1].saved_bytes == conv_input


# ---------------------------------------------------------------------------------------------
# settings and refusals


def test_prelu_takes_one_slope_or_one_per_channel():
    shape = Shape((4, 4), 8)
    assert KINDS["prelu"].infer({"num_parameters": 8}, (shape,), CTX).params == 8
    assert KINDS["prelu"].infer({"num_parameters": 1}, (shape,), CTX).params == 1
    with pytest.raises(ShapeError) as error:
        KINDS["prelu"].infer({"num_parameters": 3}, (shape,), CTX)
    assert error.value.code == "CNN216"
    with pytest.raises(RuntimeError):  # PyTorch agrees
        torch.nn.PReLU(3)(torch.zeros(1, 8, 4, 4))


def test_groupnorm_groups_must_divide_the_channels():
    with pytest.raises(ShapeError) as error:
        KINDS["groupnorm"].infer({"groups": 3, "affine": True, "eps": 1e-5}, (Shape((4, 4), 8),), CTX)
    assert error.value.code == "CNN217"
    with pytest.raises(ValueError):
        torch.nn.GroupNorm(3, 8)
    assert KINDS["groupnorm"].infer({"groups": 4, "affine": True, "eps": 1e-5}, (Shape((4, 4), 8),), CTX).params == 16


def test_instancenorm_needs_a_feature_map_and_is_not_affine_by_default():
    kind = KINDS["instancenorm"]
    assert kind.param("affine").default is False
    assert kind.infer({"affine": False, "eps": 1e-5}, (Shape((4, 4), 8),), CTX).params == 0
    with pytest.raises(ShapeError) as error:
        kind.infer({"affine": False, "eps": 1e-5}, (Shape((), 8),), CTX)
    assert error.value.code == "CNN206"


@pytest.mark.parametrize("spec, expected", [
    ("gelu", {"approximate": "none"}), ("gelu: tanh", {"approximate": "tanh"}),
    ("leaky_relu", {"negative_slope": 0.01, "inplace": False}), ("leaky_relu: 0.2", {"negative_slope": 0.2}),
    ("elu: 0.5", {"alpha": 0.5}), ("prelu: 6", {"num_parameters": 6}), ("groupnorm: 3", {"groups": 3}),
    ("drop_path: 0.3", {"rate": 0.3, "mode": "row"}), ("layer_scale: 0.1", {"init": 0.1}),
    ("permute", {"to": "channels_last"}), ("hard_swish", {"inplace": False}),
])
def test_shorthands_and_defaults(spec, expected):
    analysis = analyze_text(f"input: 4x4x6\nlayers:\n  - {spec}\n", "<s>", "pytorch")
    assert analysis.ok, [d.message for d in analysis.diagnostics]
    params = analysis.results[1].node.params
    assert {key: params[key] for key in expected} == expected


def test_gelu_forms_differ_as_pytorchs_do():
    spec = lambda form: {"input": {"units": 6}, "layers": [{"fc": 6}, {"gelu": form}]}  # noqa: E731
    assert_matches(spec("none"), generated=False)
    assert_matches(spec("tanh"), generated=False)
    x = torch.linspace(-3, 3, 13)
    assert not torch.allclose(torch.nn.GELU()(x), torch.nn.GELU("tanh")(x), atol=1e-5)


@pytest.mark.parametrize("mode, elements", [("row", 5), ("batch", 1)])
def test_drop_path_saves_one_mask_value_per_sample_and_is_the_identity_at_inference(mode, elements):
    text = f"input: 6x6x3\nlayers:\n  - conv: {{filters: 3, kernel: 1}}\n  - drop_path: {{rate: 0.5, mode: {mode}}}\n"
    analysis = analyze_text(text, "<dp>", "pytorch")
    mem = memory.pytorch(analysis, batch=5, dtype="float32", optimizer="sgd")
    assert mem.layers[2].saved_bytes == elements * 4
    torch.manual_seed(0)
    model = GraphNet(analysis)
    x = batch_input(analysis, 5)
    assert saved_bytes(model, x) == mem.activations_bytes
    rule = KINDS["drop_path"].memory_rule(analysis.results[2].node.params, analysis.results[2].inputs,
                                          analysis.results[2].inference,
                                          MemoryContext(batch=5, act_bytes=4, param_bytes=4, training=False))
    assert rule.aliases_input
    module = layer_module(analysis.results[2]).eval()
    y = torch.randn(5, 3, 6, 6)
    assert module(y) is y


def test_permute_is_a_view_with_nothing_countable():
    analysis = analyze_text("input: 6x6x3\nlayers:\n  - conv: {filters: 3, kernel: 1}\n  - permute\n  - relu\n",
                            "<p>", "pytorch")
    result = analysis.results[2]
    assert (result.output, result.inference.params, result.inference.macs) == (result.inputs[0], 0, 0)
    mem = memory.pytorch(analysis, batch=2, dtype="float32", optimizer="sgd")
    assert mem.layers[2].output_bytes == 0 and mem.layers[2].saved_bytes == 0
    y = torch.randn(2, 3, 6, 6)
    assert layer_module(result)(y).data_ptr() == y.data_ptr()


def test_inplace_activations_overwrite_their_input():
    """In place the output is the input's storage: elu and leaky_relu then save that result,
    hardswish, hardsigmoid and mish a copy of the input taken before it is overwritten."""
    x = Shape((6, 6), 3)
    ctx = MemoryContext(batch=2, act_bytes=4, param_bytes=4)
    for kind, keeps_result in [("elu", True), ("leaky_relu", True), ("hardswish", False), ("hardsigmoid", False),
                               ("mish", False)]:
        params = {p.name: p.default for p in KINDS[kind].params} | {"inplace": True}
        rule = KINDS[kind].memory_rule(params, (x,), KINDS[kind].infer(params, (x,), CTX), ctx)
        assert rule.aliases_input and not rule.saves_inputs
        assert rule.saves_output == keeps_result
        assert rule.extra_saved == (0 if keeps_result else 2 * 6 * 6 * 3 * 4)
