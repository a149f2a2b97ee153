"""The CUDA-side allocation sequence of one training step (or inference pass), replayed through the
simulated caching allocator (cnncalc/cuda/allocator.py) for torch.cuda.max_memory_allocated() and
max_memory_reserved().

The sequence is the one benchmarks/cuda_memory.py runs, from a fresh allocator (empty cache, no
cuBLAS workspace yet):

1. `model.to("cuda")`: each layer's parameters (weight, bias), then its buffers (batch norm:
   running mean, running variance, the int64 `num_batches_tracked`), layer by layer; an optimizer
   whose state exists from its construction (Adagrad's sums) allocates it now;
2. two training steps, each: the batch (`torch.randn(..., device="cuda")`), the forward, the
   backward from `out.backward(torch.ones_like(out))` (cnncalc/liveness.py, tensor by tensor; with side
   outputs one seed per output), the output dropped, `optimizer.step()` (its state made at the first step: Adam's exp_avg and
   exp_avg_sq, one momentum buffer or square average per parameter; then the foreach
   implementation's temporaries, one per parameter, for Adam, AdamW, RMSprop and Adagrad), the
   batch dropped, `optimizer.zero_grad()` (gradients set to None). The step counters of Adam,
   AdamW, RMSprop and Adagrad are CPU tensors unless `capturable` or `fused`: not on the GPU.
   The second step is the steady state; the first leaves the cache as it is when a loop runs.
   Inference: the parameters, one batch and one forward in eval mode under `torch.no_grad()`.

What CUDA adds (exact, given PyTorch's defaults): a cuBLAS workspace per (handle, stream) on the
first matrix multiplication a thread runs, never freed: the forward thread's, and in training the
autograd engine's device thread's, which runs the backward (CublasHandlePool.cpp).

What is an estimate: the cuDNN convolution workspace. With `torch.backends.cudnn.benchmark` off
(the default) cuDNN's heuristics choose an algorithm; when its workspace cannot be allocated
PyTorch falls back to one that needs less, down to the implicit-GEMM algorithms that need none. So
the band's low end (what `allocated`/`reserved` report) has no workspace, and its high end
(`*_high`) gives every convolution the explicit-GEMM family's workspace, the unfolded input of the
batch (C/groups x taps x output positions; none for a 1x1 convolution at stride 1), while its
forward runs and again in its backward, plus cuBLASLt's 1 MiB workspace (addmm with a bias may take
the Lt path). FFT-based algorithms can need more; benchmark mode (cudnn.benchmark) tries several.
"""

from __future__ import annotations

from collections.abc import Hashable
from cnncalc.records import dataclass, replace

from cnncalc.analysis import Analysis
from cnncalc.cuda.allocator import CudaOutOfMemory, Event, replay
from cnncalc.cuda.gpus import CONTEXT_UNKNOWN, CUBLAS_WORKSPACE_DEFAULT, CUBLASLT_WORKSPACE, Gpu
from cnncalc.layers.base import MemoryContext, MemoryRule
from cnncalc.layers.conv import Conv, Depthwise
from cnncalc.layers.dense import Fc
from cnncalc.layers.norm import BatchNorm
from cnncalc.liveness import _Run
from cnncalc.liveness import rules as rules_of

#: optimizers whose state is made at construction, not at the first step
STATE_AT_CONSTRUCTION = ("adagrad",)
#: the steps the training sequence runs (the second is the steady state)
STEPS = 2


class _Trace:
    """Turns the liveness simulation's tensors into allocator events (liveness.Tracer)."""

    def __init__(self, analysis: Analysis, rules: tuple[MemoryRule, ...], cublas: int, high: bool,
                 fp16: bool = False):
        self.nodes = [r.node for r in analysis.results]
        self.rules = rules
        self.workspaces = [0 if _native_depthwise(r, fp16) else rule.cudnn_workspace
                           for r, rule in zip(analysis.results, rules)]
        self.cublas = cublas
        self.high = high
        self.events: list[Event] = []
        self.live: set[Hashable] = set()
        self.step = 0
        #: the threads that hold a cuBLAS workspace ("forward", "autograd")
        self.handles: set[str] = set()

    def alloc(self, key: Hashable, size: int, scoped: bool = True) -> None:
        if size <= 0:
            return
        key = (self.step, key) if scoped else key
        self.live.add(key)
        self.events.append(Event("alloc", key, size))

    def free(self, key: Hashable, scoped: bool = True) -> None:
        key = (self.step, key) if scoped else key
        if key in self.live:
            self.live.remove(key)
            self.events.append(Event("free", key))

    def op(self, phase: str, index: int, transient: int) -> None:
        if phase not in ("forward", "backward") or index == 0:
            return
        node = self.nodes[index]
        if isinstance(node.kind, Fc):
            thread = "forward" if phase == "forward" else "autograd"
            if thread not in self.handles:
                self.handles.add(thread)
                self.alloc(("cublas workspace", thread), self.cublas, scoped=False)
                if self.high and phase == "forward":
                    self.alloc(("cublasLt workspace", thread), CUBLASLT_WORKSPACE, scoped=False)
        self.alloc(("scratch", phase, index), transient)
        workspace = self.workspaces[index] if self.high else 0
        self.alloc(("cudnn workspace", phase, index), workspace)
        self.free(("cudnn workspace", phase, index))
        self.free(("scratch", phase, index))


def _native_depthwise(result, fp16: bool) -> bool:
    """A 2-D depthwise convolution runs PyTorch's own CUDA kernel (conv_depthwise2d), not cuDNN, unless
    it computes in float16 (use_cudnn_depthwise: FP16 only, and further conditions, taken as met): no
    workspace at either end of the band."""
    node = result.node
    if not isinstance(node.kind, Conv) or not result.inputs or result.inputs[0].rank != 2:
        return False
    channels = result.inputs[0].channels
    groups = channels if isinstance(node.kind, Depthwise) else node.params.get("groups", 1)
    return groups == channels > 1 and not fp16


def _buffer_tensors(node, rule: MemoryRule, param_bytes: int) -> tuple[int, ...]:
    """Batch norm's running mean, running variance (the parameter dtype) and its int64 counter."""
    if isinstance(node.kind, BatchNorm) and rule.buffer_bytes > 8:
        half = (rule.buffer_bytes - 8) // 2
        return (half, half, 8)
    return (rule.buffer_bytes,) if rule.buffer_bytes else ()


def _load(trace: _Trace, rules: tuple[MemoryRule, ...], param_bytes: int) -> list[tuple[tuple, int]]:
    """`model.to("cuda")`; returns the parameter tensors in `model.parameters()` order as (key, elements)."""
    params = []
    for index, rule in enumerate(rules):
        for j, elements in enumerate(rule.param_tensors):
            trace.alloc(("param", index, j), elements * param_bytes, scoped=False)
            params.append(((index, j), elements))
        for j, size in enumerate(_buffer_tensors(trace.nodes[index], rule, param_bytes)):
            trace.alloc(("buffer", index, j), size, scoped=False)
    return params


def training_events(analysis: Analysis, ctx: MemoryContext, rules: tuple[MemoryRule, ...], optimizer: str,
                    slots: int, temporaries: bool, cublas: int = CUBLAS_WORKSPACE_DEFAULT,
                    high: bool = False, fp16: bool = False) -> tuple[list[Event], int]:
    """The events of loading the model and running STEPS training steps; and the cuBLAS workspaces held.
    `slots`: state tensors per parameter; `temporaries`: whether the foreach step makes one per parameter;
    `high`: the workspace band's high end; `fp16`: convolutions compute in float16."""
    trace = _Trace(analysis, rules, cublas, high, fp16)
    params = _load(trace, rules, ctx.param_bytes)

    def make_state() -> None:
        for (index, j), elements in params:
            for slot in range(slots):
                trace.alloc(("state", index, j, slot), elements * ctx.param_bytes, scoped=False)

    if optimizer in STATE_AT_CONSTRUCTION:
        make_state()
    for step in range(1, STEPS + 1):
        trace.step = step
        run = _Run(analysis, ctx, 0, rules, tracer=trace)
        run.forward(training=True)
        run.backward(ctx.param_bytes)
        if step == 1 and optimizer not in STATE_AT_CONSTRUCTION:
            make_state()
        if temporaries:
            for (index, j), elements in params:
                trace.alloc(("step temporary", index, j), elements * ctx.param_bytes)
            for (index, j), _ in reversed(params):  # the foreach result, a Python list, dies last item first
                trace.free(("step temporary", index, j))
        run.release_caller()
        for (index, j), _ in params:
            trace.free(("param grad", index, j))
    return trace.events, len(trace.handles)


def inference_events(analysis: Analysis, ctx: MemoryContext, rules: tuple[MemoryRule, ...],
                     cublas: int = CUBLAS_WORKSPACE_DEFAULT, high: bool = False,
                     fp16: bool = False) -> tuple[list[Event], int]:
    """The events of loading the model and one forward in eval mode without autograd."""
    trace = _Trace(analysis, rules, cublas, high, fp16)
    _load(trace, rules, ctx.param_bytes)
    trace.step = 1
    run = _Run(analysis, ctx, 0, rules, tracer=trace)
    run.forward(training=False)
    run.release_caller()
    return trace.events, len(trace.handles)


@dataclass(frozen=True, slots=True)
class CudaPeaks:
    """torch.cuda.max_memory_allocated(), max_memory_reserved() and the peak of requested bytes."""

    allocated: int
    reserved: int
    requested: int
    #: the replay ran out of memory on the device's capacity; the peaks are then those without a limit
    oom: bool = False

    def to_dict(self) -> dict:
        return {"allocated_bytes": self.allocated, "reserved_bytes": self.reserved,
                "requested_bytes": self.requested, "out_of_memory": self.oom}


def peaks(events: list[Event], capacity: int | None = None) -> CudaPeaks:
    """The replay's peaks on a device of `capacity` bytes for the allocator (None: unlimited). Where that
    capacity runs out (cudaMalloc fails even after the cache is released), the unlimited replay's peaks,
    flagged: its reserved peak is then above the capacity."""
    try:
        found = replay(events, None if capacity is None else max(capacity, 0))
    except CudaOutOfMemory:
        found = replay(events)
        return CudaPeaks(found.allocated, found.reserved, found.requested, oom=True)
    return CudaPeaks(found.allocated, found.reserved, found.requested)


@dataclass(frozen=True, slots=True)
class CudaMemory:
    """What the caching allocator holds at its peaks on a GPU, the exact part apart from the estimates."""

    #: the cuDNN workspace band's low end (no workspace): what `allocated`/`reserved` report
    training: CudaPeaks
    inference: CudaPeaks
    #: the band's high end: explicit-GEMM workspaces and cuBLASLt's (an estimate)
    training_high: CudaPeaks
    inference_high: CudaPeaks
    cublas_workspace_bytes: int
    #: cuBLAS workspaces held (one per thread that ran a matrix multiplication)
    cublas_workspaces_training: int
    cublas_workspaces_inference: int
    #: the largest single convolution workspace of the high end
    cudnn_workspace_high_bytes: int
    #: the CUDA context, outside the allocator's counters (an estimate by GPU generation)
    context_bytes: int
    gpu: Gpu | None = None
    #: the device memory the low end was replayed on (the allocator gets it less the context); None: unlimited
    budget_bytes: int | None = None

    def peak(self, mode: str) -> CudaPeaks:
        return self.training if mode == "train" else self.inference

    def needed(self, mode: str) -> int:
        """What `fit` compares with the budget: the reserved peak (cuDNN free to fall back to algorithms
        without workspace) plus the CUDA context. Replayed on the budget less the context, it is within
        the budget exactly when the step does not run out of memory (then it is the unlimited peak)."""
        return self.peak(mode).reserved + self.context_bytes

    def to_dict(self) -> dict:
        return {
            "gpu": None if self.gpu is None else self.gpu.to_dict(),
            "training": self.training.to_dict(),
            "inference": self.inference.to_dict(),
            "training_with_workspace_estimate": self.training_high.to_dict(),
            "inference_with_workspace_estimate": self.inference_high.to_dict(),
            "cublas_workspace_bytes": self.cublas_workspace_bytes,
            "cublas_workspaces": {"training": self.cublas_workspaces_training,
                                  "inference": self.cublas_workspaces_inference},
            "cudnn_workspace_band_bytes": {"low": 0, "high": self.cudnn_workspace_high_bytes},
            "context_bytes_estimate": self.context_bytes,
            "steps": STEPS,
            "budget_bytes": self.budget_bytes,
            "exact": "allocated/reserved/requested: the caching allocator replayed on the model's tensors, "
                     "cuBLAS workspaces included, no cuDNN workspace (the band's low end)",
            "estimated": "*_with_workspace_estimate (the cuDNN workspace band's high end and cuBLASLt's "
                         "workspace) and the CUDA context",
        }


_NOT_REPLAYED = CudaPeaks(0, 0, 0)


def cuda_memory(analysis: Analysis, ctx: MemoryContext, rules: tuple[MemoryRule, ...], optimizer: str, slots: int,
                temporaries: bool, gpu: Gpu | None = None, only: str | None = None,
                budget: int | None = None, fp16: bool = False) -> CudaMemory:
    """Every replay; with `only` ("train" or "infer") just that mode's low end (what `fit` compares),
    the others left at 0. The low end runs on `budget` (default: the GPU's memory; None without a GPU)
    less the context, as PyTorch's allocator would on that device; the high end without a limit."""
    cublas = gpu.cublas_workspace_bytes if gpu is not None else CUBLAS_WORKSPACE_DEFAULT
    context = gpu.context_bytes if gpu is not None else CONTEXT_UNKNOWN
    budget = budget if budget is not None else gpu.memory_bytes if gpu is not None else None
    capacity = None if budget is None else budget - context
    infer_ctx = replace(ctx, training=False)
    results = {key: _NOT_REPLAYED for key in (("train", False), ("train", True), ("infer", False), ("infer", True))}
    handles = {key: 0 for key in results}
    for high in (False, True):
        if only is None or (only == "train" and not high):
            events, handles["train", high] = training_events(analysis, ctx, rules, optimizer, slots, temporaries,
                                                             cublas, high, fp16)
            results["train", high] = peaks(events, None if high else capacity)
        if only is None or (only == "infer" and not high):
            events, handles["infer", high] = inference_events(analysis, infer_ctx, rules_of(analysis, infer_ctx),
                                                              cublas, high, fp16)
            results["infer", high] = peaks(events, None if high else capacity)
    return CudaMemory(
        training=results["train", False], inference=results["infer", False],
        training_high=results["train", True], inference_high=results["infer", True],
        cublas_workspace_bytes=cublas,
        cublas_workspaces_training=handles["train", False], cublas_workspaces_inference=handles["infer", False],
        cudnn_workspace_high_bytes=max(_Trace(analysis, rules, cublas, True, fp16).workspaces, default=0),
        context_bytes=context,
        gpu=gpu,
        budget_bytes=budget,
    )
