"""conv_transpose against PyTorch's ConvTranspose1d/2d/3d: shapes, parameters, error cases and
MACs counted per input position (what torch.utils.flop_counter counts, halved)."""

from __future__ import annotations

from math import prod

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from cnncalc.conventions import get
from cnncalc.errors import ShapeError
from cnncalc.layers import KINDS
from cnncalc.layers.base import Context
from cnncalc.shapes import Shape

TORCH_CLASSES = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}


def infer(params: dict, shape: Shape):
    full = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1, "bias": True, **params}
    return KINDS["conv_transpose"].infer(full, (shape,), Context(get("pytorch"), "up (conv_transpose)"))


@pytest.mark.parametrize(
    "w, k, s, p, op, d, out",
    [(7, 3, 2, 1, 1, 1, 14), (7, 3, 2, 1, 0, 1, 13), (4, 4, 2, 1, 0, 1, 8), (1, 4, 1, 0, 0, 1, 4),
     (5, 3, 1, 0, 0, 2, 9), (3, 3, 3, 0, 2, 1, 11), (10, 5, 2, 2, 1, 1, 20), (3, 3, 1, 0, 1, 2, 8)],
)
def test_worked_examples_from_the_semantics_notes(w, k, s, p, op, d, out):
    result = infer({"filters": 8, "kernel": k, "stride": s, "padding": p, "output_padding": op, "dilation": d},
                   Shape((w, w), 4))
    assert result.output == Shape((out, out), 8)


def test_output_padding_must_be_below_stride_or_dilation():
    with pytest.raises(ShapeError) as error:
        infer({"filters": 8, "kernel": 3, "stride": 3, "output_padding": 3}, Shape((3, 3), 4))
    assert error.value.code == "CNN210"


def test_an_empty_output_is_an_error():
    with pytest.raises(ShapeError) as error:
        infer({"filters": 8, "kernel": 3, "padding": 2}, Shape((2, 2), 4))
    assert error.value.code == "CNN211"


def test_dcgan_block_counts_macs_per_input_position_not_per_output():
    # semantics.md §5.2: ConvTranspose2d(16, 8, 4, s2, p1) on 8x8 -> 16x16 is 131,072 MACs (thop says 524,288).
    result = infer({"filters": 8, "kernel": 4, "stride": 2, "padding": 1, "bias": False}, Shape((8, 8), 16))
    assert result.output == Shape((16, 16), 8)
    assert result.macs == 131_072
    assert result.params == 16 * 8 * 4 * 4


def test_grouped_parameters_match_the_semantics_notes():
    assert infer({"filters": 32, "kernel": 3, "groups": 4}, Shape((5, 5), 16)).params == 1_184


@st.composite
def settings_(draw):
    rank = draw(st.integers(1, 3))
    axes = st.lists(st.integers(1, 4), min_size=rank, max_size=rank)
    groups = draw(st.sampled_from([1, 2]))
    return {
        "rank": rank,
        "spatial": tuple(draw(st.lists(st.integers(1, 6), min_size=rank, max_size=rank))),
        "channels": groups * draw(st.integers(1, 3)),
        "filters": groups * draw(st.integers(1, 3)),
        "groups": groups,
        "kernel": tuple(draw(axes)),
        "stride": tuple(draw(axes)),
        "padding": tuple(draw(st.lists(st.integers(0, 3), min_size=rank, max_size=rank))),
        "output_padding": tuple(draw(st.lists(st.integers(0, 3), min_size=rank, max_size=rank))),
        "dilation": tuple(draw(st.lists(st.integers(1, 3), min_size=rank, max_size=rank))),
        "bias": draw(st.booleans()),
    }


@settings(max_examples=80, deadline=None)
@given(settings_())
def test_agrees_with_pytorch_conv_transpose(case):
    keys = ("kernel", "stride", "padding", "output_padding", "dilation", "groups")
    torch_error = None
    try:
        torch_keys = {("kernel_size" if k == "kernel" else k): case[k] for k in keys}
        layer = TORCH_CLASSES[case["rank"]](case["channels"], case["filters"], bias=case["bias"], **torch_keys)
        x = torch.zeros(1, case["channels"], *case["spatial"])
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            y = layer(x)
        if 0 in y.shape[2:]:
            # PyTorch returns an empty tensor here (e.g. K=1, S=2, P=1, OP=1 on length 1); cnncalc refuses
            # an empty output (CNN211) as it does for every layer
            raise RuntimeError(f"empty output {tuple(y.shape)}")
    except (RuntimeError, ValueError) as error:
        torch_error = error
    else:
        if y.numel() == 0:  # PyTorch returns an empty tensor; cnncalc refuses an empty axis (CNN211)
            torch_error = ValueError("empty output")
    params = {k: case[k] for k in (*keys, "filters", "bias")}
    shape = Shape(case["spatial"], case["channels"])
    if torch_error is not None or 0 in y.shape:  # an empty output is an error for cnncalc even where torch allows it
        with pytest.raises(ShapeError):
            infer(params, shape)
        return
    result = infer(params, shape)
    assert result.output.dims == (*y.shape[2:], y.shape[1])
    assert result.params == sum(t.numel() for t in layer.parameters())
    assert result.macs == layer.weight.numel() * prod(case["spatial"])
    assert 2 * result.macs == counter.get_total_flops()
