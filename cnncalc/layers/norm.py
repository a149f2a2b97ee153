"""Normalisation layers: batch norm (learned scale and shift), local response norm (none), and the
normalisations of modern CNNs (issue #14): layer norm over the channels, group norm and instance norm.

None of them counts MACs (torchvision's GFLOPS convention counts no normalisation); the affine
scale and shift are 2C parameters."""

from __future__ import annotations

from collections.abc import Iterator

from cnncalc.diagnostics import Diagnostic
from cnncalc.errors import ShapeError
from cnncalc.layers.base import (
    REQUIRED,
    Context,
    Inference,
    LayerKind,
    MemoryContext,
    NoTorchEquivalent,
    MemoryRule,
    Param,
    Rule,
    boolean,
    integer,
    need_spatial,
    number,
    register,
)
from cnncalc.layers.norm_parts import (
    AFFINE,
    EPS,
    _affine_loads,
    _affine_weights,
    _load_affine,
    _normalised,
    _scaled,
    _stats_bytes,
)


def one_value_per_channel(results, batch: int) -> Iterator[Diagnostic]:
    """CNN207 at each batch norm that a training step at `batch` would normalise over one value per
    channel (batch x positions = 1): PyTorch refuses it. `results`: the analysis' LayerResults."""
    from itertools import compress, islice
    from operator import attrgetter

    layers = islice(results, 1, None)  # the input's kind is None; every other node has one
    # the batch norms picked in C: a million-layer chain's other layers cost no Python step each
    picked = map(BatchNorm.name.__eq__, map(attrgetter("node.kind.name"), layers))
    for result in compress(islice(results, 1, None), picked):
        node = result.node
        if not result.inputs:
            continue
        (x,) = result.inputs
        positions = x.numel // max(x.channels, 1)
        if batch * positions == 1:
            where = "a vector" if x.is_vector else f"a {'x'.join(map(str, x.spatial))} map"
            yield ONE_VALUE_PER_CHANNEL.at(
                node.loc,
                f"{node.label}: at batch {batch} a training step normalises one value per channel ({where}); "
                "PyTorch refuses it (\"Expected more than 1 value per channel when training\"), so the "
                "training memory describes a step that cannot run",
                "train with batch 2 or more (inference is unaffected: eval mode uses the running statistics)",
            )


def _one_value_per_channel(subject) -> Iterator[Diagnostic]:
    """The lint check (`subject`: cnncalc.lint.subject.Subject): at the run's batch, for training."""
    if subject.options.mode == "train":
        yield from one_value_per_channel(subject.analysis.results, subject.options.batch)


ONE_VALUE_PER_CHANNEL = Rule(
    "CNN207", "batchnorm-one-value-per-channel", "warning",
    "a training batch norm over one value per channel (batch x height x width = 1)",
    what="Reports a batch norm whose input, at the analysed batch, holds one value per channel: a 1x1 "
    "map or a vector at batch 1 (Inception-v3's AuxLogits at batch 1). `analyze` reports it whenever it "
    "computes training memory at such a batch; in `lint` it is opt-in (`--select CNN207`, with `--batch`), "
    "since lint's batch defaults to 1.",
    why="Training-mode batch norm divides by the variance over the batch and the positions; PyTorch "
    "raises \"Expected more than 1 value per channel when training\" rather than divide by zero, so "
    "torchvision's Inception-v3 cannot be trained at batch 1. The training memory cnncalc reports for "
    "that batch belongs to a step that cannot run.",
    example="""
    input: 8x8x16
    layers:
      - global_pool: avg
      - bn              # at batch 1: one value per channel
    """,
    fix="Train at batch 2 or more, or normalise before the map shrinks to 1x1 (inference is unaffected).",
    check=_one_value_per_channel,
    default=False,
)


@register
class BatchNorm(LayerKind):
    name = "batchnorm"
    aliases = ("bn",)
    summary = "per-channel scale and shift (2C params) and running mean/variance (2C non-trainable)"
    rules = (ONE_VALUE_PER_CHANNEL,)
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

    def torch_code(self, p, inputs, inference: Inference):
        """nn.BatchNormNd over the channels; the executor's gamma, beta and running statistics."""
        from cnncalc.layers.code import Construct, TorchCode, WeightLoad, keywords

        (x,) = inputs
        module = Construct(f"nn.BatchNorm{max(x.rank, 1)}d", (("num_features", x.channels),), keywords(
            ("eps", p["eps"], 1e-5), ("momentum", p["momentum"], 0.1), ("affine", p["affine"], True)))
        loads = (WeightLoad("weight", "gamma"), WeightLoad("bias", "beta")) if p["affine"] else ()
        loads += (WeightLoad("running_mean", "running_mean"), WeightLoad("running_var", "running_var"))
        return TorchCode(module, weights=loads)


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

    def torch_code(self, p, inputs, inference: Inference):
        from cnncalc.layers.code import Construct, NoTorchCode, TorchCode

        if inputs[0].is_vector:
            raise NoTorchCode("PyTorch's LocalResponseNorm needs a feature map")
        return TorchCode(Construct("nn.LocalResponseNorm", (("size", p["size"]),), (
            ("alpha", p["alpha"]), ("beta", p["beta"]), ("k", p["k"]))))

    def forward_workspace(self, p, inputs, inference: Inference, batch: int) -> int:
        """The squares, zero-padded by size - 1 channels."""
        (x,) = inputs
        return batch * (x.numel // x.channels) * (x.channels + p["size"] - 1)


@register
class LayerNorm(LayerKind):
    """Layer norm over the channels at each position: ConvNeXt's LayerNorm2d on a feature map
    (torchvision permutes to channels-last and calls F.layer_norm), nn.LayerNorm on a vector."""

    name = "layernorm"
    aliases = ("layer_norm",)
    summary = ("normalises over the channels at each position (ConvNeXt's LayerNorm2d; nn.LayerNorm on "
               "vectors); 2C params")
    params = (AFFINE, Param("eps", number(0.0), 1e-5, "added to the variance (ConvNeXt: 1e-6)"))

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        c = x.channels
        return Inference(output=x, params=2 * c if p["affine"] else 0, params_formula=f"2*{c}" if p["affine"] else "")

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """NativeLayerNormBackward keeps the input (on a map: the channels-last view of its storage)
        and the mean and 1/std of each position (`_stats_bytes`: float32 beside an affine scale under autocast);
        at inference the two statistics live until the op returns.

        CPU transients on a map (measured): F.layer_norm makes its permuted input contiguous (a
        copy, freed when it returns); its backward copies the permuted output gradient and the
        input to contiguous tensors beside the input gradient. Over channels the backward also
        sums the scale's and shift's gradients per thread."""
        (x,) = inputs
        c = x.channels
        stats = ctx.batch * (x.numel // c) * _stats_bytes(p, ctx)
        cpu = ctx.device == "cpu"
        copy = ctx.activation(x) if cpu and x.spatial else 0
        per_thread = ctx.cpu.threads * 2 * c * ctx.param_bytes if cpu and p["affine"] else 0
        return MemoryRule(
            saves_inputs=ctx.training,
            extra_saved=2 * stats if ctx.training else 0,
            extra_saved_tensors=(stats, stats) if ctx.training else (),
            forward_scratch=copy if ctx.training else copy + 2 * stats,
            unrecorded_scratch=copy + 2 * stats,
            backward_scratch=2 * copy + per_thread,
            param_backward_scratch=2 * copy + per_thread,
            param_tensors=(c, c) if p["affine"] else (),
        )

    def make_weights(self, p, inputs, inference: Inference, rng):
        return _affine_weights(p, inputs[0].channels, rng)

    def forward(self, p, inputs, run):
        """Channels-last: over the last axis."""
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        return ForwardResult(_scaled(_normalised(x, (-1,), p["eps"]), run.weights))

    def forward_workspace(self, p, inputs, inference: Inference, batch: int) -> int:
        """The mean and variance of each position, float64 (two elements each)."""
        (x,) = inputs
        return 4 * batch * (x.numel // x.channels)

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from torch import nn

        from cnncalc.layers import torch_ops

        (x,) = inputs
        cls = nn.LayerNorm if x.is_vector else torch_ops.LayerNorm2d
        module = cls(x.channels, eps=p["eps"], elementwise_affine=p["affine"])
        _load_affine(module, weights)
        return module

    def torch_code(self, p, inputs, inference: Inference):
        """nn.LayerNorm over the channels; on a map with the channels moved last and back, as
        torchvision's LayerNorm2d (ConvNeXt) computes it."""
        from cnncalc.layers.code import Construct, TorchCode, keywords

        (x,) = inputs
        module = Construct("nn.LayerNorm", (("normalized_shape", x.channels),), keywords(
            ("eps", p["eps"], 1e-5), ("elementwise_affine", p["affine"], True)))
        if x.is_vector:
            return TorchCode(module, weights=_affine_loads(p))
        return TorchCode(module, "{module}({x}.movedim(1, -1)).movedim(-1, 1)", _affine_loads(p),
                         channels_last_module=True)


GROUPS_DIVIDE = Rule(
    "CNN217", "groups-do-not-divide-channels", "error", "groupnorm groups that do not divide the channels",
    what="Reports a groupnorm whose groups do not divide the input's channels.",
    why="PyTorch's GroupNorm splits the channels into equal groups and raises otherwise.",
    example="- groupnorm: 3   # on 8 channels",
    fix="Use a divisor of the channel count (GroupNorm's papers use 32 groups).",
)


@register
class GroupNorm(LayerKind):
    """Group norm, PyTorch's nn.GroupNorm: statistics over each group of C/groups channels and all
    positions of one sample; groups 1 is a layer norm over (C, H, W), groups C an instance norm."""

    name = "groupnorm"
    aliases = ("group_norm",)
    shorthand = "groups"
    example = "2"
    summary = "normalises each sample over groups of channels and all positions (nn.GroupNorm); 2C params"
    params = (Param("groups", integer(1), REQUIRED, "the number of channel groups; must divide the channels"),
              AFFINE, EPS)
    rules = (GROUPS_DIVIDE,)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        c, g = x.channels, p["groups"]
        if c % g:
            raise ShapeError(f"{ctx.label}: {g} groups do not divide the input's {c} channels",
                             hint="use a divisor of the channel count", code="CNN217")
        return Inference(output=x, params=2 * c if p["affine"] else 0, params_formula=f"2*{c}" if p["affine"] else "")

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """NativeGroupNormBackward keeps the input, and the mean and 1/std of each (sample, group)
        (`_stats_bytes`: float32 beside an affine scale under autocast); at inference the two statistics live
        until the op returns. The CPU backward sums two values per (sample, channel) (measured)."""
        (x,) = inputs
        stats = ctx.batch * p["groups"] * _stats_bytes(p, ctx)
        sums = 2 * ctx.batch * x.channels * ctx.param_bytes if ctx.device == "cpu" else 0
        return MemoryRule(
            saves_inputs=ctx.training,
            extra_saved=2 * stats if ctx.training else 0,
            extra_saved_tensors=(stats, stats) if ctx.training else (),
            forward_scratch=0 if ctx.training else 2 * stats,
            unrecorded_scratch=2 * stats,
            backward_scratch=sums,
            param_tensors=(x.channels, x.channels) if p["affine"] else (),
        )

    def make_weights(self, p, inputs, inference: Inference, rng):
        return _affine_weights(p, inputs[0].channels, rng)

    def forward(self, p, inputs, run):
        """Channels-last: the channel axis split into (groups, C/groups); statistics over every
        position and the channels of a group."""
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        g = p["groups"]
        grouped = x.reshape(x.shape[0], -1, g, x.shape[-1] // g)
        out = _normalised(grouped, (1, 3), p["eps"]).reshape(x.shape)
        return ForwardResult(_scaled(out, run.weights))

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from torch import nn

        module = nn.GroupNorm(p["groups"], inputs[0].channels, eps=p["eps"], affine=p["affine"])
        _load_affine(module, weights)
        return module

    def torch_code(self, p, inputs, inference: Inference):
        from cnncalc.layers.code import Construct, TorchCode, keywords

        return TorchCode(Construct("nn.GroupNorm", (("num_groups", p["groups"]), ("num_channels", inputs[0].channels)),
                                   keywords(("eps", p["eps"], 1e-5), ("affine", p["affine"], True))),
                         weights=_affine_loads(p))


@register
class InstanceNorm(LayerKind):
    """Instance norm, PyTorch's nn.InstanceNormNd with track_running_stats=False: statistics over
    the positions of each (sample, channel), in training and at inference alike."""

    name = "instancenorm"
    aliases = ("instance_norm",)
    summary = "normalises each channel of each sample over its positions (nn.InstanceNorm2d); 2C params if affine"
    params = (Param("affine", boolean, False, "learn a scale and a shift per channel (PyTorch's default: no)"),
              EPS)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        need_spatial(x, ctx.label)
        c = x.channels
        return Inference(output=x, params=2 * c if p["affine"] else 0, params_formula=f"2*{c}" if p["affine"] else "")

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """PyTorch runs batch norm on the input viewed as one sample of N*C channels: it keeps the
        input and the mean and 1/std of the N*C channels, and when affine the weight repeated N
        times (the batch norm's weight), each N*C values (`_stats_bytes`)."""
        (x,) = inputs
        c = x.channels
        per = ctx.batch * c * _stats_bytes(p, ctx)
        tensors = (per,) * (3 if p["affine"] else 2) if ctx.training else ()
        return MemoryRule(
            saves_inputs=ctx.training,
            extra_saved=sum(tensors),
            extra_saved_tensors=tensors,
            param_tensors=(c, c) if p["affine"] else (),
        )

    def make_weights(self, p, inputs, inference: Inference, rng):
        return _affine_weights(p, inputs[0].channels, rng)

    def forward(self, p, inputs, run):
        """Channels-last: statistics over the spatial axes."""
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        return ForwardResult(_scaled(_normalised(x, tuple(range(1, x.ndim - 1)), p["eps"]), run.weights))

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        (x,) = inputs
        module = torch_ops.nn_class("InstanceNorm", x.rank)(x.channels, eps=p["eps"], affine=p["affine"])
        _load_affine(module, weights)
        return module

    def torch_code(self, p, inputs, inference: Inference):
        from cnncalc.layers.code import Construct, TorchCode, keywords

        (x,) = inputs
        return TorchCode(Construct(f"nn.InstanceNorm{x.rank}d", (("num_features", x.channels),),
                                   keywords(("eps", p["eps"], 1e-5), ("affine", p["affine"], False))),
                         weights=_affine_loads(p))
