"""Normalisation layers: batch norm (learned scale and shift) and local response norm (none)."""

from __future__ import annotations

from cnncalc.layers.base import Context, Inference, LayerKind, Param, boolean, integer, number, register


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

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        return Inference(output=x)
