"""Normalisation layers: batch norm (learned scale and shift) and local response norm (none)."""

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
    number,
    register,
)


@register
class BatchNorm(LayerKind):
    name = "batchnorm"
    aliases = ("bn",)
    summary = "per-channel scale and shift (2C params) and running mean/variance (2C non-trainable)"
    params = (
        Param("affine", boolean, True, "learn gamma and beta"),
        Param("eps", number(0.0), 1e-5, "added to the variance"),
        Param("momentum", number(0.0), 0.1, "running-statistics update rate"),
    )

    def memory_rule(self, p, inputs, output, ctx: MemoryContext) -> MemoryRule:
        """NativeBatchNormBackward keeps the input and the batch mean and inverse std (2C values
        in the parameter dtype); running mean/var plus PyTorch's int64 batch counter are buffers."""
        (x,) = inputs
        c = x.channels
        return MemoryRule(
            saves_inputs=ctx.training,
            extra_saved=2 * c * ctx.param_bytes if ctx.training else 0,
            param_tensors=(c, c) if p["affine"] else (),
            buffer_bytes=2 * c * ctx.param_bytes + 8,
        )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        c = x.channels
        return Inference(
            output=x,
            params=2 * c if p["affine"] else 0,
            params_formula=f"2*{c}" if p["affine"] else "",
            buffers=2 * c,
        )


@register
class Lrn(LayerKind):
    name = "lrn"
    shorthand = "size"
    summary = "local response normalisation across channels (AlexNet); no learned parameters"
    params = (
        Param("size", integer(1), 5, "channels in the normalisation window"),
        Param("alpha", number(0.0), 1e-4, "scale"),
        Param("beta", number(0.0), 0.75, "exponent"),
        Param("k", number(0.0), 1.0, "additive constant"),
    )

    def memory_rule(self, p, inputs, output, ctx: MemoryContext) -> MemoryRule:
        """PyTorch composes LRN from mul, pad, avg_pool3d, pow and div: training keeps the input, the
        channel-padded square (C + size - 1 channels) and the pow base and result."""
        (x,) = inputs
        padded = ctx.batch * (x.channels + p["size"] - 1) * (x.numel // x.channels) * ctx.act_bytes
        composite = padded + 2 * ctx.activation(x)
        if ctx.training:
            return MemoryRule(saves_inputs=True, extra_saved=composite)
        # without autograd the intermediates die as soon as the next op has read them (measured)
        return MemoryRule(forward_scratch=2 * ctx.activation(x))

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        return Inference(output=x)
