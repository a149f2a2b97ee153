"""The contract between the executor and the layer kinds' numpy forwards.

The hooks are declared, with their defaults, on `LayerKind` (cnncalc/layers/base.py); a kind that
can be executed implements, directly after its `infer`:

- `make_weights(p, inputs, inference, rng) -> Weights`: seeded random arrays with the shapes a
  framework keeps (channels-last, TensorFlow/Keras layout: conv kernels `(*kernel, C_in/groups,
  filters)`, fc kernels `(inputs, units)`), so that "params = size of the weight arrays" is a real check;
- `forward(p, inputs, run) -> ForwardResult`: the inference computation on channels-last arrays
  `(batch, *spatial, channels)`, returning the output and the multiply-accumulates its matrix
  products executed (counted from the operands' dimensions, never copied from `infer`);
  `run.inference` (and `run.geometry`) is the layer's own shape inference;
- optionally `forward_workspace(p, inputs, inference, batch) -> int`: the elements the forward
  holds at its peak beyond its inputs and output (im2col matrices, padded copies), and
  `forward_view = True` when the output always shares its input's memory (a reshape, an identity).

This module is free of numpy so that the executor's plan (and the refusal of runs that cannot
fit) costs nothing to import; only the forwards themselves import numpy, lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import prod
from typing import TYPE_CHECKING, Any

from cnncalc.conventions import Convention
from cnncalc.records import dataclass, field

if TYPE_CHECKING:
    from cnncalc.layers.base import Geometry, Inference

#: The executor computes in float32, the dtype of the textbook memory model's default
#: (its size is memory.DTYPE_BYTES[DTYPE_NAME]).
DTYPE_NAME = "float32"


@dataclass(frozen=True, slots=True)
class Weights:
    """A layer's arrays: learned parameters, and non-trainable state (batch-norm running statistics)."""

    params: Mapping[str, Any] = field(default_factory=dict)
    buffers: Mapping[str, Any] = field(default_factory=dict)

    @property
    def param_elements(self) -> int:
        return sum(int(a.size) for a in self.params.values())

    @property
    def buffer_elements(self) -> int:
        return sum(int(a.size) for a in self.buffers.values())

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in (*self.params.values(), *self.buffers.values()))


NO_WEIGHTS = Weights()


@dataclass(frozen=True, slots=True)
class Run:
    """What a forward needs besides its parameters and inputs."""

    convention: Convention
    #: "conv1 (conv)", for messages.
    label: str
    weights: Weights = NO_WEIGHTS
    #: per input: True when no later layer reads it, so the forward may write into it (in place).
    overwritable: tuple[bool, ...] = ()
    #: the layer's shape inference: its output shape and the resolved window geometry.
    inference: Inference | None = None

    @property
    def geometry(self) -> Geometry | None:
        return None if self.inference is None else self.inference.geometry


@dataclass(frozen=True, slots=True)
class ForwardResult:
    """What a forward did: its output array and the multiply-accumulates it executed."""

    output: Any
    macs: int = 0


# element counts of the forwards' working copies, for the plan (no numpy needed)


def im2col_elements(batch: int, out_spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                    channels: int) -> int:
    """Elements `arrays.im2col` allocates for such a window (0 when the matrix is a view of the input)."""
    if all(k == 1 for k in kernel) and all(s == 1 for s in stride):
        return 0
    return batch * prod(out_spatial) * prod(kernel) * channels


def padded_elements(batch: int, spatial: tuple[int, ...], pads: tuple[tuple[int, int], ...], channels: int) -> int:
    """Elements of `arrays.pad_spatial`'s copy (0 when there is no padding)."""
    if not any(before or after for before, after in pads):
        return 0
    return batch * prod(w + before + after for w, (before, after) in zip(spatial, pads)) * channels
