"""Memory models. `textbook` is the model of the cs231n notes and Geron's chapter 13:

- forward activations = every layer's output (the input included) x batch x bytes; activation
  functions and dropout work in place and add nothing;
- inference = parameters + the largest set of tensors one layer needs at once (its inputs and
  its output): earlier activations can be freed at test time;
- training = activations twice (values and their gradients) + parameters x (weights, gradients
  and the optimizer's slots) + non-trainable buffers.
"""

from __future__ import annotations

from itertools import chain
from operator import attrgetter

from cnncalc.records import dataclass, replace

from cnncalc import liveness
from cnncalc.analysis import Analysis
from cnncalc.cpu import Cpu
from cnncalc.cpu import host as host_cpu
from cnncalc.layers.base import MemoryContext
from cnncalc.liveness import LayerMemory, Peak

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:  # the CUDA event sequence and its allocator load only for --device cuda, the GPU table for cuda
    from cnncalc.cuda.gpus import Gpu
    from cnncalc.cuda.step import CudaMemory

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8}

#: Per-parameter tensors an optimizer keeps besides the weights and their gradients.
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2, "rmsprop": 1, "adagrad": 1}


@dataclass(frozen=True, slots=True)
class Memory:
    model: str
    params_bytes: int
    buffers_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int
    #: the largest (inputs + output) of one layer, x batch x bytes
    peak_layer_bytes: int
    inference_bytes: int
    training_bytes: int
    #: per-layer breakdown: output, saved for backward, gradient (bytes for the batch)
    layers: tuple[LayerMemory, ...] = ()
    #: transient kernel scratch and optimizer temporaries (the largest at any moment)
    workspace_bytes: int = 0
    training_peak: Peak | None = None
    inference_peak: Peak | None = None
    device: str = "cpu"
    amp: str | None = None
    gpu_overhead: GpuOverhead | None = None
    #: the CPU whose kernel transients the peaks include (the pytorch model on the CPU only)
    cpu: Cpu | None = None
    #: why this model was used when the options, not the convention, chose it (--amp, --device cuda)
    model_note: str | None = None
    #: on CUDA: the caching allocator's peaks (allocated, reserved) for the event sequence of a step
    cuda: CudaMemory | None = None

    def to_dict(self, lazy: bool = False) -> dict:
        """`lazy`: the per-layer list as a one-pass iterator (see Report.to_dict)."""
        return {
            "model": self.model,
            "params_bytes": self.params_bytes,
            "buffers_bytes": self.buffers_bytes,
            "gradients_bytes": self.gradients_bytes,
            "optimizer_bytes": self.optimizer_bytes,
            "activations_bytes": self.activations_bytes,
            "peak_layer_bytes": self.peak_layer_bytes,
            "inference_bytes": self.inference_bytes,
            "training_bytes": self.training_bytes,
            **self._extra_dict(lazy),
        }

    def held_at_peak(self, layer: LayerMemory) -> int:
        """The layer's bytes alive at the training peak, each storage once. The textbook model holds
        everything at once: the layer's output and its gradient (what it keeps for backward is the output)."""
        if self.model == "textbook":
            return layer.output_bytes + layer.gradient_bytes
        return layer.held_at_peak_bytes

    def held_at_peak_column(self) -> list[int]:
        """`held_at_peak` of every layer, in order (in C: a million layers' method calls were half a second)."""
        from operator import add, attrgetter

        if self.model == "textbook":
            layers = self.layers
            return list(map(add, map(attrgetter("output_bytes"), layers), map(attrgetter("gradient_bytes"), layers)))
        return list(map(attrgetter("held_at_peak_bytes"), self.layers))

    def _extra_dict(self, lazy: bool = False) -> dict:
        extra: dict = {"workspace_bytes": self.workspace_bytes, "device": self.device, "amp": self.amp,
                       "model_note": self.model_note}
        if self.cpu is not None:
            extra["cpu"] = self.cpu.to_dict()
        for key, peak in (("training_peak", self.training_peak), ("inference_peak", self.inference_peak)):
            if peak is not None:
                extra[key] = {"bytes": peak.bytes, "phase": peak.phase, "layer": peak.layer}
        if self.gpu_overhead is not None:
            extra["gpu_overhead_estimate"] = self.gpu_overhead.to_dict()
        if self.cuda is not None:
            extra["cuda"] = self.cuda.to_dict()
        layers = (
            {"name": x.name, "output_bytes": x.output_bytes, "saved_bytes": x.saved_bytes,
             "gradient_bytes": x.gradient_bytes, "held_at_peak_bytes": self.held_at_peak(x)}
            for x in self.layers
        )
        extra["layers"] = layers if lazy else list(layers)
        return extra


def textbook(
    *, params: int, buffers: int, activations: int, peak_layer: int, batch: int, dtype: str, optimizer: str,
    layers: tuple[LayerMemory, ...] = (),
) -> Memory:
    """`activations` and `peak_layer` are element counts per sample."""
    size = DTYPE_BYTES[dtype]
    params_bytes = params * size
    buffers_bytes = buffers * size
    activations_bytes = activations * batch * size
    peak_bytes = peak_layer * batch * size
    gradients = params_bytes
    optimizer_bytes = params_bytes * OPTIMIZER_SLOTS[optimizer]
    return Memory(
        model="textbook",
        params_bytes=params_bytes,
        buffers_bytes=buffers_bytes,
        gradients_bytes=gradients,
        optimizer_bytes=optimizer_bytes,
        activations_bytes=activations_bytes,
        peak_layer_bytes=peak_bytes,
        inference_bytes=params_bytes + buffers_bytes + peak_bytes,
        training_bytes=2 * activations_bytes + params_bytes + gradients + optimizer_bytes + buffers_bytes,
        layers=layers,
    )


# ---------------------------------------------------------------------------------------------
# the `pytorch` model: PyTorch eager's real behaviour, per tensor storage (see docs/memory.md)

MODELS = ("textbook", "pytorch")
#: optimizers whose state holds a 0-d float32 `step` tensor per parameter (4 B each)
STEP_COUNTERS = ("adam", "adamw", "rmsprop", "adagrad")
#: full-size temporaries the single-tensor (CPU default) update makes per parameter: Adam's
#: sqrt and division, RMSprop's and Adagrad's sqrt. The previous parameter's last one is still
#: referenced when the next is made, so the high point is (previous + k x this) over the loop.
STEP_TEMPORARIES = {"sgd": 0, "momentum": 0, "adam": 2, "adamw": 2, "rmsprop": 1, "adagrad": 1}
AMP_DTYPES = ("float16", "bfloat16")
DEVICES = ("cpu", "cuda")
#: the memory a budget limits: one training step, or inference (fit, lint and sweep --mode)
MODES = ("train", "infer")
#: the optimizer whose state training memory holds unless told otherwise: momentum, the cs231n notes' SGD
DEFAULT_OPTIMIZER = "momentum"


@dataclass(frozen=True, slots=True)
class Precision:
    """Element sizes: activations, parameters (with their gradients and optimizer state)."""

    act_bytes: int
    param_bytes: int
    amp: str | None = None

    @classmethod
    def of(cls, dtype: str, amp: str | None = None) -> Precision:
        if amp is not None:
            return cls(DTYPE_BYTES[amp], DTYPE_BYTES["float32"], amp)
        return cls(DTYPE_BYTES[dtype], DTYPE_BYTES[dtype])


def optimizer_state_bytes(optimizer: str, param_tensors: tuple[int, ...], param_bytes: int) -> int:
    """Steady-state optimizer memory: the per-parameter slots plus PyTorch's step counters."""
    slots = OPTIMIZER_SLOTS[optimizer] * sum(param_tensors) * param_bytes
    steps = 4 * len(param_tensors) if optimizer in STEP_COUNTERS else 0
    return slots + steps


def step_temporaries(optimizer: str, param_tensors: tuple[int, ...], param_bytes: int, device: str) -> int:
    """Bytes the optimizer step allocates on top of parameters, gradients and state.

    CPU (single-tensor loop): max over parameters of previous + k x current. CUDA defaults to the
    foreach implementation, whose sqrt over the whole group makes one copy of all parameters."""
    k = STEP_TEMPORARIES[optimizer]
    if not k or not param_tensors:
        return 0
    if device == "cuda":
        return sum(param_tensors) * param_bytes
    previous = (0, *param_tensors[:-1])
    return max(p + k * n for p, n in zip(previous, param_tensors)) * param_bytes


def __getattr__(name: str):
    """`CUDA_CONTEXT_BYTES`, the CUDA context (driver, kernels and libraries: hundreds of MiB depending on
    GPU, driver and libraries, LLMem measures 300-800 MB on V100) without a GPU named: the middle of that
    range (by generation with --gpu). From the GPU table, cnncalc/cuda/gpus.py, read only where used: a
    plain `analyze` (device cpu) needs none of it."""
    if name == "CUDA_CONTEXT_BYTES":
        from cnncalc.cuda.gpus import CONTEXT_UNKNOWN

        return CONTEXT_UNKNOWN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class GpuOverhead:
    """Device costs a spec cannot determine exactly: labelled estimates, never added to the exact figures."""

    context_bytes: int
    cudnn_workspace_bytes: int
    allocator_rounding_bytes: int

    @property
    def total(self) -> int:
        return self.context_bytes + self.cudnn_workspace_bytes + self.allocator_rounding_bytes

    def to_dict(self) -> dict:
        return {
            "context_bytes": self.context_bytes,
            "cudnn_workspace_bytes": self.cudnn_workspace_bytes,
            "allocator_rounding_bytes": self.allocator_rounding_bytes,
            "total_bytes": self.total,
            "note": "estimate: depends on GPU, driver, cuDNN algorithm and allocator history; "
                    "allocator_rounding_bytes is the simulated allocator's reserved training peak less the "
                    "bytes requested at its requested peak",
        }


def pytorch(analysis: Analysis, *, batch: int, dtype: str, optimizer: str, device: str = "cpu",
            amp: str | None = None, cpu: Cpu | None = None, gpu: Gpu | None = None,
            cuda_only: str | None = None) -> Memory:
    """Exact saved-for-backward bytes, parameters, gradients and optimizer state; peaks by liveness.
    `cpu`: the CPU whose kernel transients are modelled (default: this machine, read once); `gpu`
    (device cuda): the GPU whose cuBLAS workspace and context the CUDA peaks assume; `cuda_only`
    ("train" or "infer"): replay only what `fit` compares for that mode."""
    precision = Precision.of(dtype, amp)
    pb = precision.param_bytes
    cpu = cpu if cpu is not None else host_cpu()
    ctx = MemoryContext(batch, precision.act_bytes, pb, True, device, amp is not None, cpu)
    layers = liveness.distinct(analysis)  # both modes ask the same distinct layers
    rules = liveness.rules(analysis, ctx, layers)
    # in C (a generator's frame per rule is Python code)
    tensors = tuple(chain.from_iterable(map(attrgetter("param_tensors"), rules)))
    params_bytes = sum(tensors) * pb
    buffers_bytes = sum(map(attrgetter("buffer_bytes"), rules))
    optimizer_bytes = optimizer_state_bytes(optimizer, tensors, pb)
    temporaries = step_temporaries(optimizer, tensors, pb, device)
    infer_ctx = replace(ctx, training=False)
    train, infer = liveness.both(analysis, ctx, infer_ctx, params_bytes + buffers_bytes + optimizer_bytes,
                                 params_bytes + buffers_bytes, pb, temporaries, rules,
                                 liveness.rules(analysis, infer_ctx, layers))
    overhead = cuda = None
    if device == "cuda":
        from cnncalc.cuda.step import cuda_memory

        cuda = cuda_memory(analysis, ctx, rules, optimizer, OPTIMIZER_SLOTS[optimizer],
                           STEP_TEMPORARIES[optimizer] > 0, gpu, cuda_only,
                           fp16=(amp or dtype) == "float16")
        overhead = GpuOverhead(cuda.context_bytes, cuda.cudnn_workspace_high_bytes,
                               cuda.training.reserved - cuda.training.requested)
    return Memory(
        model="pytorch",
        params_bytes=params_bytes,
        buffers_bytes=buffers_bytes,
        gradients_bytes=params_bytes,
        optimizer_bytes=optimizer_bytes,
        activations_bytes=train.saved_bytes,
        peak_layer_bytes=infer.peak.bytes - params_bytes - buffers_bytes,
        inference_bytes=infer.peak.bytes,
        training_bytes=train.peak.bytes,
        layers=train.layers,
        workspace_bytes=train.scratch_bytes,
        training_peak=train.peak,
        inference_peak=infer.peak,
        device=device,
        amp=amp,
        gpu_overhead=overhead,
        cpu=cpu if device == "cpu" else None,
        cuda=cuda,
    )
