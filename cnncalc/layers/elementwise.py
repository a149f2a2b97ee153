"""Layers that map each element on its own: activation functions and dropout.

In the textbook memory model they work in place (the cs231n VGG table has no rows for them).
In PyTorch they make a new tensor unless told otherwise (`relu: {inplace: true}`).
"""

from __future__ import annotations

import functools

from cnncalc.layers.base import (
    FUNCTIONAL,
    Context,
    Inference,
    LayerKind,
    MemoryContext,
    MemoryRule,
    Param,
    boolean,
    fraction,
    register,
)
from cnncalc.records import replace


class Elementwise(LayerKind):
    inplace = True

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """Their backward needs only their result (ReluBackward, SigmoidBackward, TanhBackward,
        SoftmaxBackward keep `result`)."""
        return _result_kept(bool(p.get("inplace", False)), ctx.training)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        return Inference(output=x)

    def forward(self, p, inputs, run):
        """Writes into the input when no later layer reads it (the textbook model's in-place rule)."""
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        out = x if run.overwritable[0] else x.copy()
        self.apply(out)
        return ForwardResult(out)

    def apply(self, x) -> None:
        """Transform `x` in place."""
        raise NotImplementedError


@functools.cache
def _result_kept(inplace: bool, training: bool) -> MemoryRule:
    """The rule of every such layer, one record per mode: a network has dozens of them (a record costs
    about as much to make as a layer's whole simulation step)."""
    return MemoryRule(aliases_input=inplace, saves_output=training)


@functools.cache
def _zero_like(dtype):
    import numpy as np

    return np.zeros((), dtype)


@register
class Relu(Elementwise):
    name = "relu"
    summary = "max(0, x)"
    params = (Param("inplace", boolean, False, "overwrite the input (PyTorch ReLU(inplace=True))"), FUNCTIONAL)

    def apply(self, x) -> None:
        import numpy as np

        # a cached 0-d zero: a Python 0 would make numpy allocate one on every call
        np.maximum(x, _zero_like(x.dtype), out=x)

    def torch_module(self, p, inputs, inference, weights=None):
        """In place as the spec says for memory; never for values (a branch may still read the input)."""
        from torch import nn

        return nn.ReLU(inplace=p["inplace"] and weights is None)

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.ReLU", ("inplace", p["inplace"], False))


@register
class Sigmoid(Elementwise):
    name = "sigmoid"
    summary = "1 / (1 + exp(-x))"

    def apply(self, x) -> None:
        import numpy as np

        np.negative(x, out=x)
        with np.errstate(over="ignore"):  # exp(88+) is inf in float32 and 1 / (1 + inf) is the right 0
            np.exp(x, out=x)
        x += 1
        np.reciprocal(x, out=x)

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        return nn.Sigmoid()

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.Sigmoid")


@register
class Tanh(Elementwise):
    name = "tanh"
    summary = "hyperbolic tangent"

    def apply(self, x) -> None:
        import numpy as np

        np.tanh(x, out=x)

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        return nn.Tanh()

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.Tanh")


@register
class Softmax(Elementwise):
    name = "softmax"
    summary = "normalised exponentials over the channels"

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """As any activation; CUDA's autocast runs softmax in float32 (the CPU's keeps the dtype)."""
        return replace(super().memory_rule(p, inputs, inference, ctx), output_float32=ctx.amp and ctx.device == "cuda")

    def apply(self, x) -> None:
        """Over the last (channel) axis, shifted by the maximum so exp cannot overflow."""
        import numpy as np

        x -= x.max(axis=-1, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=-1, keepdims=True)

    def torch_module(self, p, inputs, inference, weights=None):
        """Over the channels: dim 1 in NCHW."""
        from torch import nn

        return nn.Softmax(dim=1)

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.Softmax", ("dim", 1, None))

    def forward_workspace(self, p, inputs, inference: Inference, batch: int) -> int:
        """The per-position maximum, then the per-position sum (one value per position each)."""
        (x,) = inputs
        return batch * x.numel // x.channels


@register
class Dropout(Elementwise):
    name = "dropout"
    shorthand = "rate"
    example = "0.5"
    summary = "zeroes a fraction of activations while training; identity at inference"
    params = (Param("rate", fraction, 0.5, "fraction of activations dropped"),)

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """Identity at inference or with rate 0. Training keeps the mask: on CPU a noise tensor of the
        activation dtype (MulBackward), on CUDA a 1-byte bool mask (NativeDropoutBackward)."""
        if not ctx.training or p["rate"] == 0:
            return MemoryRule(aliases_input=True, grad_is_view=True)
        per_element = 1 if ctx.device == "cuda" else ctx.act_bytes
        noise = ctx.batch * inference.output.numel * per_element
        return MemoryRule(extra_saved=noise, unrecorded_scratch=noise)

    #: identity at inference: the output is the input itself.
    forward_view = True

    def forward(self, p, inputs, run):
        from cnncalc.forward import ForwardResult

        return ForwardResult(inputs[0])

    def torch_module(self, p, inputs, inference, weights=None):
        """Training drops; in eval mode (the value comparisons) the identity, as the forward."""
        from torch import nn

        return nn.Dropout(p["rate"])

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.Dropout", ("p", p["rate"], 0.5))


@register
class Relu6(Elementwise):
    name = "relu6"
    summary = "min(max(0, x), 6) (MobileNet)"

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """PyTorch's ReLU6 is hardtanh, whose backward keeps the input, not the result."""
        return MemoryRule(saves_inputs=ctx.training)

    def apply(self, x) -> None:
        import numpy as np

        np.clip(x, 0, 6, out=x)

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        return nn.ReLU6()

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.ReLU6")


@register
class Silu(Elementwise):
    """SiLU (Swish): x * sigmoid(x), PyTorch's nn.SiLU (EfficientNet, YOLO)."""

    name = "silu"
    aliases = ("swish",)
    summary = "x * sigmoid(x) (SiLU, Swish)"

    def memory_rule(self, p, inputs, inference, ctx: MemoryContext) -> MemoryRule:
        """SiluBackward keeps the input (its gradient needs sigmoid(x) and x), not the result."""
        return MemoryRule(saves_inputs=ctx.training)

    def apply(self, x) -> None:
        """x / (1 + exp(-x)): one temporary for the denominator (exp(88+) is inf, and x / inf the right 0)."""
        import numpy as np

        denominator = np.negative(x)
        with np.errstate(over="ignore"):
            np.exp(denominator, out=denominator)
        denominator += 1
        np.divide(x, denominator, out=x)

    def forward_workspace(self, p, inputs, inference, batch: int) -> int:
        """The denominator, one element per input element."""
        return batch * inputs[0].numel

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        return nn.SiLU()

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.SiLU")
