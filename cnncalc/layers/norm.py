"""Normalisation layers: batch norm (learned scale and shift) and local response norm (none)."""

from __future__ import annotations

from cnncalc.layers.base import (
    Context,
    Inference,
    LayerKind,
    MemoryContext,
    NoTorchEquivalent,
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

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """NativeBatchNormBackward keeps the input and the batch mean and inverse std (2C values
        in the parameter dtype); running mean/var plus PyTorch's int64 batch counter are buffers.
        The CPU backward of the input holds one more input-sized temporary; over vectors the CPU
        kernel also keeps per-thread sums."""
        (x,) = inputs
        c = x.channels
        cpu = ctx.device == "cpu"
        # over vectors the CPU kernel sums per thread: a mean and a variance (training forward;
        # one value at inference), two gradient sums (backward) per channel for each thread
        per_thread = ctx.cpu.threads * 2 * c * ctx.param_bytes if cpu and not x.spatial else 0
        return MemoryRule(
            saves_inputs=ctx.training,
            extra_saved=2 * c * ctx.param_bytes if ctx.training else 0,
            extra_saved_tensors=(c * ctx.param_bytes,) * 2 if ctx.training else (),
            forward_scratch=per_thread if ctx.training else per_thread // 2,
            backward_scratch=max(ctx.activation(x), per_thread) if cpu else 0,
            param_backward_scratch=per_thread,
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

    def make_weights(self, p, inputs, inference: Inference, rng):
        """gamma, beta (channels,) if affine; running mean and variance (channels,), variance positive."""
        from cnncalc import arrays
        from cnncalc.forward import Weights

        c = inputs[0].channels
        params = {}
        if p["affine"]:
            params = {"gamma": arrays.random_uniform(rng, (c,), 0.5, 1.5),
                      "beta": arrays.random_normal(rng, (c,), 0.1)}
        buffers = {"running_mean": arrays.random_normal(rng, (c,), 0.1),
                   "running_var": arrays.random_uniform(rng, (c,), 0.5, 1.5)}
        return Weights(params, buffers)

    def forward(self, p, inputs, run):
        """Inference form: (x - running_mean) / sqrt(running_var + eps) * gamma + beta, folded into one
        scale and one shift per channel, into a new output (the textbook model does not run it in place)."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        w = run.weights
        scale = 1 / np.sqrt(w.buffers["running_var"] + np.float32(p["eps"]))
        if "gamma" in w.params:
            scale = scale * w.params["gamma"]
        shift = -w.buffers["running_mean"] * scale
        if "beta" in w.params:
            shift = shift + w.params["beta"]
        out = np.multiply(x, scale)
        out += shift
        return ForwardResult(out)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        """nn.BatchNormNd (1d for vectors); in eval mode it uses the running statistics, as the forward."""
        from cnncalc.layers import torch_ops

        (x,) = inputs
        module = torch_ops.nn_class("BatchNorm", max(x.rank, 1))(x.channels, eps=p["eps"], momentum=p["momentum"],
                                                                 affine=p["affine"])
        if weights is not None:
            for key, value in {**weights.params, **weights.buffers}.items():
                torch_ops.assign(getattr(module, {"gamma": "weight", "beta": "bias"}.get(key, key)), value)
        return module


@register
class Lrn(LayerKind):
    name = "lrn"
    shorthand = "size"
    example = "3"
    summary = "local response normalisation across channels (AlexNet); no learned parameters"
    params = (
        Param("size", integer(1), 5, "channels in the normalisation window"),
        Param("alpha", number(0.0), 1e-4, "scale"),
        Param("beta", number(0.0), 0.75, "exponent"),
        Param("k", number(0.0), 1.0, "additive constant"),
    )

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """PyTorch composes LRN from mul, pad, avg_pool3d, pow and div: training keeps the input, the
        channel-padded square (C + size - 1 channels) and the pow base and result. Autocast runs
        avg_pool3d (CPU) and pow (CUDA) in float32, so under --amp those and the output are float32."""
        (x,) = inputs
        item = ctx.param_bytes if ctx.amp else ctx.act_bytes
        padded = ctx.batch * (x.channels + p["size"] - 1) * (x.numel // x.channels) * item
        composite = padded + 2 * ctx.batch * x.numel * item
        # without autograd the intermediates die as soon as the next op has read them (measured)
        unrecorded = max(2 * ctx.activation(x), padded)
        if ctx.training:
            # the composite's backward holds up to three input-sized temporaries (or the padded
            # square) beyond the input gradient, while releasing its own saved tensors as it goes
            scratch = max(3 * ctx.activation(x), padded) if ctx.device == "cpu" else 0
            return MemoryRule(saves_inputs=True, extra_saved=composite,
                              extra_saved_tensors=(padded, ctx.batch * x.numel * item, ctx.batch * x.numel * item),
                              backward_scratch=scratch,
                              unrecorded_scratch=unrecorded, output_float32=ctx.amp)
        return MemoryRule(forward_scratch=unrecorded, output_float32=ctx.amp)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        return Inference(output=x)

    def forward(self, p, inputs, run):
        """PyTorch's LocalResponseNorm: x / (k + alpha/size * sum of x^2 over the channels c - size//2
        .. c + (size-1)//2, zero beyond the edges)^beta, channels being the last axis here."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        size, channels = p["size"], x.shape[-1]
        before = size // 2
        squares = np.zeros((*x.shape[:-1], channels + size - 1), dtype=x.dtype)
        np.square(x, out=squares[..., before : before + channels])
        out = squares[..., :channels].copy()
        for offset in range(1, size):
            out += squares[..., offset : offset + channels]
        del squares
        out *= np.float32(p["alpha"] / size)
        out += np.float32(p["k"])
        np.power(out, np.float32(p["beta"]), out=out)
        np.divide(x, out, out=out)
        return ForwardResult(out)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from torch import nn

        if inputs[0].is_vector:
            raise NoTorchEquivalent("PyTorch's LocalResponseNorm needs a feature map")
        return nn.LocalResponseNorm(p["size"], p["alpha"], p["beta"], p["k"])

    def forward_workspace(self, p, inputs, inference: Inference, batch: int) -> int:
        """The squares, zero-padded by size - 1 channels."""
        (x,) = inputs
        return batch * (x.numel // x.channels) * (x.channels + p["size"] - 1)
