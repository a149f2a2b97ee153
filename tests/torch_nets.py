"""Test-only: turn an analysed cnncalc graph into a torch module, from each layer kind's own torch
equivalent (`LayerKind.torch_module`), and measure what PyTorch really allocates. The one torch
oracle of the tests: the memory tests run it with PyTorch's own modules, tests/test_forwards.py with
the executor's weights to compare values. Never imported by cnncalc itself."""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd.graph import saved_tensors_hooks
from torch.profiler import ProfilerActivity, profile

from cnncalc.analysis import Analysis, LayerResult
from cnncalc.forward import Weights
from cnncalc.layers import NoTorchEquivalent

#: a layer without a plain torch equivalent (whose memory matches, for memory measurements)
Unsupported = NoTorchEquivalent


def layer_module(result: LayerResult, weights: Weights | None = None) -> nn.Module:
    """The layer's torch equivalent, from its kind (`LayerKind.torch_module`): the one oracle of
    every test that compares with PyTorch. With the executor's `weights`: its values; without:
    PyTorch's own module, for memory."""
    node = result.node
    return node.kind.torch_module(node.params, result.inputs, result.inference, weights)


class GraphNet(nn.Module):
    """Runs the graph in node order, dropping each output after its last reader, as eager code does.

    With `weights` (one `Weights` per layer, the executor's), it computes what the executor computes:
    call `.double().eval()` to compare values."""

    def __init__(self, analysis: Analysis, weights=None):
        super().__init__()
        results = analysis.results[1:]
        self.inputs = [r.node.inputs for r in results]
        given = [None] * len(results) if weights is None else list(weights)
        self.layers = nn.ModuleList(layer_module(r, w) for r, w in zip(results, given))
        graph = analysis.graph
        #: per mode (training?): which layers run (eval mode skips training-only heads, as torchvision's
        #: Inception-v3 skips AuxLogits) and the outputs returned, the main one first
        self.runs = {True: [True] * len(results), False: [not r.node.training_only for r in results]}
        self.outputs = {mode: graph.output_nodes(mode) for mode in (True, False)}
        self.dies_after = {mode: self._dies_after(self.runs[mode]) for mode in (True, False)}

    def _dies_after(self, runs: list[bool]) -> list[list[int]]:
        last_use: dict[int, int] = {}
        for position, sources in enumerate(self.inputs, start=1):
            for s in sources if runs[position - 1] else ():
                last_use[s] = position
        return [[s for s, at in last_use.items() if at == position] for position in range(len(self.inputs) + 1)]

    def forward(self, x):
        """The main output; with side outputs that run in this mode, the tuple (main, *side outputs)."""
        mode = self.training
        runs, dies_after = self.runs[mode], self.dies_after[mode]
        outs: dict[int, torch.Tensor] = {0: x}
        del x
        for position, (sources, layer) in enumerate(zip(self.inputs, self.layers), start=1):
            if not runs[position - 1]:
                continue
            args = [outs[s] for s in sources]
            for s in dies_after[position]:
                del outs[s]
            out = layer(*args)
            del args
            outs[position] = out
            del out
        found = tuple(outs[i] for i in self.outputs[mode])
        return found if len(found) > 1 else found[0]


#: the weight of every side output in the loss, as Inception-v3's training recipe weighs AuxLogits
AUX_WEIGHT = 0.4


def backward_all(out) -> None:
    """loss = main.sum() + 0.4 * (each side output).sum(), with its seeds made full-size as
    `out.backward(torch.ones_like(out))` makes the main one's."""
    outs = out if isinstance(out, tuple) else (out,)
    seeds = [torch.ones_like(outs[0]), *(torch.full_like(o, AUX_WEIGHT) for o in outs[1:])]
    torch.autograd.backward(outs, seeds)


def batch_input(analysis: Analysis, batch: int) -> torch.Tensor:
    shape = analysis.graph.input
    return torch.randn(batch, shape.channels, *shape.spatial)


def _resident_ptrs(model: nn.Module) -> set[int]:
    tensors = [*model.parameters(), *model.buffers()]
    return {t.untyped_storage().data_ptr() for t in tensors}


def saved_bytes(model: nn.Module, x: torch.Tensor, autocast: torch.dtype | None = None) -> int:
    """Bytes of the unique storages autograd keeps for backward, parameters and buffers excluded;
    with `autocast`, of a forward under CPU autocast to that dtype."""
    model.train()
    resident = _resident_ptrs(model)
    seen: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in resident:
            seen[storage.data_ptr()] = storage.nbytes()
        # keep the storage alive (so no later tensor reuses its address) without holding the
        # tensor itself: a saved output would reference its own grad_fn, a cycle that leaks
        return t.detach()

    with saved_tensors_hooks(pack, lambda t: t), torch.autocast("cpu", dtype=autocast, enabled=autocast is not None):
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
        backward_all(out)
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


def measure_spec(path: str, batch: int, optimizer: str = "adam") -> dict:
    """Saved bytes, training peak, optimizer state and inference peak of a spec rebuilt in torch."""
    from cnncalc.pipeline import analyze_file

    analysis = analyze_file(path)
    torch.manual_seed(0)
    try:
        model = GraphNet(analysis)
    except Unsupported as missing:
        return {"unsupported": str(missing)}
    x = batch_input(analysis, batch)
    saved = saved_bytes(model, x)
    train, state = training_peak(model, x, optimizer)
    return {"saved": saved, "train": train, "state": state, "infer": inference_peak(model, x)}


if __name__ == "__main__":
    # `python tests/torch_nets.py SPEC BATCH`: one measurement in a process of its own, so that a big
    # model's weights, gradients and optimizer state leave the test process's memory with it
    import json
    import sys

    print(json.dumps(measure_spec(sys.argv[1], int(sys.argv[2]))))
