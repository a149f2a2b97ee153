"""Counting presets: MACs and FLOPs as each peer tool counts them (`analyze --count NAME`).

Each preset is a rule per layer kind, read from the peer's source and checked against its totals on
torchvision's vgg16, resnet50, mobilenet_v2 and googlenet (tests/data/peer_counts.json, written by
benchmarks/peer_counts.py; docs/counting.md has the table). A preset assumes each layer is the
nn.Module torchvision would use (nn.ReLU, nn.MaxPool2d, ...) unless the layer says `functional: true`:
a peer that hooks modules does not see a functional call (torch.nn.functional.relu), and one that
patches torch.nn.functional sees it once where a module is counted by its hook and its patch both.

Also here: the per-kind subtotals (the backward MACs of each layer are in cnncalc/backward.py). Imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Callable
from cnncalc.records import dataclass
from math import prod

from cnncalc.analysis import Analysis, LayerResult
from cnncalc.backward import CONV_TYPES, NO_BACKWARD, WEIGHTED_TYPES, Backward, backward  # noqa: F401  (re-exported)
from cnncalc.layers.base import per_axis
from cnncalc.shapes import Shape



@dataclass(frozen=True, slots=True)
class Op:
    """One layer as a counting rule sees it: kind, settings, shapes, the exact MACs and bias additions."""

    type: str
    p: dict
    inputs: tuple[Shape, ...]
    out: Shape
    macs: int
    bias_macs: int
    #: a batch norm that reads a convolution nothing else reads (ONNX export folds it into that conv)
    folds: bool = False
    #: a convolution that such a batch norm folds into (it gains a bias)
    gains_bias: bool = False

    @property
    def numel(self) -> int:
        return self.out.numel

    @property
    def in_numel(self) -> int:
        return self.inputs[0].numel if self.inputs else 0

    @property
    def functional(self) -> bool:
        """PyTorch calls it as a function (`F.relu`), not a module: the spec's `functional: true`."""
        return bool(self.p.get("functional", False))

    @property
    def mode(self) -> str:
        return self.p.get("mode", "max" if self.type == "pool" else "avg")

    def kernel(self) -> tuple[int, ...]:
        """The pooling window per spatial axis (global: the whole input)."""
        x = self.inputs[0]
        if self.type == "global_pool":
            return x.spatial
        return per_axis(self.p["kernel"], x.rank, "kernel", self.type)

    def adaptive(self) -> tuple[int, ...]:
        """torchscan's adaptive kernel: in // out where it divides, else in % out + 1."""
        return tuple(i // o if i % o == 0 else i % o + 1 for i, o in zip(self.inputs[0].spatial, self.out.spatial))


def _kernel_as_module_stores_it(op: Op) -> int:
    """torchscan multiplies out a tuple kernel but takes an int kernel_size as is (3, not 3 x 3)."""
    kernel = op.p["kernel"]
    return kernel if isinstance(kernel, int) else prod(kernel)


def _zero(op: Op) -> int:
    return 0


def _zero_count(counted: int) -> int:
    return 0


_UNSEEN = "0 (module hooks do not see them)"


Rule = Callable[[Op], int]


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    #: the peer, its version as measured, and the call whose total the preset reproduces
    peer: str
    #: what the peer calls the number it prints (`--count` puts it in the MACs column)
    calls_it: str
    #: "FLOPs = 2 x MACs", "FLOPs = MACs", or the peer's own FLOP rule
    flop_rule: str
    #: the choices, as docs/counting.md's table states them
    bias: str
    batchnorm: str
    activation: str
    pooling: str
    add: str
    softmax: str
    macs: dict[str, Rule]
    #: per-kind FLOP rules; None: FLOPs = flop_factor x MACs
    flops: dict[str, Rule] | None = None
    flop_factor: int = 2
    #: what the peer counts for a functional call, given what it counts for the module (MACs or FLOPs)
    functional: Callable[[int], int] = lambda counted: counted
    #: how the peer sees a functional call, for report headers
    sees_functional: str = "as the module"

    def count(self, op: Op) -> tuple[int, int]:
        macs = self.macs.get(op.type, _zero)(op)
        flops = self.flop_factor * macs if self.flops is None else self.flops.get(op.type, _zero)(op)
        if op.functional:
            return self.functional(macs), self.functional(flops)
        return macs, flops

    def conventions(self) -> str:
        """One line for report headers."""
        return (f"counting {self.name} ({self.peer}; its number: {self.calls_it}): bias {self.bias}; "
                f"batch norm {self.batchnorm}; activations {self.activation}; pooling {self.pooling}; "
                f"add {self.add}; softmax {self.softmax}; functional calls {self.sees_functional}; {self.flop_rule}")


def _weighted(rule: Rule) -> dict[str, Rule]:
    return {t: rule for t in WEIGHTED_TYPES}


def _exact(op: Op) -> int:
    return op.macs


def _with_bias(op: Op) -> int:
    return op.macs + op.bias_macs


def _kinds(*types: str, rule: Rule) -> dict[str, Rule]:
    return {t: rule for t in types}


def _thop_conv_transpose(op: Op) -> int:
    """thop counts a transposed conv like a conv: output x (C_in / groups) x kernel."""
    x = op.inputs[0]
    return op.numel * (x.channels // op.p.get("groups", 1)) * prod(per_axis(op.p["kernel"], x.rank, "kernel", ""))


def _onnx_conv_transpose(op: Op) -> int:
    """onnx-tool: output x the weight's (C_out / groups) x kernel, + 1 per output with a bias."""
    kernel = prod(per_axis(op.p["kernel"], op.out.rank, "kernel", ""))
    return op.numel * (op.out.channels // op.p.get("groups", 1)) * kernel + (op.numel if op.bias_macs else 0)


def _calflops_conv_transpose(op: Op) -> int:
    """calflops: 2 x MACs, and a bias per output of the size a *convolution* of the input would have."""
    if not op.bias_macs:
        return 2 * op.macs
    x, rank = op.inputs[0], op.out.rank
    k, s, d = (per_axis(op.p.get(key, default), rank, key, "") for key, default in
               (("kernel", 1), ("stride", 1), ("dilation", 1)))
    pad = per_axis(op.p.get("padding", 0), rank, "padding", "")
    dims = [(w + 2 * p - (d_ * (k_ - 1) + 1)) // s_ + 1 for w, p, k_, s_, d_ in zip(x.spatial, pad, k, s, d)]
    return 2 * op.macs + op.out.channels * prod(dims)


def _thop_adaptive_avg(op: Op) -> int:
    ratio = prod(i / o for i, o in zip(op.inputs[0].spatial, op.out.spatial))
    return int((ratio + 1) * op.numel)


def _thop_upsample(op: Op) -> int:
    return op.numel * {"nearest": 1, "linear": 5, "bilinear": 11, "trilinear": 31}.get(op.mode, 0)


TORCHVISION = Preset(
    "torchvision", "torchvision's GFLOPS metadata (conv + linear multiply-accumulates)", "GFLOPS (a MAC count)",
    "FLOPs = 2 x MACs", "excluded (--count-bias adds one per biased output)", "0", "0", "0", "0", "0",
    _weighted(_exact),
)

FVCORE = Preset(
    "fvcore", "fvcore 0.1.5.post20221221 FlopCountAnalysis(model, x).total()", "flops (one per multiply-add)",
    "FLOPs = MACs (fvcore's flop is one multiply-add)", "excluded", "2 per element (1 without affine)", "0",
    "adaptive/global average: 1 per input element; max and fixed-window pools 0", "0", "0",
    {**_weighted(_exact),
     "batchnorm": lambda op: op.numel * (2 if op.p.get("affine", True) else 1),
     "global_pool": lambda op: op.in_numel if op.mode == "avg" else 0,
     "adaptive_pool": lambda op: op.in_numel if op.mode == "avg" else 0,
     "upsample": lambda op: op.numel * {"nearest": 1, "bilinear": 4}.get(op.mode, 0) if op.out.rank == 2 else 0},
    flop_factor=1,
)

THOP = Preset(
    "thop", "thop 0.1.1-2209072238 profile(model, inputs=(x,))", "macs",
    "FLOPs = 2 x MACs (thop reports none)", "excluded", "4 per element (2 without affine)", "0",
    "max 0; average: 1 per output element; adaptive/global average: (window + 1) per output element", "0",
    "nn.Softmax: 3n - 1 per row of n",
    {**_weighted(_exact),
     "conv_transpose": _thop_conv_transpose,
     "batchnorm": lambda op: op.numel * (4 if op.p.get("affine", True) else 2),
     "pool": lambda op: op.numel if op.mode == "avg" else 0,
     "global_pool": lambda op: _thop_adaptive_avg(op) if op.mode == "avg" else 0,
     "adaptive_pool": lambda op: _thop_adaptive_avg(op) if op.mode == "avg" else 0,
     "softmax": lambda op: (op.numel // op.out.channels) * (3 * op.out.channels - 1),
     "upsample": _thop_upsample},
    functional=_zero_count, sees_functional=_UNSEEN,
)

PTFLOPS = Preset(
    "ptflops", "ptflops 0.7.5 get_model_complexity_info(model, (3, 224, 224)) (pytorch backend)", "MACs (GMac)",
    "FLOPs = 2 x MACs (ptflops reports none)", "included: one per biased output",
    "1 per element (2 with affine)",
    "nn.ReLU 2 per element (its hook and the patched F.relu both count); nn.ReLU6 1 (F.hardtanh is not "
    "patched); sigmoid, tanh 0",
    "2 per input element (the module hook and the patched F.*pool* both count)", "0 (`+` is not patched)",
    "1 per element (F.softmax)",
    {**_weighted(_with_bias),
     "batchnorm": lambda op: op.in_numel * (2 if op.p.get("affine", True) else 1),
     "relu": lambda op: 2 * op.numel,
     "relu6": lambda op: op.numel,
     "softmax": lambda op: op.in_numel,
     **_kinds("pool", "global_pool", "adaptive_pool", rule=lambda op: 2 * op.in_numel),
     "upsample": lambda op: 2 * op.numel},
    functional=lambda counted: counted // 2, sees_functional="once (the patched F.* only; a module counts twice)",
)

TORCHSCAN = Preset(
    "torchscan", "torchscan 0.2.0 crawl_module(model, (3, 224, 224))", "MACs (Multiply-Accumulations)",
    "FLOPs by torchscan's own rules (its Module-formula forward FLOPs)",
    "MACs excluded; FLOPs: conv (2 x terms - 1 + 1 with bias), fc (2 x in - 1) + 1 with bias",
    "MACs 2 per element (1 without affine); FLOPs 4 per element + 2 per channel (2 + 2 without affine)",
    "MACs 0; FLOPs relu 1, relu6 2, sigmoid 4, tanh 6 per element; dropout 1 per element when rate > 0",
    "max: (kernel - 1) per output, average: (kernel - 1 + rank); an int kernel_size counts once, not squared "
    "(3, not 9); adaptive/global average: (window - 1 + rank), max (window - 1)",
    "0 (not a module)", "0 (unsupported)",
    {**_weighted(_exact),
     "conv_transpose": lambda op: 4 * op.out.rank + _thop_conv_transpose(op),
     "batchnorm": lambda op: op.in_numel * (2 if op.p.get("affine", True) else 1),
     "pool": lambda op: op.numel * (_kernel_as_module_stores_it(op) - 1 + (op.out.rank if op.mode == "avg" else 0)),
     **_kinds("global_pool", "adaptive_pool",
              rule=lambda op: op.numel * (prod(op.adaptive()) - 1 + (op.out.rank if op.mode == "avg" else 0)))},
    flops={
        **_kinds(*CONV_TYPES, rule=lambda op: 2 * op.macs - op.numel + op.bias_macs),
        "conv_transpose": lambda op: 8 * op.out.rank + 2 * _thop_conv_transpose(op) - op.numel + op.bias_macs,
        "fc": lambda op: 2 * op.macs - op.numel + op.bias_macs,
        "relu": lambda op: op.in_numel, "relu6": lambda op: 2 * op.in_numel,
        "sigmoid": lambda op: 4 * op.in_numel, "tanh": lambda op: 6 * op.in_numel,
        "dropout": lambda op: op.in_numel if op.p.get("rate", 0.5) > 0 else 0,
        "batchnorm": lambda op: 2 * op.out.channels + op.in_numel * (4 if op.p.get("affine", True) else 2),
        "pool": lambda op: op.numel * (_kernel_as_module_stores_it(op) - 1 + (op.out.rank if op.mode == "avg" else 0)),
        **_kinds("global_pool", "adaptive_pool",
                 rule=lambda op: op.numel * (prod(op.adaptive()) - 1 + (op.out.rank if op.mode == "avg" else 0))),
    },
    functional=_zero_count, sees_functional=_UNSEEN,
)

ONNX_TOOL = Preset(
    "onnx-tool", "onnx-tool 1.0.1 model_profile of torch.onnx.export(model, x, dynamo=False)", "Forward_MACs",
    "FLOPs = 2 x MACs (its metric='FLOPs')",
    "included: one per output of a conv with a bias or a folded batch norm, and of a biased fc",
    "folded into the conv it follows (0); otherwise 31 per element", "relu 1, relu6 (Clip) 2, sigmoid 32, "
    "tanh 76 per element", "kernel area per output element (max and average); global average: 1 per input "
    "+ 4 per output", "1 per output element per extra input", "36 per element",
    {**_weighted(_with_bias),
     **_kinds(*CONV_TYPES, rule=lambda op: op.macs + (op.numel if op.bias_macs or op.gains_bias else 0)),
     "batchnorm": lambda op: 0 if op.folds else 31 * op.numel,
     "relu": lambda op: op.numel, "relu6": lambda op: 2 * op.numel,
     "sigmoid": lambda op: 32 * op.numel, "tanh": lambda op: 76 * op.numel, "softmax": lambda op: 36 * op.numel,
     "lrn": lambda op: (37 + op.p.get("size", 5)) * op.numel,
     "pool": lambda op: op.numel * prod(op.kernel()),
     "conv_transpose": _onnx_conv_transpose,
     "adaptive_pool": lambda op: op.numel * prod(op.adaptive()),
     "global_pool": lambda op: op.in_numel + 4 * op.numel if op.mode == "avg" else 0,
     "add": lambda op: op.numel * (len(op.inputs) - 1), "multiply": lambda op: op.numel,  # Mul: as Add
     "upsample": lambda op: 0 if op.mode == "nearest" else 4 * op.numel},
)

CALFLOPS = Preset(
    "calflops", "calflops 0.3.2 calculate_flops(model, input_shape=(1, 3, 224, 224))", "MACs and FLOPs",
    "FLOPs by calflops' own rules (2 x MACs + conv bias + elementwise ops)",
    "MACs excluded; FLOPs: conv + 1 per biased output, fc excluded",
    "FLOPs 2 per element (1 without affine); MACs 0",
    "FLOPs relu 1 per element; relu6 0 (nn.ReLU6 runs F.hardtanh, not patched); MACs 0",
    "FLOPs 1 per input element (every F.*pool*); MACs 0", "0 (`+` is not patched)", "FLOPs 1 per element",
    _weighted(_exact),
    flops={
        **_kinds(*CONV_TYPES, rule=lambda op: 2 * op.macs + op.bias_macs),
        "conv_transpose": _calflops_conv_transpose,
        "fc": lambda op: 2 * op.macs,
        "relu": lambda op: op.in_numel, "softmax": lambda op: op.in_numel,
        "batchnorm": lambda op: op.in_numel * (2 if op.p.get("affine", True) else 1),
        **_kinds("pool", "global_pool", "adaptive_pool", rule=lambda op: op.in_numel),
        "upsample": lambda op: op.in_numel,  # calflops computes input x scale and returns the input's size
    },
)

PRESETS: dict[str, Preset] = {p.name: p for p in (TORCHVISION, FVCORE, THOP, PTFLOPS, TORCHSCAN, ONNX_TOOL, CALFLOPS)}
DEFAULT = TORCHVISION.name


def ops(analysis: Analysis) -> tuple[Op, ...]:
    """Every layer (the input included, counting nothing) as the rules see it."""
    results = analysis.results
    readers: dict[int, list[int]] = {}
    for result in results:
        for i in result.node.inputs:
            readers.setdefault(i, []).append(result.node.index)
    by_index = {r.node.index: r for r in results}

    def folds(result: LayerResult) -> bool:
        if result.node.type != "batchnorm" or len(result.node.inputs) != 1:
            return False
        source = by_index.get(result.node.inputs[0])
        return source is not None and source.node.type in CONV_TYPES and readers.get(source.node.index) == [
            result.node.index]

    folding = {r.node.inputs[0] for r in results if folds(r)}
    return tuple(
        Op(r.node.type, r.node.params, r.inputs, r.output, r.inference.macs, r.inference.bias_macs,
           folds=folds(r), gains_bias=r.node.index in folding)
        for r in results
    )


def count(analysis: Analysis, preset: Preset, count_bias: bool = False) -> tuple[tuple[int, int], ...]:
    """(MACs, FLOPs) per layer and sample under a preset; `count_bias` (torchvision only) adds bias additions."""
    counted = []
    for op in ops(analysis):
        if op.type == "input":
            counted.append((0, 0))
            continue
        macs, flops = preset.count(op)
        if count_bias and preset is TORCHVISION:
            macs += op.bias_macs
            flops = 2 * macs
        counted.append((macs, flops))
    return tuple(counted)


# ---------------------------------------------------------------------------------------------
# per-kind subtotals


@dataclass(frozen=True, slots=True)
class KindTotal:
    type: str
    count: int
    params: int
    macs: int
    flops: int


def by_type(types: list[str], params: list[int], counted: tuple[tuple[int, int], ...]) -> tuple[KindTotal, ...]:
    """Layers, parameters, MACs and FLOPs (per sample) per layer kind, heaviest MACs first, the input left out."""
    totals: dict[str, list[int]] = {}
    for kind, n, (macs, flops) in zip(types, params, counted):
        if kind == "input":
            continue
        entry = totals.setdefault(kind, [0, 0, 0, 0])
        entry[0] += 1
        entry[1] += n
        entry[2] += macs
        entry[3] += flops
    rows = [KindTotal(kind, *values) for kind, values in totals.items()]
    return tuple(sorted(rows, key=lambda k: (-k.macs, -k.params, k.type)))


# ---------------------------------------------------------------------------------------------
# the report's side: choosing a preset, applying it to the rows, describing it


def get(name: str) -> Preset:
    from cnncalc.errors import Location, UsageError

    if name not in PRESETS:
        raise UsageError(f"no counting preset {name!r}", Location("--count"), hint="use one of " + ", ".join(PRESETS))
    return PRESETS[name]


@dataclass(frozen=True, slots=True)
class Counted:
    """A report's counts per layer and sample: MACs, FLOPs and backward MACs; the FLOPs total when the
    preset's FLOPs are not 2 x MACs (None: they are)."""

    macs: list[int]
    flops: list[int]
    backward: tuple[Backward, ...]
    flops_total: int | None


def for_report(analysis: Analysis, options) -> Counted:
    from cnncalc.errors import Location, UsageError

    preset = get(options.count)
    if options.count_bias and preset is not TORCHVISION:
        raise UsageError(f"--count-bias changes the torchvision count; {preset.name} counts bias its own way "
                         f"({preset.bias})", Location("--count-bias"), hint="drop --count-bias or --count")
    grads = backward(analysis)
    if preset is TORCHVISION:  # the common case, without building an Op per layer
        bias = options.count_bias
        macs = [r.inference.macs + (r.inference.bias_macs if bias else 0) for r in analysis.results]
        return Counted(macs, [2 * m for m in macs], grads, None)
    counted = count(analysis, preset)
    doubled = preset.flops is None and preset.flop_factor == 2
    flops = [f for _, f in counted]
    return Counted([m for m, _ in counted], flops, grads, None if doubled else sum(flops))


BACKWARD_CONVENTION = ("conv, transposed conv and fc: input gradient = weight gradient = forward MACs (bias "
                       "excluded); no input gradient where no input needs one (the first such layer)")


def describe(name: str, count_bias: bool) -> dict:
    """JSON `counting`: what the numbers count (the torchvision entries as they always were, then the preset)."""
    preset = get(name)
    if preset is TORCHVISION:
        bias = ", bias additions included" if count_bias else ", bias excluded"
        macs = "multiply-accumulates of conv and fc" + bias
        flops = "2 x macs"
    else:
        macs = f"{preset.calls_it}, counted as {preset.peer}"
        flops = preset.flop_rule
    return {
        "macs": macs,
        "flops": flops,
        "activations": "layer output elements x batch; in-place layers add none",
        "units": "bytes; binary prefixes (1 MiB = 1024 x 1024 bytes) in text output",
        "preset": preset.name,
        "peer": preset.peer,
        "peer_calls_it": preset.calls_it,
        "rules": {"bias": preset.bias, "batchnorm": preset.batchnorm, "activation": preset.activation,
                  "pooling": preset.pooling, "add": preset.add, "softmax": preset.softmax,
                  "flops": preset.flop_rule},
        "backward_macs": BACKWARD_CONVENTION,
    }


def json_keys(report) -> dict:
    """Top-level JSON keys of a report: `by_type` (counts include the batch, as `layers` do)."""
    batch = report.options.batch
    return {"by_type": [
        {"type": k.type, "layers": k.count, "params": k.params, "macs": k.macs * batch, "flops": k.flops * batch}
        for k in kind_totals(report)
    ]}


def kind_totals(report) -> tuple[KindTotal, ...]:
    rows = report.rows
    return by_type([r.type for r in rows], [r.params for r in rows], tuple((r.macs, r.flops) for r in rows))


def caption(report) -> str:
    """The conventions line under the layer table (today's words under the default preset)."""
    per = "per sample, " if report.options.batch > 1 else ""
    preset = get(report.options.count)
    if preset is TORCHVISION:
        return (f"{per}convention {report.convention}; MACs = multiply-accumulates of conv/fc, "
                + ("bias included" if report.options.count_bias else "bias excluded") + "; FLOPs = 2 x MACs")
    return f"{per}convention {report.convention}; {preset.conventions()}"


def summary_line(report, exact, short) -> str:
    """The MACs line of the summary: the preset's number, named as the peer names it."""
    t = report.totals
    per = " per sample" if report.options.batch > 1 else ""
    preset = get(report.options.count)
    if preset is TORCHVISION:
        return f"MACs: {exact(t.macs)} ({short(t.macs)})   FLOPs = 2 x MACs = {short(t.flops)}{per}"
    return (f"MACs as {preset.name} counts them ({preset.calls_it}): {exact(t.macs)} ({short(t.macs)})   "
            f"{preset.flop_rule}: {short(t.flops)}{per}")


def markdown_line(report) -> str:
    preset = get(report.options.count)
    if preset is TORCHVISION:
        return "MACs exclude bias unless `--count-bias`; FLOPs = 2 x MACs."
    return f"MACs and FLOPs: `--count {preset.name}`, {preset.conventions()}."
