"""numpy building blocks shared by the layer forwards: padding, sliding-window views, counted products.

Arrays are channels-last, `(batch, *spatial, channels)`, float32. Only the executor and the forwards
import this module (and so numpy); `analyze` and `lint` never do.
"""

from __future__ import annotations

from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

DTYPE = np.float32


def spatial_axes(x: np.ndarray) -> tuple[int, ...]:
    return tuple(range(1, x.ndim - 1))


def pad_spatial(x: np.ndarray, pads: tuple[tuple[int, int], ...], value: float = 0.0) -> np.ndarray:
    """A copy of `x` with (before, after) padding on each spatial axis, or `x` itself when there is none."""
    if not any(before or after for before, after in pads):
        return x
    return np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def windows(x: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]) -> np.ndarray:
    """Every window of a padded channels-last `x` as a read-only view `(N, *out, C, *kernel)`, without a copy.

    The number of windows per axis is numpy's own count, floor((W - K_eff)/S) + 1: the view takes
    every position of a dilated window, then every S-th position and every D-th tap.
    """
    k_eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    view = sliding_window_view(x, k_eff, axis=spatial_axes(x))
    index = (
        slice(None),
        *(slice(None, None, s) for s in stride),
        slice(None),
        *(slice(None, None, d) for d in dilation),
    )
    return view[index]


def window_taps(view: np.ndarray):
    """The kernel taps of a `windows` view, one strided `(N, *out, C)` view per tap (no copies)."""
    rank = (view.ndim - 2) // 2
    for tap in np.ndindex(*view.shape[view.ndim - rank:]):
        yield view[(..., *tap)]


def im2col(view: np.ndarray) -> np.ndarray:
    """The im2col matrix `(N * prod(out), prod(kernel) * C)` of a `windows` view.

    Rows are output positions and columns (kernel taps, then channels), matching a channels-last
    kernel `(*kernel, C, filters)` reshaped to a matrix. It is a copy, except for a 1x1 window with
    stride 1, whose matrix is the input itself.
    """
    rank = (view.ndim - 2) // 2
    cols = np.ascontiguousarray(np.moveaxis(view, rank + 1, -1))
    rows = prod(cols.shape[: rank + 1])
    return cols.reshape(rows, -1)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """`a @ b` (stacked over leading axes as numpy does) and the multiply-accumulates it executed:
    rows x inner x columns for every matrix in the stack."""
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
    stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    macs = prod(stack) * a.shape[-2] * a.shape[-1] * b.shape[-1]
    return np.matmul(a, b, out=out), macs


def random_normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    """float32 samples drawn directly (no float64 intermediate the size of a VGG fc layer)."""
    array = rng.standard_normal(shape, dtype=DTYPE)
    array *= DTYPE(std)
    return array


def random_uniform(rng: np.random.Generator, shape: tuple[int, ...], low: float, high: float) -> np.ndarray:
    array = rng.random(shape, dtype=DTYPE)
    array *= DTYPE(high - low)
    array += DTYPE(low)
    return array
