"""Memory models. `textbook` is the model of the cs231n notes and Geron's chapter 13:

- forward activations = every layer's output (the input included) x batch x bytes; activation
  functions and dropout work in place and add nothing;
- inference = parameters + the largest set of tensors one layer needs at once (its inputs and
  its output): earlier activations can be freed at test time;
- training = activations twice (values and their gradients) + parameters x (weights, gradients
  and the optimizer's slots) + non-trainable buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}

#: Per-parameter tensors an optimizer keeps besides the weights and their gradients.
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "adam": 2}


@dataclass(frozen=True, slots=True)
class Memory:
    model: str
    params_bytes: int
    buffers_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int
    #: the largest (inputs + output) of one layer, x batch x bytes
    peak_layer_bytes: int
    inference_bytes: int
    training_bytes: int

    def to_dict(self) -> dict[str, int | str]:
        return {
            "model": self.model,
            "params_bytes": self.params_bytes,
            "buffers_bytes": self.buffers_bytes,
            "gradients_bytes": self.gradients_bytes,
            "optimizer_bytes": self.optimizer_bytes,
            "activations_bytes": self.activations_bytes,
            "peak_layer_bytes": self.peak_layer_bytes,
            "inference_bytes": self.inference_bytes,
            "training_bytes": self.training_bytes,
        }


def textbook(
    *, params: int, buffers: int, activations: int, peak_layer: int, batch: int, dtype: str, optimizer: str
) -> Memory:
    """`activations` and `peak_layer` are element counts per sample."""
    size = DTYPE_BYTES[dtype]
    params_bytes = params * size
    buffers_bytes = buffers * size
    activations_bytes = activations * batch * size
    peak_bytes = peak_layer * batch * size
    gradients = params_bytes
    optimizer_bytes = params_bytes * OPTIMIZER_SLOTS[optimizer]
    return Memory(
        model="textbook",
        params_bytes=params_bytes,
        buffers_bytes=buffers_bytes,
        gradients_bytes=gradients,
        optimizer_bytes=optimizer_bytes,
        activations_bytes=activations_bytes,
        peak_layer_bytes=peak_bytes,
        inference_bytes=params_bytes + buffers_bytes + peak_bytes,
        training_bytes=2 * activations_bytes + params_bytes + gradients + optimizer_bytes + buffers_bytes,
    )
