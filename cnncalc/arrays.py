"""numpy building blocks shared by the layer forwards: padding, sliding-window views, counted products.

Arrays are channels-last, `(batch, *spatial, channels)`, float32. Only the executor and the forwards
import this module (and so numpy); `analyze` and `lint` never do.
"""

from __future__ import annotations

import os
import weakref
from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

DTYPE = np.float32

#: copies smaller than this run on the calling thread: a thread hand-off costs ~20 us
PARALLEL_COPY_BYTES = 4 * 1024 * 1024


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_POOL: list = []


def _pool():
    """Threads for large copies, one per core (numpy releases the GIL while it copies; BLAS has its own)."""
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(_cores(), thread_name_prefix="cnncalc-copy"))
    return _POOL[0]


def copy_into(target: np.ndarray, source: np.ndarray) -> None:
    """`target[...] = source` for arrays of one shape, split across the cores along the first axis
    longer than one when the copy is large (im2col and padding copies are single-threaded in numpy,
    and were a third of a 2-core VGG-16 convolution's time beside the BLAS product)."""
    cores = _cores()
    axis = next((i for i, n in enumerate(target.shape) if n > 1), None)
    if cores == 1 or target.nbytes < PARALLEL_COPY_BYTES or axis is None:
        np.copyto(target, source)
        return
    length = target.shape[axis]
    bounds = [length * i // cores for i in range(cores + 1)]
    lead = (slice(None),) * axis
    parts = [(lead + (slice(a, b),)) for a, b in zip(bounds, bounds[1:]) if b > a]
    jobs = [_pool().submit(np.copyto, target[part], source[part]) for part in parts[1:]]
    np.copyto(target[parts[0]], source[parts[0]])
    for job in jobs:
        job.result()


def spatial_axes(x: np.ndarray) -> tuple[int, ...]:
    return tuple(range(1, x.ndim - 1))


def pad_spatial(x: np.ndarray, pads: tuple[tuple[int, int], ...], value: float = 0.0) -> np.ndarray:
    """A copy of `x` with (before, after) padding on each spatial axis, or `x` itself when there is none."""
    if not any(before or after for before, after in pads):
        return x
    shape = (x.shape[0], *(n + before + after for n, (before, after) in zip(x.shape[1:-1], pads)), x.shape[-1])
    padded = np.empty(shape, dtype=x.dtype)
    inside = (slice(None), *(slice(before, before + n) for n, (before, _) in zip(x.shape[1:-1], pads)))
    copy_into(padded[inside], x)
    for axis, (before, after) in enumerate(pads, start=1):  # the borders: one slab per side and axis
        lead = (slice(None),) * axis
        padded[lead + (slice(0, before),)] = value
        padded[lead + (slice(shape[axis] - after, shape[axis]),)] = value
    return padded


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
    moved = np.moveaxis(view, rank + 1, -1)
    if moved.flags.c_contiguous:
        cols = moved
    else:
        cols = np.empty(moved.shape, dtype=moved.dtype)
        copy_into(cols, moved)
    rows = prod(cols.shape[: rank + 1])
    matrix = cols.reshape(rows, -1)
    _IM2COL[0] = weakref.ref(matrix)
    return matrix


#: the last im2col matrix (a weak reference: the matrix is freed with its layer). Its product is
#: reshaped to a feature map, which a transposed (column-major) result could only be by a copy.
_IM2COL: list = [lambda: None]


#: products with at most this many rows are computed transposed (see `matmul`)
FEW_ROWS = 128


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """`a @ b` (stacked over leading axes as numpy does) and the multiply-accumulates it executed:
    rows x inner x columns for every matrix in the stack."""
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
    stack = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    macs = prod(stack) * a.shape[-2] * a.shape[-1] * b.shape[-1]
    if out is None and a.ndim == b.ndim == 2 and a.shape[0] <= FEW_ROWS and a is not _IM2COL[0]():
        # a fully connected layer's few rows: OpenBLAS runs the transposed product 1.2-3x faster
        # (VGG-16's fc6 at batch 8: 110 ms of CPU time against 280); the result is its transpose, a
        # view, which stays 2-D (an im2col product, reshaped to a feature map, keeps the row-major form)
        return np.matmul(b.T, a.T).T, macs
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
