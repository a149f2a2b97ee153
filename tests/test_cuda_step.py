"""The CUDA-side event sequence of a training step and an inference pass (cnncalc/cuda/step.py), checked
by hand on a tiny net, and its replay through the simulated caching allocator."""

from __future__ import annotations

import pytest

from cnncalc import report
from cnncalc.cuda import allocator
from cnncalc.cuda.gpus import CUBLAS_WORKSPACE_DEFAULT, CUBLAS_WORKSPACE_SM90, gpu
from cnncalc.cuda.step import inference_events, training_events
from cnncalc.layers.base import MemoryContext
from cnncalc.liveness import rules
from cnncalc.pipeline import analyze_text

MiB = 2**20
WS = CUBLAS_WORKSPACE_DEFAULT  # 8 MiB + 128 KiB

TINY = """
name: tiny
input: 4x4x1
layers:
  - conv: {filters: 2, kernel: 3}
  - relu
  - fc: 3
"""


def _analysis(text: str):
    return analyze_text(text, "tiny.yaml", "pytorch")


def _ctx(batch: int = 2, training: bool = True, amp: bool = False, act: int = 4) -> MemoryContext:
    return MemoryContext(batch, act, 4, training, "cuda", amp)


def _readable(events):
    """Events with the liveness simulation's gradient serials renamed in order of appearance (g0, g1, ...)."""
    names: dict = {}
    out = []
    for op, key, size in events:
        scoped = isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], int)
        step, inner = key if scoped else (None, key)
        if inner[0] == "grad":
            inner = names.setdefault(inner, f"g{len(names)}")
        out.append((op, (step, inner) if scoped else inner, size))
    return out


PARAMS = [("alloc", ("param", 1, 0), 72), ("alloc", ("param", 1, 1), 8),
          ("alloc", ("param", 3, 0), 96), ("alloc", ("param", 3, 1), 12)]


def test_tiny_inference_events_by_hand():
    analysis = _analysis(TINY)
    ctx = _ctx(training=False)
    events, handles = inference_events(analysis, ctx, rules(analysis, ctx))
    s = 1
    assert _readable(events) == PARAMS + [
        ("alloc", (s, ("storage", 0)), 2 * 16 * 4),  # the batch, 2 x 4x4x1 floats
        ("alloc", (s, ("storage", 1)), 2 * 8 * 4),  # conv: 2 x 2x2x2
        ("alloc", (s, ("storage", 2)), 64),  # relu
        ("free", (s, ("storage", 1)), 0),  # nothing saves the conv's output at inference
        ("alloc", (s, ("storage", 3)), 2 * 3 * 4),  # fc
        ("alloc", ("cublas workspace", "forward"), WS),  # its first matmul: the forward thread's workspace
        ("free", (s, ("storage", 2)), 0),
        ("free", (s, ("storage", 0)), 0),  # the caller drops its batch and the output
        ("free", (s, ("storage", 3)), 0),
    ]
    assert handles == 1
    peaks = allocator.replay(events)
    # 7 small blocks of 512 B at the fc, the workspace in a 20 MiB large-pool segment
    assert (peaks.allocated, peaks.reserved) == (WS + 7 * 512, 2 * MiB + 20 * MiB)


def _step(s: int, first: bool) -> list:
    autograd_ws = [("alloc", ("cublas workspace", "autograd"), WS)] if first else []
    forward_ws = [("alloc", ("cublas workspace", "forward"), WS)] if first else []
    g = 3 * (s - 1)  # three gradient buffers per step
    seed, fc_in, relu_in = f"g{g}", f"g{g + 1}", f"g{g + 2}"
    return [
        ("alloc", (s, ("storage", 0)), 128),
        ("alloc", (s, ("storage", 1)), 64),  # conv saves its input (the batch), not its output
        ("alloc", (s, ("storage", 2)), 64),  # relu saves its output
        ("free", (s, ("storage", 1)), 0),
        ("alloc", (s, ("storage", 3)), 24),
        *forward_ws,
        # backward, from out.backward(torch.ones_like(out))
        ("alloc", (s, seed), 24),
        ("alloc", (s, fc_in), 64),  # fc: the input gradient, then the weight and bias gradients
        ("alloc", (s, ("param grad", 3, 0)), 96),
        ("alloc", (s, ("param grad", 3, 1)), 12),
        *autograd_ws,  # the backward runs on autograd's device thread: a second cuBLAS handle
        ("alloc", (s, relu_in), 64),  # relu
        ("free", (s, fc_in), 0),
        ("free", (s, ("storage", 2)), 0),  # relu's backward released its saved output
        ("alloc", (s, ("param grad", 1, 0)), 72),  # conv: no input gradient (the batch needs none)
        ("alloc", (s, ("param grad", 1, 1)), 8),
        ("free", (s, relu_in), 0),
        ("free", (s, seed), 0),  # backward() returns: the ones tensor dies, then the output
        ("free", (s, ("storage", 3)), 0),
        ("free", (s, ("storage", 0)), 0),  # SGD's step allocates nothing; the batch is dropped
        ("free", (s, ("param grad", 1, 0)), 0),  # zero_grad(set_to_none=True)
        ("free", (s, ("param grad", 1, 1)), 0),
        ("free", (s, ("param grad", 3, 0)), 0),
        ("free", (s, ("param grad", 3, 1)), 0),
    ]


def test_tiny_training_events_by_hand():
    analysis = _analysis(TINY)
    ctx = _ctx()
    events, handles = training_events(analysis, ctx, rules(analysis, ctx), "sgd", 0, False)
    assert _readable(events) == PARAMS + _step(1, True) + _step(2, False)
    assert handles == 2
    peaks = allocator.replay(events)
    # 12 small blocks at relu's backward, two workspaces sharing one 20 MiB segment
    assert (peaks.allocated, peaks.reserved) == (2 * WS + 12 * 512, 22 * MiB)
    # requested: the liveness simulation's peak (664 B at relu's backward) plus the two workspaces
    memory = report.build(analysis, report.Options(batch=2, optimizer="sgd", device="cuda")).memory
    assert memory.training_bytes == 664 and peaks.requested == 664 + 2 * WS
    assert memory.cuda.training == type(memory.cuda.training)(peaks.allocated, peaks.reserved, peaks.requested)


def test_adam_makes_its_state_at_the_first_step_and_foreach_temporaries_every_step():
    analysis = _analysis(TINY)
    ctx = _ctx()
    events, _ = training_events(analysis, ctx, rules(analysis, ctx), "adam", 2, True)
    states = [e for e in events if e.op == "alloc" and e.tensor[0] == "state"]
    # exp_avg and exp_avg_sq per parameter, in parameter order, once; the step counters stay on the CPU
    assert [(e.tensor[1:], e.size) for e in states] == [
        ((i, j, slot), size) for (i, j, size) in ((1, 0, 72), (1, 1, 8), (3, 0, 96), (3, 1, 12)) for slot in (0, 1)]
    first_state = events.index(states[0])
    last_grad = events.index(allocator.Event("alloc", (1, ("param grad", 1, 1)), 8))
    assert first_state > last_grad  # made by step(), after the backward
    temporaries = [e for e in events if isinstance(e.tensor[1], tuple) and e.tensor[1][0] == "step temporary"]
    assert len(temporaries) == 2 * 2 * 4  # per step: one alloc and one free per parameter
    memory = report.build(analysis, report.Options(batch=2, optimizer="adam", device="cuda")).memory
    peaks = allocator.replay(events)
    # the liveness peak (at the optimizer step) less the four 4-byte CPU step counters, plus two workspaces
    assert peaks.requested == memory.training_bytes - 4 * 4 + 2 * WS


def test_batch_norm_saves_two_statistics_tensors_and_its_buffers_are_three():
    text = """
name: bn
input: 8x8x16
layers:
  - conv: {filters: 16, kernel: 3, padding: 1, bias: false}
  - batchnorm
  - relu
  - dropout: 0.5
  - pool: {mode: max, kernel: 2}
"""
    analysis = _analysis(text)
    ctx = _ctx(batch=4)
    events, handles = training_events(analysis, ctx, rules(analysis, ctx), "momentum", 1, False)
    first = [e for e in events if e.op == "alloc" and not (isinstance(e.tensor[0], int) and e.tensor[0] == 2)]
    assert ("buffer", 2, 0) in [e.tensor for e in first]
    buffers = [e.size for e in first if e.tensor[0] == "buffer"]
    assert buffers == [16 * 4, 16 * 4, 8]  # running mean, running variance, int64 num_batches_tracked
    saved = {e.tensor[1]: e.size for e in events if e.op == "alloc" and e.tensor[0] == 1
             and e.tensor[1][0] == "saved" and e.size}
    assert saved[("saved", 2, 0)] == saved[("saved", 2, 1)] == 16 * 4  # save_mean, save_invstd
    assert saved[("saved", 4, 0)] == 4 * 8 * 8 * 16  # dropout: a 1-byte mask on CUDA
    assert saved[("saved", 5, 0)] == 8 * 4 * 4 * 4 * 16  # max pooling: int64 indices
    assert handles == 0  # no matmul, no cuBLAS workspace
    buffers_state = [e for e in events if e.tensor[0] == "state"]
    assert len(buffers_state) == 3  # momentum buffers: conv weight, bn weight and bias


def test_the_gemm_band_adds_transient_workspaces_and_cublaslt():
    analysis = analyze_text(open("specs/lenet5.yaml").read(), "specs/lenet5.yaml", "pytorch")
    ctx = _ctx(batch=8)
    found = rules(analysis, ctx)
    low, _ = training_events(analysis, ctx, found, "sgd", 0, False)
    high, _ = training_events(analysis, ctx, found, "sgd", 0, False, high=True)
    workspaces = [e for e in high if isinstance(e.tensor[1], tuple) and e.tensor[1][0] == "cudnn workspace"]
    assert workspaces and not [e for e in low if isinstance(e.tensor[1], tuple) and e.tensor[1][0] == "cudnn workspace"]
    assert all(e.size == found[e.tensor[1][2]].cudnn_workspace for e in workspaces if e.op == "alloc")
    assert ("cublasLt workspace", "forward") in [e.tensor for e in high]
    assert allocator.replay(high).allocated > allocator.replay(low).allocated


def test_hopper_takes_a_32_mib_cublas_workspace():
    analysis = _analysis(TINY)
    options = report.Options(batch=2, optimizer="sgd", device="cuda", gpu=gpu("h100"))
    cuda = report.build(analysis, options).memory.cuda
    assert cuda.cublas_workspace_bytes == CUBLAS_WORKSPACE_SM90 == 32 * MiB
    assert cuda.training.requested == 664 + 2 * 32 * MiB
    assert cuda.needed("train") == cuda.training.reserved + gpu("h100").context_bytes


@pytest.mark.parametrize("spec", ["specs/lenet5.yaml", "specs/resnet18.yaml", "specs/alexnet.yaml"])
def test_replay_matches_its_own_requested_bytes(spec):
    """The allocator's requested peak is the running sum of the events; allocated and reserved bound it."""
    analysis = analyze_text(open(spec).read(), spec, "pytorch")
    ctx = _ctx(batch=4)
    events, _ = training_events(analysis, ctx, rules(analysis, ctx), "adam", 2, True)
    live, peak, sizes = 0, 0, {}
    for op, key, size in events:
        if op == "alloc":
            sizes[key] = size
            live += size
        else:
            live -= sizes.pop(key)
        peak = max(peak, live)
    replayed = allocator.replay(events)
    assert replayed.requested == peak <= replayed.allocated <= replayed.reserved
    assert all(key[0] in ("param", "buffer", "state", "cublas workspace") for key in sizes)  # what stays


def test_float32_depthwise_convolutions_take_no_workspace_at_either_end():
    text = """
name: dw
input: 16x16x8
layers:
  - depthwise: {kernel: 3, padding: 1}
  - conv: {filters: 8, kernel: 3, padding: 1, groups: 8}
  - conv: {filters: 16, kernel: 3, padding: 1}
"""
    analysis = _analysis(text)
    for amp, fp16, expected in ((False, False, {3}), (True, False, {3}), (True, True, {1, 2, 3})):
        ctx = _ctx(batch=2, amp=amp, act=2 if amp else 4)
        events, _ = training_events(analysis, ctx, rules(analysis, ctx), "sgd", 0, False, high=True, fp16=fp16)
        with_workspace = {e.tensor[1][2] for e in events if isinstance(e.tensor[1], tuple)
                          and e.tensor[1][0] == "cudnn workspace"}
        assert with_workspace == expected  # in float16 cuDNN runs them (use_cudnn_depthwise); bfloat16: native
