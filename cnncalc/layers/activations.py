"""The activation functions of modern CNNs (issue #14): gelu, hardswish, hardsigmoid, leaky_relu,
elu, prelu and mish, each PyTorch's module of the same name.

Counting: like every activation they count no MACs (torchvision's GFLOPS convention); prelu's
slopes are parameters. In the textbook memory model they work in place, as relu does.

Memory (PyTorch 2.13, measured with saved_tensors_hooks): every one of them keeps its input for
backward (GeluBackward, HardswishBackward, HardsigmoidBackward, LeakyReluBackward0, EluBackward0,
MishBackward, PreluKernelBackward), none its output. In place (`inplace: true`) the output is the
input's storage: leaky_relu and elu then keep that result (LeakyReluBackward1, EluBackward1),
hardswish, hardsigmoid and mish a copy of the input made before it is overwritten.
"""

from __future__ import annotations

from cnncalc.errors import ShapeError
from cnncalc.layers.base import (
    Context,
    Inference,
    MemoryContext,
    MemoryRule,
    Param,
    Rule,
    boolean,
    choice,
    integer,
    number,
    register,
)
from cnncalc.layers.elementwise import Elementwise

INPLACE = Param("inplace", boolean, False, "overwrite the input (PyTorch's inplace=True)")


class _SavesInput(Elementwise):
    """An activation whose backward reads its input. In place: `keeps_result` kinds save the
    overwritten storage (their result), the others a copy of the input taken before the op."""

    keeps_result = False

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        inplace = bool(p.get("inplace", False))
        if not inplace:
            return MemoryRule(saves_inputs=ctx.training)
        if self.keeps_result:
            return MemoryRule(aliases_input=True, saves_output=ctx.training)
        clone = ctx.activation(inputs[0]) if ctx.training else 0
        return MemoryRule(aliases_input=True, extra_saved=clone, unrecorded_scratch=0)


def _erf(x):
    """erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7, float32's own resolution
    at 1), as numpy has no erf; computed in float64 and returned in x's dtype."""
    import numpy as np

    # in place: three float64 arrays at the peak (a, t, the polynomial), as forward_workspace says
    a = np.abs(x, dtype=np.float64)
    t = a * 0.3275911
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * 1.061405429
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += coefficient
        poly *= t
    del t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a
    del a
    np.subtract(1.0, poly, out=poly)
    np.copysign(poly, x, out=poly)
    return poly.astype(x.dtype)


@register
class Gelu(_SavesInput):
    """GELU, PyTorch's nn.GELU: x * Phi(x), or its tanh approximation (BERT, ViT, ConvNeXt)."""

    name = "gelu"
    shorthand = "approximate"
    summary = "x * Phi(x), Phi the normal CDF (approximate: tanh for the tanh form)"
    params = (Param("approximate", choice("none", "tanh"), "none",
                    "none: the exact erf form; tanh: 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))"),)

    def forward(self, p, inputs, run):
        """Into a new array (the erf form needs float64 intermediates anyway)."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        if p["approximate"] == "tanh":
            inner = x * x
            inner *= np.float32(0.044715)
            inner += 1
            inner *= x
            inner *= np.float32((2 / np.pi) ** 0.5)
            np.tanh(inner, out=inner)
        else:
            inner = _erf(x * np.float32(0.5**0.5))
        inner += 1
        inner *= x
        inner *= np.float32(0.5)
        return ForwardResult(inner)

    def forward_workspace(self, p, inputs, inference, batch: int) -> int:
        """erf's three float64 intermediates (two elements each) and its scaled float32 argument,
        beside the float32 result (measured with tracemalloc)."""
        return 0 if p["approximate"] == "tanh" else 7 * batch * inputs[0].numel

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        return nn.GELU(approximate=p["approximate"])

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.GELU", ("approximate", p["approximate"], "none"))


@register
class Hardswish(_SavesInput):
    """Hardswish, PyTorch's nn.Hardswish: x * relu6(x + 3) / 6 (MobileNetV3)."""

    name = "hardswish"
    aliases = ("hard_swish",)
    summary = "x * relu6(x + 3) / 6 (MobileNetV3)"
    params = (INPLACE,)

    def apply(self, x) -> None:
        import numpy as np

        gate = x + np.float32(3)
        np.clip(gate, 0, 6, out=gate)
        gate /= np.float32(6)
        x *= gate

    def forward_workspace(self, p, inputs, inference, batch: int) -> int:
        """The gate relu6(x + 3) / 6."""
        return batch * inputs[0].numel

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        return nn.Hardswish(inplace=p["inplace"] and weights is None)

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.Hardswish", ("inplace", p["inplace"], False))


@register
class Hardsigmoid(_SavesInput):
    """Hardsigmoid, PyTorch's nn.Hardsigmoid: relu6(x + 3) / 6 (MobileNetV3's squeeze-excitation gate)."""

    name = "hardsigmoid"
    aliases = ("hard_sigmoid",)
    summary = "relu6(x + 3) / 6 (MobileNetV3's squeeze-excitation gate)"
    params = (INPLACE,)

    def apply(self, x) -> None:
        import numpy as np

        x += np.float32(3)
        np.clip(x, 0, 6, out=x)
        x /= np.float32(6)

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        return nn.Hardsigmoid(inplace=p["inplace"] and weights is None)

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.Hardsigmoid", ("inplace", p["inplace"], False))


@register
class LeakyRelu(_SavesInput):
    """Leaky ReLU, PyTorch's nn.LeakyReLU: x, or negative_slope * x below 0 (YOLO, GANs)."""

    name = "leaky_relu"
    aliases = ("leakyrelu",)
    shorthand = "negative_slope"
    example = "0.1"
    summary = "x if x >= 0 else negative_slope * x"
    keeps_result = True
    params = (Param("negative_slope", number(None), 0.01, "the slope below zero"), INPLACE)

    def forward(self, p, inputs, run):
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        out = x if run.overwritable[0] else x.copy()
        np.multiply(out, np.float32(p["negative_slope"]), out=out, where=out < 0)
        return ForwardResult(out)

    def torch_module(self, p, inputs, inference, weights=None):
        """In place for memory only, as relu; PyTorch refuses an in-place backward with a negative slope."""
        from torch import nn

        return nn.LeakyReLU(p["negative_slope"], inplace=p["inplace"] and weights is None)

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.LeakyReLU", ("negative_slope", p["negative_slope"], 0.01), ("inplace", p["inplace"], False))


@register
class Elu(_SavesInput):
    """ELU, PyTorch's nn.ELU: x above 0, alpha * (exp(x) - 1) below."""

    name = "elu"
    shorthand = "alpha"
    summary = "x if x > 0 else alpha * (exp(x) - 1)"
    keeps_result = True
    params = (Param("alpha", number(None), 1.0, "the value approached as x -> -infinity is -alpha"),
              INPLACE)

    def forward(self, p, inputs, run):
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        out = x if run.overwritable[0] else x.copy()
        below = np.minimum(out, 0)
        np.expm1(below, out=below)
        below *= np.float32(p["alpha"])
        np.copyto(out, below, where=out <= 0)
        return ForwardResult(out)

    def forward_workspace(self, p, inputs, inference, batch: int) -> int:
        """alpha * (exp(min(x, 0)) - 1), one element per input element."""
        return batch * inputs[0].numel

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        return nn.ELU(p["alpha"], inplace=p["inplace"] and weights is None)

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.ELU", ("alpha", p["alpha"], 1.0), ("inplace", p["inplace"], False))


@register
class Mish(_SavesInput):
    """Mish, PyTorch's nn.Mish: x * tanh(softplus(x)) (YOLOv4)."""

    name = "mish"
    summary = "x * tanh(ln(1 + exp(x))) (YOLOv4)"
    params = (INPLACE,)

    def apply(self, x) -> None:
        import numpy as np

        gate = np.logaddexp(np.float32(0), x)
        np.tanh(gate, out=gate)
        x *= gate

    def forward_workspace(self, p, inputs, inference, batch: int) -> int:
        """tanh(softplus(x)), one element per input element."""
        return batch * inputs[0].numel

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        return nn.Mish(inplace=p["inplace"] and weights is None)

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import module

        return module("nn.Mish", ("inplace", p["inplace"], False))


PRELU_CHANNELS = Rule(
    "CNN216", "prelu-parameters-mismatch", "error", "prelu num_parameters neither 1 nor the channels",
    what="Reports a prelu whose num_parameters is neither 1 nor the input's channels.",
    why="PyTorch's PReLU learns one slope shared by every channel or one slope per channel, and raises "
    "on any other count.",
    example="- prelu: 3   # on 8 channels",
    fix="Use 1 (one shared slope) or the channel count.",
)


@register
class Prelu(Elementwise):
    """PReLU, PyTorch's nn.PReLU: leaky ReLU with learned slopes, one shared or one per channel."""

    name = "prelu"
    shorthand = "num_parameters"
    summary = "x if x >= 0 else a * x, the slopes a learned: 1 or one per channel (num_parameters params)"
    params = (Param("num_parameters", integer(1), 1, "learned slopes: 1 (shared) or the input's channels"),)
    rules = (PRELU_CHANNELS,)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        n = p["num_parameters"]
        if n not in (1, x.channels):
            raise ShapeError(f"{ctx.label}: num_parameters is {n}, but the input has {x.channels} channels",
                             hint=f"use 1 (one shared slope) or {x.channels} (one per channel)", code="CNN216")
        return Inference(output=x, params=n, params_formula=str(n))

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """PreluKernelBackward keeps the input and the weight. CPU autocast runs prelu in half
        precision: it casts a float32 input and keeps a half copy of the weight. The CPU backward
        computes the input's gradient and the slopes' per element (input-sized, then summed),
        both even when the input needs no gradient (measured)."""
        per_element = ctx.activation(inputs[0]) if ctx.device == "cpu" else 0
        return MemoryRule(
            saves_inputs=ctx.training,
            backward_scratch=per_element,
            param_backward_scratch=2 * per_element,
            extra_saved=p["num_parameters"] * ctx.act_bytes if ctx.amp and ctx.training else 0,
            casts_input=ctx.amp,
            param_tensors=(p["num_parameters"],),
        )

    def make_weights(self, p, inputs, inference: Inference, rng):
        """The slopes (num_parameters,), around PyTorch's initial 0.25."""
        from cnncalc import arrays
        from cnncalc.forward import Weights

        return Weights({"weight": arrays.random_uniform(rng, (p["num_parameters"],), 0.0, 0.5)})

    def forward(self, p, inputs, run):
        """Channels-last: the slopes broadcast over the last axis."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        out = x if run.overwritable[0] else x.copy()
        np.multiply(out, run.weights.params["weight"], out=out, where=out < 0)
        return ForwardResult(out)

    def torch_module(self, p, inputs, inference, weights=None):
        from torch import nn

        from cnncalc.layers import torch_ops

        module = nn.PReLU(p["num_parameters"])
        if weights is not None:
            torch_ops.assign(module.weight, weights.params["weight"])
        return module

    def torch_code(self, p, inputs, inference):
        from cnncalc.layers.code import Construct, TorchCode, WeightLoad, keywords

        return TorchCode(Construct("nn.PReLU", (), keywords(("num_parameters", p["num_parameters"], 1))),
                         weights=(WeightLoad("weight", "weight"),))
