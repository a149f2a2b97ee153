"""The small layers inside modern residual blocks (issue #14): ConvNeXt's layer scale, stochastic
depth (drop_path) and the permutes between channels-first and channels-last layouts.

Counting: none of them counts MACs (torchvision's GFLOPS convention counts no elementwise
products); layer_scale's C scalars are parameters.
"""

from __future__ import annotations

from cnncalc.layers.base import (
    Context,
    Inference,
    LayerKind,
    MemoryContext,
    MemoryRule,
    Param,
    choice,
    fraction,
    number,
    register,
)


@register
class LayerScale(LayerKind):
    """ConvNeXt's layer scale (torchvision CNBlock's `layer_scale * result`): each channel times its
    own learned scalar, initialised to `init`."""

    name = "layer_scale"
    aliases = ("layerscale",)
    shorthand = "init"
    example = "1e-6"
    summary = "multiplies each channel by a learned scalar (ConvNeXt's gamma); C params, no MACs"
    params = (Param("init", number(None), 1e-6, "the scalars' initial value (ConvNeXt: 1e-6)"),)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        return Inference(output=x, params=x.channels, params_formula=str(x.channels))

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """MulBackward keeps the input (for the scalars' gradient) and the scalars (a parameter).
        Under autocast a half-precision input times the float32 scalars is float32 (type promotion).
        The backward's scalar gradient is the input times the output gradient, input-sized on the
        CPU, before it is summed per channel (measured)."""
        product = ctx.activation(inputs[0]) if ctx.device == "cpu" else 0
        return MemoryRule(saves_inputs=ctx.training, output_float32=ctx.amp, backward_scratch=product,
                          param_tensors=(inputs[0].channels,))

    def make_weights(self, p, inputs, inference: Inference, rng):
        """The scalars (channels,): random, so that a comparison sees each channel's own."""
        from cnncalc import arrays
        from cnncalc.forward import Weights

        return Weights({"gamma": arrays.random_uniform(rng, (inputs[0].channels,), 0.5, 1.5)})

    def forward(self, p, inputs, run):
        """Channels-last: the scalars broadcast over the last axis; into a new output, as PyTorch."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        return ForwardResult(np.multiply(inputs[0], run.weights.params["gamma"]))

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        (x,) = inputs
        module = torch_ops.LayerScale(x.channels, x.rank, p["init"])
        if weights is not None:
            torch_ops.assign(module.layer_scale, weights.params["gamma"].reshape(x.channels, *(1,) * x.rank))
        return module

    def torch_code(self, p, inputs, inference: Inference):
        """A small LayerScale class (torch.nn has none): the scalars as a (C,) parameter."""
        from cnncalc.layers.code import Construct, TorchCode, WeightLoad

        (x,) = inputs
        module = Construct("LayerScale", (("channels", x.channels), ("init", float(p["init"]))))
        return TorchCode(module, weights=(WeightLoad("layer_scale", "gamma"),), helpers=(LAYER_SCALE_CODE,))


@register
class DropPath(LayerKind):
    """Stochastic depth (torchvision.ops.StochasticDepth): in training each sample's input (mode
    row) or the whole batch's (mode batch) is zeroed with probability `rate`, the rest scaled by
    1 / (1 - rate); the identity at inference."""

    name = "drop_path"
    aliases = ("stochastic_depth",)
    shorthand = "rate"
    example = "0.1"
    summary = "stochastic depth: drops a whole sample's branch while training; identity at inference"
    params = (
        Param("rate", fraction, 0.1, "the probability that a sample is dropped"),
        Param("mode", choice("row", "batch"), "row", "row: one draw per sample; batch: one for the whole batch"),
    )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        return Inference(output=x)

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """Identity at inference or with rate 0. In training the mask (N x 1 x ... x 1, or a single
        value for mode batch, in the input's dtype: bernoulli_ then div_) multiplies the input:
        MulBackward keeps the mask only (the input's gradient is the mask times the output's)."""
        if not ctx.training or p["rate"] == 0:
            return MemoryRule(aliases_input=True, grad_is_view=True)
        mask = (ctx.batch if p["mode"] == "row" else 1) * ctx.act_bytes
        return MemoryRule(extra_saved=mask, unrecorded_scratch=mask)

    #: identity at inference: the output is the input itself.
    forward_view = True

    def forward(self, p, inputs, run):
        from cnncalc.forward import ForwardResult

        return ForwardResult(inputs[0])

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        return torch_ops.StochasticDepth(p["rate"], p["mode"])

    def torch_code(self, p, inputs, inference: Inference):
        """torchvision.ops.StochasticDepth's computation as a small class (the file imports only torch)."""
        from cnncalc.layers.code import Construct, TorchCode

        return TorchCode(Construct("StochasticDepth", (("p", float(p["rate"])), ("mode", p["mode"]))),
                         helpers=(STOCHASTIC_DEPTH_CODE,))


@register
class Permute(LayerKind):
    """A change of layout between channels-first (NCHW) and channels-last (NHWC) storage, as
    ConvNeXt's Permute([0, 2, 3, 1]) before its per-position linear layers. cnncalc's shapes name
    their axes (positions and channels), so nothing countable changes: the same shape, no
    parameters, no MACs; in PyTorch a view of the input (nothing allocated or saved)."""

    name = "permute"
    summary = "a layout change (NCHW <-> NHWC) as a view: shape, params and MACs unchanged"
    params = (Param("to", choice("channels_last", "channels_first"), "channels_last", "the layout after the permute"),)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        return Inference(output=x)

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """A view: PermuteBackward saves nothing and permutes the gradient back (a view of it)."""
        return MemoryRule(aliases_input=True, grad_is_view=True)

    #: a view: the executor's arrays are channels-last already.
    forward_view = True

    def forward(self, p, inputs, run):
        from cnncalc.forward import ForwardResult

        return ForwardResult(inputs[0])

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        """The permute and its inverse, both views, so that the next module still reads (N, C, *spatial)."""
        from cnncalc.layers import torch_ops

        rank = inputs[0].rank
        to_last = (0, *range(2, rank + 2), 1)
        to_first = (0, rank + 1, *range(1, rank + 1))
        return torch_ops.Relayout(to_last if p["to"] == "channels_last" else to_first)

    def torch_code(self, p, inputs, inference: Inference):
        """Nothing to compute: a layout change leaves the values, and every exported module reads NCHW."""
        from cnncalc.layers.code import TorchCode

        return TorchCode(None, f"{{x}}  # {self.name} to {p['to']}: a storage layout; the modules here read NCHW")


LAYER_SCALE_CODE = '''class LayerScale(nn.Module):
    """ConvNeXt's layer scale: each channel of (N, C, *spatial) times its own learned scalar."""

    def __init__(self, channels, init):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.full((channels,), init))

    def forward(self, x):
        return self.layer_scale.view(-1, *(1,) * (x.ndim - 2)) * x
'''

STOCHASTIC_DEPTH_CODE = '''class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: in training each sample (mode "row") or the whole batch
    ("batch") dropped with probability p, the rest scaled by 1 / (1 - p); the identity in eval mode."""

    def __init__(self, p, mode):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise
'''
