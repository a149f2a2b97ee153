"""What the normalisations of modern CNNs (layer, group and instance norm, cnncalc/layers/norm.py) share:
the affine scale and shift (parameters, numpy weights, torch loads, export) and the statistics' dtype."""

from __future__ import annotations

from cnncalc.layers.base import MemoryContext, Param, boolean, number


def _affine_weights(p, c: int, rng):
    """gamma around 1 and beta around 0 (channels,) when the kind is affine, else none."""
    from cnncalc import arrays
    from cnncalc.forward import Weights

    if not p["affine"]:
        return Weights({})
    return Weights({"gamma": arrays.random_uniform(rng, (c,), 0.5, 1.5), "beta": arrays.random_normal(rng, (c,), 0.1)})


def _normalised(x, axes: tuple[int, ...], eps: float):
    """(x - mean) / sqrt(var + eps) over `axes` (the biased variance, as PyTorch), in x's dtype."""
    import numpy as np

    mean = x.mean(axis=axes, keepdims=True, dtype=np.float64)
    centred = x - mean.astype(x.dtype)
    var = np.square(centred, dtype=np.float64).mean(axis=axes, keepdims=True)
    centred *= (1 / np.sqrt(var + eps)).astype(x.dtype)
    return centred


def _scaled(out, weights):
    """out * gamma + beta in place, gamma and beta over the last (channel) axis, if there are any."""
    if "gamma" in weights.params:
        out *= weights.params["gamma"]
        out += weights.params["beta"]
    return out


def _load_affine(module, weights) -> None:
    from cnncalc.layers import torch_ops

    if weights is not None and "gamma" in weights.params:
        torch_ops.assign(module.weight, weights.params["gamma"])
        torch_ops.assign(module.bias, weights.params["beta"])


def _affine_loads(p):
    """gamma and beta into the module's weight and bias, when the kind is affine."""
    from cnncalc.layers.code import WeightLoad

    return (WeightLoad("weight", "gamma"), WeightLoad("bias", "beta")) if p["affine"] else ()


def _stats_bytes(p, ctx: MemoryContext) -> int:
    """Bytes per saved statistic: the parameters' dtype beside an affine scale (float32 under
    autocast), else the activations' (measured: without a weight CPU autocast keeps them bfloat16)."""
    return ctx.param_bytes if p["affine"] else ctx.act_bytes


AFFINE = Param("affine", boolean, True, "learn a scale and a shift per channel (2C params)")
EPS = Param("eps", number(0.0), 1e-5, "added to the variance")
