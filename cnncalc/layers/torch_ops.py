"""The torch side of `LayerKind.torch_module`: small modules and helpers the kinds' torch
equivalents share. Test-only: torch is a test dependency, never a runtime one, so this module is
imported only inside the `torch_module` methods (which tests/torch_nets.py calls)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def nn_class(name: str, rank: int) -> type[nn.Module]:
    """torch.nn's class for this many spatial axes: nn_class("Conv", 2) is nn.Conv2d."""
    return getattr(nn, f"{name}{rank}d")


def assign(target: torch.Tensor, array) -> None:
    """Copy one of the executor's arrays into a module's parameter or buffer."""
    with torch.no_grad():
        target.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def conv_weight(kernel) -> np.ndarray:
    """(*K, C_in/groups, filters), TensorFlow's layout, as PyTorch's (filters, C_in/groups, *K)."""
    return np.moveaxis(np.moveaxis(kernel, -1, 0), -1, 1)


def transposed_weight(kernel) -> np.ndarray:
    """(*K, filters/groups, C_in), TensorFlow's Conv2DTranspose layout, as PyTorch's (C_in, filters/groups, *K)."""
    rank = kernel.ndim - 2
    return np.transpose(kernel, (rank + 1, rank, *range(rank)))


def pad(pads: tuple[tuple[int, int], ...], value: float = 0.0) -> nn.Module:
    """Explicit (before, after) padding per spatial axis (F.pad's order starts at the last axis)."""
    flat = tuple(n for before_after in reversed(pads) for n in before_after)
    return nn_class("ConstantPad", len(pads))(flat, value)


class ChannelsLastFlatten(nn.Module):
    """Flattens (N, C, *spatial) in cnncalc's channels-last order (H, W, C), as Keras does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.movedim(1, -1).flatten(1) if x.ndim > 2 else x


class Sum(nn.Module):
    """The elementwise sum of two or more tensors, left to right (as eager code adds them)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0] + xs[1]
        for extra in xs[2:]:
            out = out + extra
        return out


class Cat(nn.Module):
    """Concatenation along the channels (dim 1 in NCHW)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d (ConvNeXt), for any number of spatial axes: layer norm over the
    channels of (N, C, *spatial), by permuting to channels-last, F.layer_norm, and permuting back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = (0, *range(2, x.ndim), 1)
        x = x.permute(*last)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth's computation: in training, each sample (mode 'row') or the
    whole batch ('batch') kept with probability 1 - p and scaled by 1 / (1 - p); the identity in eval
    mode or with p = 0."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device)
        noise = noise.bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise


class LayerScale(nn.Module):
    """ConvNeXt's layer scale: a learned (C, 1, ..., 1) parameter times the input, as torchvision's
    CNBlock computes `self.layer_scale * result`."""

    def __init__(self, channels: int, rank: int, init: float) -> None:
        super().__init__()
        self.layer_scale = nn.Parameter(torch.ones(channels, *(1,) * rank) * init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * x


class Relayout(nn.Module):
    """A permute between channels-first and channels-last storage that keeps the (N, C, *spatial)
    axes the next module reads: torch's permute view, then the inverse permute (another view)."""

    def __init__(self, order: tuple[int, ...]) -> None:
        super().__init__()
        self.order = order
        self.inverse = tuple(order.index(axis) for axis in range(len(order)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.order).permute(*self.inverse)


class Product(nn.Module):
    """The product of two tensors over (N, C, *spatial); a vector gate (N, C) is viewed as (N, C, 1, ...)
    first (a view: autograd keeps the gate's own storage)."""

    def __init__(self, rank: int) -> None:
        super().__init__()
        self.rank = rank

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = (x.reshape(*x.shape, *(1,) * self.rank) if x.ndim == 2 else x for x in (a, b))
        return a * b


class ChannelSlice(nn.Module):
    """Channels start..stop of (N, C, *spatial): a view (narrow), as torch.chunk's pieces are."""

    def __init__(self, start: int, stop: int) -> None:
        super().__init__()
        self.start, self.length = start, stop - start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.narrow(1, self.start, self.length)


class ChannelShuffle(nn.Module):
    """torchvision's shufflenetv2.channel_shuffle for any rank: view, transpose, contiguous, view."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, *rest = x.shape
        x = x.view(n, self.groups, c // self.groups, *rest)
        x = torch.transpose(x, 1, 2).contiguous()
        return x.view(n, c, *rest)


class PerPosition(nn.Module):
    """A linear layer on each position of (N, C, *spatial): moved to channels-last (a view), the
    layer (on a channels-last input as ConvNeXt's, whose storage is channels-last already, a view of
    it; on NCHW storage torch copies it first), and moved back (a view)."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.movedim(1, -1)).movedim(-1, 1)
