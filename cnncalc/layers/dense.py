"""Fully connected layers and flattening."""

from __future__ import annotations

from cnncalc.layers.base import (
    Context,
    Inference,
    LayerKind,
    MemoryContext,
    MemoryRule,
    Param,
    boolean,
    integer,
    register,
)
from cnncalc.shapes import Shape


@register
class Fc(LayerKind):
    name = "fc"
    aliases = ("linear", "dense")
    shorthand = "units"
    family = "fc"
    example = "10"
    pattern_count = "units"
    summary = ("fully connected; flattens a feature map first (per_position: applied to each position's "
               "channels instead); (N_in + 1) * N_out parameters")
    params = (
        Param("units", integer(1), doc="number of outputs"),
        Param("bias", boolean, True, "one learned bias per output"),
        Param("per_position", boolean, False, "apply the layer to each position's channels without flattening "
              "(nn.Linear on a channels-last map, ConvNeXt's MLP): H x W x C -> H x W x units"),
    )

    @staticmethod
    def fan_in(p, x: Shape) -> int:
        """What one output reads: every input element, or per position the channels."""
        return x.channels if p.get("per_position") else x.numel

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """AddmmBackward keeps the input (a view of a flattened map shares its storage), and the
        weight when the input needs a gradient: under autocast its half-precision copy. Per position
        the input is taken as channels-last storage (ConvNeXt's, after its layer norm), viewed as
        (N*H*W, C); on NCHW storage at batch > 1 PyTorch's matmul first copies it (the copy is saved
        instead, the same bytes), a transient this rule leaves out."""
        (x,) = inputs
        weights = self.fan_in(p, x) * p["units"]
        bias = (p["units"],) if p["bias"] else ()
        return MemoryRule(
            saves_inputs=ctx.training,
            saved_with_input_grad=weights * ctx.act_bytes if ctx.amp and ctx.training else 0,
            casts_input=ctx.amp,
            param_tensors=(weights, *bias),
        )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        if p.get("per_position") and not x.is_vector:
            return self._per_position(p, x)
        n_in, n_out = x.numel, p["units"]
        fan_in = "*".join(str(d) for d in x.dims)
        fan_in = f"({fan_in})" if not x.is_vector else fan_in
        bias = n_out if p["bias"] else 0
        return Inference(
            output=Shape((), n_out),
            params=n_in * n_out + bias,
            params_formula=f"{fan_in}*{n_out}" + (f" + {n_out}" if bias else ""),
            macs=n_in * n_out,
            bias_macs=bias,
        )

    def _per_position(self, p, x: Shape) -> Inference:
        """One C x units product per position: C*N + N parameters, H*W*C*N MACs, a bias per output."""
        n_out, positions = p["units"], x.numel // x.channels
        bias = n_out if p["bias"] else 0
        return Inference(
            output=x.with_channels(n_out),
            params=x.channels * n_out + bias,
            params_formula=f"{x.channels}*{n_out}" + (f" + {n_out}" if bias else ""),
            macs=positions * x.channels * n_out,
            bias_macs=positions * bias,
        )

    def make_weights(self, p, inputs, inference: Inference, rng):
        """kernel (inputs, units), the inputs in channels-last order (H, W, C), as Keras flattens;
        PyTorch's Linear weight is (units, inputs) over a (C, H, W) flattening. bias (units,)."""
        from cnncalc import arrays
        from cnncalc.forward import Weights

        (x,) = inputs
        n_in = self.fan_in(p, x)
        params = {"kernel": arrays.random_normal(rng, (n_in, p["units"]), (2 / n_in) ** 0.5)}
        if p["bias"]:
            params["bias"] = arrays.random_normal(rng, (p["units"],), 0.1)
        return Weights(params)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        """nn.Linear, after a flatten for feature maps: PyTorch's nn.Flatten (C, H, W) for memory,
        the executor's channels-last order (H, W, C) for values."""
        from torch import nn

        from cnncalc.layers import torch_ops

        (x,) = inputs
        linear = nn.Linear(self.fan_in(p, x), p["units"], bias=p["bias"])
        if weights is not None:
            torch_ops.assign(linear.weight, weights.params["kernel"].T)
            if p["bias"]:
                torch_ops.assign(linear.bias, weights.params["bias"])
        if x.is_vector:
            return linear
        if p.get("per_position"):
            return torch_ops.PerPosition(linear)
        return nn.Sequential(nn.Flatten() if weights is None else torch_ops.ChannelsLastFlatten(), linear)

    def forward(self, p, inputs, run):
        """(N, H*W*C) @ (H*W*C, units): the feature map is flattened channels-last, as a view."""
        from cnncalc import arrays
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        weights = run.weights.params
        # per position: (N, *spatial, C) @ (C, units), numpy stacking the leading axes
        rows = x if p.get("per_position") else x.reshape(x.shape[0], -1)
        out, macs = arrays.matmul(rows, weights["kernel"])
        if "bias" in weights:
            out += weights["bias"]
        return ForwardResult(out, macs)


@register
class Flatten(LayerKind):
    name = "flatten"
    summary = "H x W x C -> a vector of H*W*C (a view: no copy in frameworks)"

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        return MemoryRule(aliases_input=True, grad_is_view=True)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        return Inference(output=Shape((), x.numel))

    #: the output is a reshaped view of the input: frameworks (and the executor) copy nothing.
    forward_view = True

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        """nn.Flatten (a view of NCHW) for memory; the executor's channels-last order for values."""
        from torch import nn

        from cnncalc.layers import torch_ops

        return nn.Flatten() if weights is None else torch_ops.ChannelsLastFlatten()

    def forward(self, p, inputs, run):
        """Channels-last order: element (h, w, c) of an H x W x C map lands at (h * W + w) * C + c."""
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        return ForwardResult(x.reshape(x.shape[0], -1))
