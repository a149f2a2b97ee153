"""Grouped, depthwise, dilated and 1-D/3-D convolutions against PyTorch's Conv modules."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.conventions import get
from cnncalc.layers import KINDS
from cnncalc.layers.base import Context
from cnncalc.shapes import Shape

CTX = Context(get("pytorch"), "c (test)")
TORCH = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
WORD = {1: "conv1d", 2: "conv2d", 3: "conv3d"}


def test_depthwise_is_conv_with_one_group_per_channel():
    full = {"kernel": 3, "stride": 1, "padding": 0, "dilation": 1, "multiplier": 1, "bias": False}
    result = KINDS["depthwise"].infer(full, (Shape((16, 16), 32),), CTX)
    # semantics.md §5.2: depthwise Conv2d(32, 32, 3, groups=32) on 16x16 (-> 14x14 unpadded here)
    layer = torch.nn.Conv2d(32, 32, 3, groups=32, bias=False)
    assert result.params == layer.weight.numel() == 288
    assert result.macs == 288 * 14 * 14
    doubled = KINDS["depthwise"].infer({**full, "multiplier": 2, "bias": True}, (Shape((16, 16), 32),), CTX)
    assert doubled.output.channels == 64 and doubled.params == 640


@settings(max_examples=60, deadline=None)
@given(rank=st.integers(1, 3), data=st.data())
def test_grouped_dilated_convs_of_any_rank_match_torch(rank, data):
    groups = data.draw(st.sampled_from([1, 2, 4]))
    c_in, c_out = groups * data.draw(st.integers(1, 3)), groups * data.draw(st.integers(1, 3))
    kernel = data.draw(st.integers(1, 3))
    dilation = data.draw(st.integers(1, 3))
    stride = data.draw(st.integers(1, 3))
    pad = data.draw(st.integers(0, 2))
    k_eff = dilation * (kernel - 1) + 1
    spatial = tuple(data.draw(st.lists(st.integers(max(1, k_eff - 2 * pad), 9), min_size=rank, max_size=rank)))
    layer = TORCH[rank](c_in, c_out, kernel, stride=stride, padding=pad, dilation=dilation, groups=groups)
    with torch.no_grad():
        y = layer(torch.zeros(1, c_in, *spatial))
    params = {"filters": c_out, "kernel": kernel, "stride": stride, "padding": pad, "dilation": dilation,
              "groups": groups, "bias": True}
    result = KINDS[WORD[rank]].infer(params, (Shape(spatial, c_in),), CTX)
    assert result.output.dims == (*y.shape[2:], y.shape[1])
    assert result.params == sum(p.numel() for p in layer.parameters())
    assert result.macs == layer.weight.numel() * y[0, 0].numel()
