"""upsample, adaptive_pool and zero_pad against PyTorch's Upsample, AdaptiveAvgPool and ZeroPad."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.conventions import get
from cnncalc.errors import ShapeError
from cnncalc.layers import KINDS
from cnncalc.layers.base import Context
from cnncalc.shapes import Shape

CTX = Context(get("pytorch"), "r (test)")


def torch_dims(y: torch.Tensor) -> tuple[int, ...]:
    return (*y.shape[2:], y.shape[1])


@settings(max_examples=50, deadline=None)
@given(rank=st.integers(1, 3), data=st.data())
def test_upsample_nearest_matches_torch(rank, data):
    spatial = tuple(data.draw(st.lists(st.integers(1, 7), min_size=rank, max_size=rank)))
    scale = data.draw(st.sampled_from([1, 2, 3, 0.5, 1.5, 2.5]))
    x = torch.zeros(1, 2, *spatial)
    try:
        y = F.interpolate(x, scale_factor=scale, mode="nearest")
    except RuntimeError:  # an empty output
        with pytest.raises(ShapeError):
            KINDS["upsample"].infer({"scale": scale, "mode": "nearest"}, (Shape(spatial, 2),), CTX)
        return
    result = KINDS["upsample"].infer({"scale": scale, "mode": "nearest"}, (Shape(spatial, 2),), CTX)
    assert result.output.dims == torch_dims(y)


def test_bilinear_needs_two_spatial_axes():
    with pytest.raises(ShapeError) as error:
        KINDS["upsample"].infer({"scale": 2, "mode": "bilinear"}, (Shape((8,), 4),), CTX)
    assert error.value.code == "CNN212"
    out = KINDS["upsample"].infer({"scale": 2, "mode": "bilinear"}, (Shape((8, 6), 4),), CTX).output
    assert out.dims == torch_dims(F.interpolate(torch.zeros(1, 4, 8, 6), scale_factor=2, mode="bilinear"))


@settings(max_examples=50, deadline=None)
@given(size=st.integers(1, 30), out=st.integers(1, 30))
def test_adaptive_pool_gives_any_requested_size_like_torch(size, out):
    y = F.adaptive_avg_pool2d(torch.zeros(1, 3, size, size + 1), (out, out))
    result = KINDS["adaptive_pool"].infer({"output": out, "mode": "avg"}, (Shape((size, size + 1), 3),), CTX)
    assert result.output.dims == torch_dims(y)
    assert result.params == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=4, max_size=4), st.integers(1, 9), st.integers(1, 9))
def test_zero_pad_before_after_pairs_match_torch(pads, h, w):
    top, bottom, left, right = pads
    y = torch.nn.ZeroPad2d((left, right, top, bottom))(torch.zeros(1, 2, h, w))
    result = KINDS["zero_pad"].infer({"padding": (top, bottom, left, right)}, (Shape((h, w), 2),), CTX)
    assert result.output.dims == torch_dims(y)


def test_zero_pad_refuses_same():
    with pytest.raises(ShapeError) as error:
        KINDS["zero_pad"].infer({"padding": "same"}, (Shape((4, 4), 2),), CTX)
    assert error.value.code == "CNN214"


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("channels", [3, 16])
def test_upsample_peaks_as_the_cpu_allocator_sees_them(mode, batch, channels):
    """The 2-D kernels work on channels-last copies of input and output: without them the
    inference peak of this net was 45 % low."""
    from cnncalc import memory
    from cnncalc.pipeline import analyze_text
    from torch_nets import GraphNet, batch_input, inference_peak, training_peak

    text = f"input: 8x8x{channels}\nlayers:\n  - conv: {{filters: {channels}, kernel: 1}}\n  - upsample: {{scale: 2, mode: {mode}}}\n"
    analysis = analyze_text(text, "<upsample>", "pytorch")
    torch.manual_seed(0)
    model = GraphNet(analysis)
    x = batch_input(analysis, batch)
    mem = memory.pytorch(analysis, batch=batch, dtype="float32", optimizer="sgd")
    assert mem.training_bytes == pytest.approx(training_peak(model, x, "sgd")[0], rel=0.02)
    assert mem.inference_bytes == pytest.approx(inference_peak(model, x), rel=0.02)
