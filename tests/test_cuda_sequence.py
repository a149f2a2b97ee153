"""The event sequence of cnncalc/cuda/step.py against PyTorch's own allocator, event by event.

No GPU is needed for the part of the sequence that is not CUDA's: for networks whose layers run the
same on the CPU (no convolution or batch norm, whose CPU kernels keep scratch that cuDNN does not),
with the foreach optimizers CUDA uses by default, the CPU allocator sees what the CUDA one would,
less the cuBLAS workspaces (sized 0 here). torch.profiler records every allocation and free in order;
the CPU's 0-dimensional scalar wrappers (at most 8 bytes: the optimizer's alpha, Adam's CPU step
counters, which on CUDA are CPU tensors too) are left out. Batch norm stays out: its CPU kernel makes
per-thread statistics that CUDA's does not."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")

from torch.profiler import ProfilerActivity, profile  # noqa: E402

from cnncalc.analysis import analyze  # noqa: E402
from cnncalc.conventions import get  # noqa: E402
from cnncalc.cuda.step import inference_events, training_events  # noqa: E402
from cnncalc.layers.base import MemoryContext  # noqa: E402
from cnncalc.liveness import rules  # noqa: E402
from cnncalc.memory import OPTIMIZER_SLOTS, STEP_TEMPORARIES  # noqa: E402
from cnncalc.shapes import Shape  # noqa: E402
from test_liveness import graph_of  # noqa: E402
from torch_nets import GraphNet  # noqa: E402

OPTIMIZERS = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=1e-3, foreach=True),
    "momentum": lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9, foreach=True),
    "adam": lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True),
}


def mlp():
    return graph_of(Shape((), 64), [("fc", {"units": 32}, (0,)), ("relu", {}, (1,)), ("fc", {"units": 48}, (2,)),
                                    ("relu", {"inplace": True}, (3,)), ("fc", {"units": 10}, (4,))])


def branches():
    return graph_of(Shape((8, 8), 4), [
        ("pool", {"kernel": 2}, (0,)), ("relu", {}, (1,)), ("relu", {}, (2,)), ("add", {}, (3, 2)),  # 1-4
        ("sigmoid", {}, (4,)), ("tanh", {}, (4,)), ("concat", {}, (5, 6)),                           # 5-7
        ("global_pool", {"mode": "avg"}, (7,)), ("fc", {"units": 10}, (8,)), ("relu", {}, (9,)),     # 8-10
        ("fc", {"units": 5}, (10,)), ("softmax", {}, (11,)),                                          # 11-12
    ])


def dropout():
    """Dropout's saved tensor on the CPU is dtype-sized noise, not CUDA's 1-byte mask: modelled with the CPU rule."""
    return graph_of(Shape((8, 8), 4), [
        ("pool", {"kernel": 2}, (0,)), ("dropout", {"rate": 0.5}, (1,)), ("fc", {"units": 10}, (2,)),
        ("relu", {}, (3,)), ("dropout", {"rate": 0.3}, (4,)), ("fc", {"units": 5}, (5,))])


def measured_sequence(analysis, batch: int, optimizer: str, amp: bool = False, train: bool = True) -> list[int]:
    """Signed sizes of the CPU allocator's events: the model copied, the optimizer made, two steps (or one
    eval forward without autograd); with `amp`, each forward under CPU autocast to bfloat16."""
    torch.manual_seed(0)
    source = GraphNet(analysis)
    shape = analysis.graph.input

    def run():
        model = copy.deepcopy(source)
        opt = OPTIMIZERS[optimizer](list(model.parameters()))
        if not train:
            model.eval()
            x = torch.randn(batch, shape.channels, *shape.spatial)
            with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=amp):
                out = model(x)
            return model, opt
        for _ in range(2):
            x = torch.randn(batch, shape.channels, *shape.spatial)
            with torch.autocast("cpu", torch.bfloat16, enabled=amp):
                out = model(x)
            out.backward(torch.ones_like(out))
            out = None
            opt.step()
            x = None
            model.zero_grad(set_to_none=True)
        return model, opt  # alive until the profile has ended

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        kept = run()
    del kept
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    return [e.nbytes() for e in events if abs(e.nbytes()) > 8]


def modelled_sequence(analysis, batch: int, optimizer: str, device: str = "cuda", amp: bool = False,
                      train: bool = True) -> list[int]:
    ctx = MemoryContext(batch, 2 if amp else 4, 4, train, device, amp)
    if train:
        events, _ = training_events(analysis, ctx, rules(analysis, ctx), optimizer, OPTIMIZER_SLOTS[optimizer],
                                    STEP_TEMPORARIES[optimizer] > 0, cublas=0)
    else:
        events, _ = inference_events(analysis, ctx, rules(analysis, ctx), cublas=0)
    sizes, out = {}, []
    for op, key, size in events:
        if op == "alloc":
            sizes[key] = size
            out.append(size)
        else:
            out.append(-sizes.pop(key))
    return out


@pytest.mark.parametrize(("build", "rules_of"), [(mlp, "cuda"), (branches, "cuda"), (dropout, "cpu")])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("batch", [1, 4])
def test_the_sequence_is_pytorchs_event_by_event(build, rules_of, optimizer, batch):
    analysis = analyze(build(), get("pytorch"))
    assert analysis.ok and analysis.complete
    assert measured_sequence(analysis, batch, optimizer) == modelled_sequence(analysis, batch, optimizer, rules_of)


def _frees_unordered(sequence: list[int]) -> list[int]:
    """Each run of consecutive frees sorted: autocast clears its cache of parameter copies in hash order."""
    out, run = [], []
    for size in sequence:
        if size < 0:
            run.append(size)
            continue
        out += sorted(run) + [size]
        run = []
    return out + sorted(run)


@pytest.mark.parametrize("build", [mlp, branches])
@pytest.mark.parametrize("train", [True, False])
def test_the_sequence_under_autocast_is_pytorchs(build, train):
    """Under autocast: the copies of bias, weight and input made before the op, the parameter copies
    cached until the forward ends, the half-precision parameter gradients cast back to float32."""
    analysis = analyze(build(), get("pytorch"))
    measured = measured_sequence(analysis, 4, "adam", amp=True, train=train)
    modelled = modelled_sequence(analysis, 4, "adam", "cpu", amp=True, train=train)
    assert _frees_unordered(measured) == _frees_unordered(modelled)
