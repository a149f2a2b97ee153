"""Test-only: turn an analysed cnncalc graph into a torch module and measure what PyTorch really
allocates (the oracle of the memory tests). Never imported by cnncalc itself."""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd.graph import saved_tensors_hooks
from torch.profiler import ProfilerActivity, profile

from cnncalc.analysis import Analysis, LayerResult


class Unsupported(Exception):
    """The layer has no plain torch equivalent whose memory matches (e.g. asymmetric padding)."""


_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_MAX = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
_AVG = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
_GAVG = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
_GMAX = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}
_BN = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


def _pad(p, kernel, dilation, stride):
    pad = p["padding"]
    if pad is None or pad == "valid":
        return 0
    if isinstance(pad, str) and pad != "same":
        raise Unsupported(f"padding '{pad}'")
    if pad == "same":
        k = kernel if isinstance(kernel, int) else kernel[0]
        d = dilation if isinstance(dilation, int) else dilation[0]
        if stride != 1 or (d * (k - 1)) % 2:
            raise Unsupported("asymmetric 'same' padding")
        return d * (k - 1) // 2
    if isinstance(pad, tuple) and len(pad) > 3:
        raise Unsupported("before/after padding")
    return pad


def _module(result: LayerResult) -> nn.Module | str:
    node, p = result.node, result.node.params
    x = result.inputs[0]
    kind = node.type
    if kind == "depthwise":
        p = {**p, "filters": x.channels * p["multiplier"], "groups": x.channels}
        kind = "conv"
    if kind in ("conv", "conv1d", "conv2d", "conv3d"):
        pad = _pad(p, p["kernel"], p["dilation"], p["stride"])
        return _CONV[x.rank](x.channels, p["filters"], p["kernel"], p["stride"], pad, p["dilation"], p["groups"],
                             p["bias"])
    if kind == "fc":
        linear = nn.Linear(x.numel, p["units"], bias=p["bias"])
        return linear if x.is_vector else nn.Sequential(nn.Flatten(), linear)
    if kind == "flatten":
        return nn.Flatten()
    if kind == "pool":
        if p.get("ignore_border") is not None:
            raise Unsupported("Theano's ignore_border")
        p = {**p, "ceil": bool(p["ceil"])}
        if p["mode"] == "max":
            pad = _pad(p, p["kernel"], p["dilation"], 1)
            return _MAX[x.rank](p["kernel"], p["stride"], pad, p["dilation"], ceil_mode=p["ceil"])
        if p["dilation"] != 1:
            raise Unsupported("dilated average pooling")
        return _AVG[x.rank](p["kernel"], p["stride"], _pad(p, p["kernel"], 1, 1), ceil_mode=p["ceil"])
    if kind == "global_pool":
        return (_GAVG if p["mode"] == "avg" else _GMAX)[x.rank](1)
    if kind == "relu":
        return nn.ReLU(inplace=p["inplace"])
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "tanh":
        return nn.Tanh()
    if kind == "softmax":
        return nn.Softmax(dim=1)
    if kind == "dropout":
        return nn.Dropout(p["rate"])
    if kind == "batchnorm":
        return _BN[x.rank](x.channels, eps=p["eps"], momentum=p["momentum"], affine=p["affine"])
    if kind == "lrn":
        if x.is_vector:
            raise Unsupported("LRN on a vector")
        return nn.LocalResponseNorm(p["size"], p["alpha"], p["beta"], p["k"])
    if kind == "relu6":
        return nn.ReLU6()
    if kind == "upsample":
        return nn.Upsample(scale_factor=p["scale"], mode=p["mode"])
    if kind == "adaptive_pool":
        return ({1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d} if p["mode"] == "avg"
                else {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d})[x.rank](p["output"])
    if kind == "zero_pad":
        pad = p["padding"]
        if not isinstance(pad, int):
            raise Unsupported("per-axis zero_pad")
        return {1: nn.ZeroPad1d, 2: nn.ZeroPad2d, 3: nn.ZeroPad3d}[x.rank](pad)
    if kind == "conv_transpose":
        cls = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[x.rank]
        return cls(x.channels, p["filters"], p["kernel"], p["stride"], p["padding"], p["output_padding"],
                   p["groups"], p["bias"], p["dilation"])
    if kind == "add":
        return "add"
    if kind == "concat":
        return "concat"
    raise Unsupported(kind)


class GraphNet(nn.Module):
    """Runs the graph in node order, dropping each output after its last reader, as eager code does."""

    def __init__(self, analysis: Analysis):
        super().__init__()
        self.inputs = [r.node.inputs for r in analysis.results[1:]]
        made = [_module(r) for r in analysis.results[1:]]
        self.ops = [m if isinstance(m, str) else None for m in made]
        self.layers = nn.ModuleList(m if isinstance(m, nn.Module) else nn.Identity() for m in made)
        last_use: dict[int, int] = {}
        for position, sources in enumerate(self.inputs, start=1):
            for s in sources:
                last_use[s] = position
        self.dies_after = [[s for s, at in last_use.items() if at == position] for position in
                           range(len(self.inputs) + 1)]

    def forward(self, x):
        outs: dict[int, torch.Tensor] = {0: x}
        del x
        for position, (sources, op, layer) in enumerate(zip(self.inputs, self.ops, self.layers), start=1):
            args = [outs[s] for s in sources]
            for s in self.dies_after[position]:
                del outs[s]
            if op == "add":
                out = args[0] + args[1]
                for extra in args[2:]:
                    out = out + extra
            elif op == "concat":
                out = torch.cat(args, dim=1)
            else:
                out = layer(*args)
            del args
            outs[position] = out
            del out
        return outs[len(self.inputs)]


def batch_input(analysis: Analysis, batch: int) -> torch.Tensor:
    shape = analysis.graph.input
    return torch.randn(batch, shape.channels, *shape.spatial)


def _resident_ptrs(model: nn.Module) -> set[int]:
    tensors = [*model.parameters(), *model.buffers()]
    return {t.untyped_storage().data_ptr() for t in tensors}


def saved_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the unique storages autograd keeps for backward, parameters and buffers excluded."""
    model.train()
    resident = _resident_ptrs(model)
    seen: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in resident:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    del out
    return sum(seen.values())


def _replayed_peak(run) -> int:
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    live = peak = 0
    for event in events:
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def _bytes(tensors) -> int:
    return sum(t.untyped_storage().nbytes() for t in tensors)


OPTIMIZERS = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=1e-3),
    "momentum": lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9),
    "adam": lambda ps: torch.optim.Adam(ps, lr=1e-3),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=1e-3),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=1e-3),
    "adagrad": lambda ps: torch.optim.Adagrad(ps, lr=1e-3),
}


def optimizer_state_bytes(optimizer) -> int:
    return sum(_bytes(v for v in state.values() if torch.is_tensor(v)) for state in optimizer.state.values())


def training_peak(model: nn.Module, x: torch.Tensor, optimizer: str = "adam") -> tuple[int, int]:
    """(absolute peak bytes of one steady-state step, optimizer state bytes) as the CPU allocator saw them."""
    model.train()
    params = [p for p in model.parameters()]
    opt = OPTIMIZERS[optimizer](params) if params else None

    def step():
        out = model(x)
        out.backward(torch.ones_like(out))
        del out
        if opt is not None:
            opt.step()

    step()  # warm-up: creates the optimizer state, as in every step after the first
    if opt is not None:
        opt.zero_grad(set_to_none=True)
    else:
        model.zero_grad(set_to_none=True)
    state = optimizer_state_bytes(opt) if opt is not None else 0
    resident = _bytes(model.parameters()) + _bytes(model.buffers()) + state + _bytes([x])
    return resident + _replayed_peak(step), state


def inference_peak(model: nn.Module, x: torch.Tensor) -> int:
    model.eval()

    def run():
        with torch.no_grad():
            out = model(x)
        del out

    run()  # warm-up: oneDNN creates and caches its inference primitives on the first call
    resident = _bytes(model.parameters()) + _bytes(model.buffers()) + _bytes([x])
    return resident + _replayed_peak(run)
