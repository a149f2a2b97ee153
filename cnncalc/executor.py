"""Run an analysed spec on random float32 tensors with numpy, front to back over the layer graph.

Two stages. `plan` is pure Python (no numpy): from the analysis it decides which array each layer
writes (a new one, or its input's when it works in place or returns a view), when every array is
freed (right after the last layer that reads it), and what the run will hold at each layer:
weights, live activations, workspace. That is the estimate `refuse_if_too_big` checks before
anything is allocated. `execute` then follows the plan with the kinds' own `make_weights` and
`forward`, hooks declared on `LayerKind` (see cnncalc/forward.py), measuring each layer's output shape, executed MACs, weight
sizes, time, and the peak of live arrays: numpy's array buffers, counted as numpy allocates and frees
them (cnncalc/array_memory.py; tracemalloc where that cannot be installed).
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from typing import Any

from cnncalc.analysis import Analysis
from cnncalc.errors import EXIT_USAGE, CnnCalcError
from cnncalc.forward import DTYPE_NAME, Run, Weights
from cnncalc.graph import Node
from cnncalc.layers.base import Inference
from cnncalc.memory import DTYPE_BYTES
from cnncalc.records import dataclass
from cnncalc.shapes import Shape
from cnncalc.units import binary

#: bytes of one float32 element, the executor's dtype
ELEMENT_BYTES = DTYPE_BYTES[DTYPE_NAME]

#: A value read by no later layer is freed after its producer; the network output is kept to the end.
KEPT = 1 << 62


class MemoryRefused(CnnCalcError):
    """The run would need more memory than it may use: refused before anything is allocated."""

    code = "CNN600"


class NotExecutable(CnnCalcError):
    """A layer kind has no numpy forward yet."""

    exit_code = EXIT_USAGE
    code = "CNN603"


@dataclass(frozen=True, slots=True)
class PlannedLayer:
    """One layer of the plan."""

    node: Node
    inputs: tuple[Shape, ...]
    inference: Inference
    #: per input: no later layer reads it, so the forward may write into it.
    overwritable: tuple[bool, ...]
    #: the output shares its input's memory (in place, or a view).
    aliases_input: bool
    #: values whose last reader is this layer: dropped right after it.
    frees: tuple[int, ...]
    #: bytes of the distinct arrays this layer reads and writes.
    io_bytes: int
    #: bytes of other activations alive during this layer because later layers read them.
    held_bytes: int
    #: bytes the forward holds beyond its inputs and output (im2col matrix, padded copy).
    workspace_bytes: int


@dataclass(frozen=True, slots=True)
class Plan:
    analysis: Analysis
    batch: int
    steps: tuple[PlannedLayer, ...]
    params_bytes: int
    buffers_bytes: int

    @property
    def weights_bytes(self) -> int:
        return self.params_bytes + self.buffers_bytes

    def layer_peak(self, step: PlannedLayer) -> int:
        return self.weights_bytes + step.io_bytes + step.held_bytes + step.workspace_bytes

    @property
    def peak_step(self) -> PlannedLayer | None:
        return max(self.steps, key=self.layer_peak, default=None)

    @property
    def input_bytes(self) -> int:
        return self.analysis.graph.input.numel * self.batch * ELEMENT_BYTES

    @property
    def peak_bytes(self) -> int:
        """What the run is expected to hold at its fullest moment."""
        step = self.peak_step
        return self.weights_bytes + self.input_bytes if step is None else self.layer_peak(step)


def _last_uses(nodes: tuple[Node, ...], outputs: tuple[int, ...] = ()) -> list[int]:
    """When each array is read last; the outputs (the last layer's, every side output's) are kept to the end."""
    last = [node.index for node in nodes]
    for node in nodes:
        for i in node.inputs:
            last[i] = max(last[i], node.index)
    for i in (len(nodes) - 1, *outputs):
        last[i] = KEPT
    return last


def _check_executable(node: Node) -> None:
    if not node.kind.executable:
        raise NotExecutable(
            f"{node.label}: cnncalc cannot execute '{node.type}' layers yet (no numpy forward)",
            node.loc,
            hint="`cnncalc analyze` still reports this spec; verify needs every layer kind to have a forward",
        )


def plan(analysis: Analysis, batch: int) -> Plan:
    """Decide array ownership and lifetimes, and what each layer holds, without numpy."""
    if not analysis.ok or not analysis.complete:
        raise ValueError("plan() needs an analysis without errors")
    nodes = analysis.graph.nodes
    results = analysis.results
    last = _last_uses(nodes, tuple(o.node for o in analysis.graph.side_outputs))
    storage = {0: 0}
    #: per storage, the last layer that reads any array in it (kept as layers alias it: a chain of
    #: in-place layers shares one storage, and scanning its members at every layer was quadratic)
    end = {0: last[0]}
    size = {0: results[0].output.numel * batch * ELEMENT_BYTES}
    drafts = []
    for result in results[1:]:
        node = result.node
        _check_executable(node)
        i = node.index
        if len(node.inputs) == 1:  # most layers: the one input is overwritable unless read later
            overwritable = (end[storage[node.inputs[0]]] <= i,)
        else:
            read_later = {s: end[s] > i for s in {storage[j] for j in node.inputs}}
            shared = {storage[j] for j in node.inputs if sum(storage[k] == storage[j] for k in node.inputs) > 1}
            overwritable = tuple(not read_later[storage[j]] and storage[j] not in shared for j in node.inputs)
        view = node.kind.forward_view
        aliases = bool(node.inputs) and (view or (node.kind.inplace and overwritable[0]))
        if aliases:
            storage[i] = storage[node.inputs[0]]
            end[storage[i]] = max(end[storage[i]], last[i])
        else:
            storage[i] = i
            end[i] = last[i]
            size[i] = result.output.numel * batch * ELEMENT_BYTES
        drafts.append((result, overwritable, aliases))
    # live bytes per layer by a sweep over storage lifetimes (linear, for million-layer specs)
    delta = [0] * (len(nodes) + 1)
    for s, bytes_ in size.items():
        delta[s] += bytes_
        delta[min(end[s], len(nodes) - 1) + 1] -= bytes_
    live, running = [], 0
    for d in delta[:-1]:
        running += d
        live.append(running)
    steps = []
    frees_at: dict[int, list[int]] = {}
    for v, at in enumerate(last):
        frees_at.setdefault(at, []).append(v)
    params = buffers = 0
    no_frees = ()
    for result, overwritable, aliases in drafts:
        node, inference = result.node, result.inference
        i = node.index
        # the distinct storages read, and the output's unless it is input 0's
        io = sum(size[s] for s in {storage[j] for j in node.inputs}) + (0 if aliases else size[i])
        frees = frees_at.get(i)
        steps.append(PlannedLayer(
            node, result.inputs, inference, overwritable, aliases, no_frees if frees is None else tuple(frees), io,
            live[i] - io, node.kind.forward_workspace(node.params, result.inputs, inference, batch) * ELEMENT_BYTES,
        ))
        params += inference.params
        buffers += inference.buffers
    return Plan(analysis, batch, tuple(steps), params * ELEMENT_BYTES, buffers * ELEMENT_BYTES)


def refuse_if_too_big(the_plan: Plan, max_bytes: int, textbook_bytes: int) -> None:
    """Stop before allocating when the plan's peak exceeds `max_bytes`, naming the estimate."""
    need = the_plan.peak_bytes
    if need <= max_bytes:
        return
    step = the_plan.peak_step
    extra = ""
    if step is not None and step.workspace_bytes:
        extra = f", of which {binary(step.workspace_bytes)} is the im2col/padding workspace of {step.node.name}"
    graph = the_plan.analysis.graph
    smaller = ""
    if the_plan.batch > 1:
        one = plan(the_plan.analysis, 1).peak_bytes
        smaller = f"a smaller --batch (batch 1 needs about {binary(one)}), "
    raise MemoryRefused(
        f"running {graph.name} at batch {the_plan.batch} needs an estimated {binary(need)}{extra} "
        f"(the textbook inference memory is {binary(textbook_bytes)}); that is more than "
        f"--max-memory {binary(max_bytes)}",
        graph.nodes[0].loc,
        hint=f"use {smaller}a smaller input, or raise --max-memory if the machine has the memory",
    )


#: The share of the machine's available memory a run may use when --max-memory is not given.
DEFAULT_MEMORY_SHARE = 0.5
#: When the available memory cannot be read (no /proc/meminfo).
FALLBACK_MAX_MEMORY = 4 * 1024**3


def available_memory(meminfo: str = "/proc/meminfo") -> int | None:
    """MemAvailable in bytes (memory the kernel can hand out without swapping), or None."""
    try:
        with open(meminfo, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def address_space_left(status: str = "/proc/self/status") -> int | None:
    """What RLIMIT_AS (`ulimit -v`) still lets this process map: the soft limit minus its VmSize, or
    None when there is no limit."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    mapped = 0
    try:
        with open(status, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    mapped = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    return max(soft - mapped, 0)


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


#: cgroup v1 writes "no limit" as the largest page-aligned 63-bit number; anything above 2^60 is none.
_NO_CGROUP_LIMIT = 2**60


def cgroup_memory_left(root: str = "/sys/fs/cgroup") -> int | None:
    """The memory limit of the cgroup (v2 memory.max, else v1 memory/memory.limit_in_bytes) minus its
    usage, or None when there is no limit (or no cgroup file)."""
    for limit_file, usage_file in (("memory.max", "memory.current"),
                                   ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):
        limit = _read_int(f"{root}/{limit_file}")
        if limit is None or limit >= _NO_CGROUP_LIMIT:
            continue
        return max(limit - (_read_int(f"{root}/{usage_file}") or 0), 0)
    return None


def default_max_memory() -> int:
    """A share (half) of the least headroom the process has: the machine's available memory, what
    RLIMIT_AS still allows it to map, and what its cgroup still allows it to use."""
    headrooms = [room for room in (available_memory(), address_space_left(), cgroup_memory_left())
                 if room is not None]
    return int(min(headrooms) * DEFAULT_MEMORY_SHARE) if headrooms else FALLBACK_MAX_MEMORY


# ---------------------------------------------------------------------------------------------
# execution (numpy)


@dataclass(frozen=True, slots=True)
class LayerRun:
    """What one layer did when executed."""

    name: str
    #: the executed output shape per sample, channels-last (batch axis dropped).
    output_shape: tuple[int, ...]
    macs: int
    param_elements: int
    buffer_elements: int
    weights_bytes: int
    seconds: float
    #: traced bytes (relative to the start of the run) before the layer, its peak while running,
    #: and after it returned (before its dead inputs are freed).
    before_bytes: int = 0
    peak_bytes: int = 0
    after_bytes: int = 0

    @property
    def workspace_bytes(self) -> int:
        """Held while running beyond what stayed afterwards: im2col matrices, padded copies, temporaries."""
        return max(self.peak_bytes - max(self.before_bytes, self.after_bytes), 0)


@dataclass(frozen=True, slots=True)
class Execution:
    plan: Plan
    seed: int
    layers: tuple[LayerRun, ...]
    #: traced peak of the whole run (weights included), or 0 when memory was not measured.
    peak_bytes: int
    #: the network's output (the last layer's array), or None if the run stopped early.
    output: Any
    #: every layer's weights when asked for (tests copy them into a reference framework).
    weights: tuple[Weights, ...] = ()
    #: the side outputs' arrays (auxiliary heads, `output:` in the spec) by name, or () if the run stopped early
    side_outputs: tuple[tuple[str, Any], ...] = ()
    #: the input the run started from, kept with the weights (layers in place may overwrite the original).
    input: Any = None
    #: how the peak was measured: "numpy allocator" (array buffers counted as numpy allocates them),
    #: "tracemalloc" (where numpy's allocator cannot be replaced), "" when not measured.
    measured_by: str = ""

    @property
    def complete(self) -> bool:
        return len(self.layers) == len(self.plan.steps)

    def arrays(self) -> dict[str, Any]:
        """What `verify --save-weights` writes: every kept weight as "layer/array" (channels-last,
        TensorFlow layouts), and the run's "input" and "output" ("input" names no layer: it is reserved)."""
        named = {f"{step.node.name}/{key}": array for step, w in zip(self.plan.steps, self.weights)
                 for key, array in {**w.params, **w.buffers}.items()}
        return {**named, "input": self.input, "output": self.output}


def _measured_weights(the_plan: Plan, rng, meter) -> list[Weights]:
    """The weights, their arrays measured (under tracemalloc, the per-layer objects that hold them left out)."""
    from cnncalc.array_memory import TRACEMALLOC

    if meter.measured_by != TRACEMALLOC:  # nothing but arrays is counted
        return make_weights(the_plan, rng)
    weights: list[Weights] = []
    for step in the_plan.steps:
        start = meter.current()
        made = step.node.kind.make_weights(step.node.params, step.inputs, step.inference, rng)
        meter.discount(meter.current() - start - made.nbytes)
        weights.append(made)
    return weights


def make_weights(the_plan: Plan, rng) -> list[Weights]:
    return [step.node.kind.make_weights(step.node.params, step.inputs, step.inference, rng) for step in the_plan.steps]


def execute(
    the_plan: Plan,
    seed: int = 0,
    on_layer: Callable[[int, int, str], None] | None = None,
    measure: bool = True,
    keep_weights: bool = False,
    given_input: Any = None,
    given_weights: tuple[Weights, ...] | list[Weights] | None = None,
) -> Execution:
    """Run the plan on seeded random weights and input (or `given_weights` and `given_input`, which
    layers working in place may overwrite; measured runs copy the input, so that the run's memory is
    its own). `on_layer(done, total, name)` reports progress.

    The run stops after the first layer whose executed output shape differs from the prediction
    (later layers' weights would not fit it).
    """
    import numpy as np
    import numpy.random  # noqa: F401  (imported before measuring starts, so its modules are not measured)

    from cnncalc import array_memory, arrays

    analysis = the_plan.analysis
    graph = analysis.graph
    shape = (the_plan.batch, *graph.input.dims)
    if given_input is not None and (given_input.shape != shape or given_input.dtype != arrays.DTYPE):
        raise ValueError(f"the input must be a float32 array of shape {shape}")
    meter = array_memory.meter(measure)
    meter.start()
    try:
        rng = np.random.default_rng(seed)
        if given_weights is None:
            weights = _measured_weights(the_plan, rng, meter)
        else:  # allocated before the run: counted as held throughout
            weights = list(given_weights)
            meter.held(sum(w.nbytes for w in weights))
        if given_input is None:
            x = arrays.random_normal(rng, shape, 1.0)
        else:
            x = given_input.copy() if measure else given_input
        with meter.paused():  # a copy for the caller, not the run's memory
            kept_input = x.copy() if keep_weights else None
        values: dict[int, Any] = {0: x}
        del x, given_input
        readings, macs, shapes = _run_layers(the_plan, weights, values, meter, on_layer)
        complete = len(shapes) == len(the_plan.steps)
        output = values.get(graph.nodes[-1].index) if complete else None
        side = tuple((o.name, values[o.node]) for o in graph.side_outputs) if complete else ()
        values.clear()
    finally:
        peak = meter.stop()
    sizes = _weight_sizes(weights)
    layers = tuple(
        LayerRun(step.node.name, shape, macs[i], *sizes[id(w)], readings[4 * i + 3],
                 int(readings[4 * i]), int(readings[4 * i + 1]), int(readings[4 * i + 2]))
        for i, (step, w, shape) in enumerate(zip(the_plan.steps, weights, shapes))
    )
    return Execution(the_plan, seed, layers, peak, output, tuple(weights) if keep_weights else (), side, kept_input,
                     meter.measured_by)


def _weight_sizes(weights: list[Weights]) -> dict[int, tuple[int, int, int]]:
    """Per distinct Weights (most layers share the empty one): parameter and buffer elements, bytes."""
    return {id(w): (w.param_elements, w.buffer_elements, w.nbytes) for w in {id(w): w for w in weights}.values()}


def _run_layers(the_plan: Plan, weights: list[Weights], values: dict[int, Any], meter, on_layer):
    """Every layer in order, reading and freeing `values` as planned: per layer the meter's bytes before,
    at its peak and after (and its seconds) in `readings`, its executed MACs and output shape.

    What is measured goes into arrays made here, the records after the run: under tracemalloc no
    Python object a layer leaves behind is its memory; numpy's allocator counts arrays only anyway.
    """
    from cnncalc.array_memory import TRACEMALLOC

    steps = the_plan.steps
    total = len(steps)
    convention = the_plan.analysis.convention
    with meter.paused():
        readings = array("d", bytes(8 * 4 * total))
        macs = array("q", bytes(8 * total))
        shapes: list[tuple[int, ...]] = []
        runs = [Run(convention, step.node.label, w, step.overwritable, step.inference)
                for step, w in zip(steps, weights)]
    counts_python = meter.measured_by == TRACEMALLOC
    clock = time.perf_counter
    get = values.__getitem__
    pop = values.pop
    pause, resume = meter.pause, meter.resume
    for done, step in enumerate(steps):
        node = step.node
        if on_layer is not None:
            pause()  # (a callback's arrays are not the layer's)
            on_layer(done, total, node.name)
            resume()
        meter.reset_peak()
        readings[4 * done] = meter.current()
        started = clock()
        result = node.kind.forward(node.params, tuple(map(get, node.inputs)), runs[done])
        readings[4 * done + 3] = clock() - started
        readings[4 * done + 1] = meter.read_peak()
        readings[4 * done + 2] = meter.current()
        output = result.output
        executed = output.shape[1:]
        if counts_python:
            pause()
            shapes.append(executed)
            resume()
        else:
            shapes.append(executed)
        macs[done] = result.macs
        values[node.index] = output
        del result, output
        for v in step.frees:
            pop(v, None)
        if executed != step.inference.output.dims:
            break
    if on_layer is not None:
        on_layer(len(shapes), total, "")
    return readings, macs, shapes


__all__ = ["Execution", "LayerRun", "MemoryRefused", "NotExecutable", "Plan", "PlannedLayer", "execute", "plan",
           "refuse_if_too_big"]
