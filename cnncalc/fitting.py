"""What fits in a memory budget: the largest batch (or square input), and ranked advice when nothing does.

Every answer comes from the same memory model `analyze` reports (report.memory_of), so a batch
`fit` says fits is within budget and the next one is not.
"""

from __future__ import annotations

from collections.abc import Callable
from cnncalc.records import dataclass, replace

from cnncalc import report
from cnncalc.analysis import Analysis, analyze
from cnncalc.cuda.gpus import Gpu, with_memory
from cnncalc.cuda.step import CudaMemory
from cnncalc.graph import Graph, Node
from cnncalc.layers.conv import Conv
from cnncalc.memory import GpuOverhead
from cnncalc.memory import pytorch as pytorch_memory
from cnncalc.units import binary, binary_apart

#: The largest batch or input side the search considers.
MAX_BATCH = 2**31
MAX_SIDE = 2**16

@dataclass(frozen=True, slots=True)
class Advice:
    """One way to make the model fit, with the batch it then allows (0 = still none)."""

    change: str
    batch: int
    needed_bytes: int


@dataclass(frozen=True, slots=True)
class FitResult:
    budget_bytes: int
    mode: str
    #: largest batch that fits (0 = none); with a resolution search, at the given batch
    batch: int
    #: bytes the largest fitting batch needs, and what one more needs
    needed_bytes: int
    next_bytes: int
    #: the batch asked for and what it needs (None when not asked)
    target: int | None
    target_bytes: int | None
    #: largest square input side that fits (with --resolution)
    side: int | None = None
    advice: tuple[Advice, ...] = ()
    #: the memory model every number above comes from, and why when the options chose it (--amp, --device cuda)
    memory_model: str = ""
    memory_model_note: str | None = None
    #: on CUDA, the GPU-only overhead estimates included in needed_bytes (at the answer, or batch 1)
    overhead: GpuOverhead | None = None
    #: on CUDA: the GPU named (--gpu), or None; the allocator's peaks at the answer (or batch 1)
    gpu: Gpu | None = None
    device: str = "cpu"
    cuda: CudaMemory | None = None

    @property
    def headroom(self) -> int | None:
        """What is left of the budget at the answer (None when nothing fits)."""
        answer = self.side if self.side is not None else self.batch
        return self.budget_bytes - self.needed_bytes if answer else None

    @property
    def headroom_after_allocated(self) -> int | None:
        """On CUDA: the budget less the context and the live tensors' peak (max_memory_allocated) at the
        answer; the reserved peak on a budget fills it with cached blocks, so this says more."""
        if self.cuda is None or self.headroom is None:
            return None
        return self.budget_bytes - self.cuda.context_bytes - self.cuda.peak(self.mode).allocated

    @property
    def fits(self) -> bool:
        wanted = self.target or 1
        return self.batch >= wanted if self.side is None else self.side > 0

    def to_dict(self) -> dict:
        return {
            "budget_bytes": self.budget_bytes, "mode": self.mode, "fits": self.fits, "batch": self.batch,
            "needed_bytes": self.needed_bytes, "next_bytes": self.next_bytes, "target_batch": self.target,
            "target_bytes": self.target_bytes, "side": self.side,
            "advice": [{"change": a.change, "batch": a.batch, "needed_bytes": a.needed_bytes} for a in self.advice],
            "memory_model": self.memory_model, "memory_model_note": self.memory_model_note,
            "gpu_overhead_estimate": None if self.overhead is None else self.overhead.to_dict(),
            "headroom_bytes": self.headroom, "device": self.device,
            "headroom_after_allocated_bytes": self.headroom_after_allocated,
            "gpu": None if self.gpu is None else self.gpu.to_dict(),
            "criterion": CUDA_CRITERION if self.device == "cuda" else "peak <= budget",
        }


#: what `fit` compares on CUDA, and why (docs/memory.md, "CUDA: one step's allocations")
CUDA_CRITERION = ("the step's allocations, replayed through the simulated caching allocator on the budget less the "
                  "CUDA context estimate, never fail (a step runs out of memory when cudaMalloc fails even after "
                  "the cache is released); needs = that replay's reserved peak + the context, or without a limit "
                  "when it fails; cuDNN falls back to algorithms without workspace when a workspace does not fit")


def needed(analysis: Analysis, options: report.Options, mode: str) -> int:
    """The bytes compared with the budget: the peak; on CUDA (the pytorch model) the simulated caching
    allocator's reserved peak for the mode plus the CUDA context estimate (CUDA_CRITERION)."""
    model, _ = report.memory_model(options, analysis.convention.memory_model)
    if options.device == "cuda" and model == "pytorch":
        cuda = pytorch_memory(analysis, batch=options.batch, dtype=options.dtype, optimizer=options.optimizer,
                              device="cuda", amp=options.amp, cpu=options.cpu, gpu=options.gpu,
                              cuda_only=mode).cuda
        return cuda.needed(mode)
    mem = report.build(analysis, options).memory
    return mem.training_bytes if mode == "train" else mem.inference_bytes


def _at(analysis: Analysis | None, options: report.Options) -> dict:
    """FitResult's CUDA fields at the answer: the overhead estimates and the allocator's peaks."""
    if analysis is None:
        return {"overhead": None, "cuda": None}
    mem = report.build(analysis, options).memory
    return {"overhead": mem.gpu_overhead, "cuda": mem.cuda}


def largest(fits: Callable[[int], bool], limit: int) -> int:
    """The largest n in [1, limit] with fits(n), assuming fits is monotone; 0 if none."""
    if not fits(1):
        return 0
    low, high = 1, 2
    while high <= limit and fits(high):
        low, high = high, high * 2
    high = min(high, limit + 1)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def largest_batch(analysis: Analysis, options: report.Options, mode: str, budget: int) -> int:
    return largest(lambda b: needed(analysis, replace(options, batch=b), mode) <= budget, MAX_BATCH)


def _with_side(analysis: Analysis, side: int) -> Analysis | None:
    shape = analysis.graph.input
    graph = replace(analysis.graph, input=shape.with_spatial((side,) * shape.rank))
    result = analyze(graph, analysis.convention)
    return result if result.ok and result.complete else None


def largest_side(analysis: Analysis, options: report.Options, mode: str, budget: int) -> int:
    """The largest square input side whose every layer works out and whose memory fits."""
    floor = replace(analysis.convention, conv_rounding="floor", pool_rounding="floor")

    def fits_loosely(side: int) -> bool:
        shape = analysis.graph.input
        graph = replace(analysis.graph, input=shape.with_spatial((side,) * shape.rank))
        loose = analyze(graph, floor)
        return not loose.complete or needed(loose, options, mode) <= budget

    bound = largest(fits_loosely, MAX_SIDE)
    for side in range(bound, 0, -1):
        exact = _with_side(analysis, side)
        if exact is not None and needed(exact, options, mode) <= budget:
            return side
    return 0


# ---------------------------------------------------------------------------------------------
# advice: the seeds' remedies, each measured by the same model


def _first_conv(graph: Graph) -> Node | None:
    """The first forward convolution (conv, conv1d/2d/3d, depthwise: kinds of layers/conv.py's class),
    never a transposed one, whose stride upsamples; chosen by class, not by name."""
    return next((n for n in graph.nodes[1:] if isinstance(n.kind, Conv)), None)


def with_first_stride(analysis: Analysis, stride: int = 2) -> tuple[str, Analysis] | None:
    node = _first_conv(analysis.graph)
    geometry = None if node is None else next((r.geometry for r in analysis.results if r.node is node), None)
    if geometry is None or any(s != 1 for s in geometry.stride):
        return None
    changed = replace(node, params={**node.params, "stride": stride})
    graph = replace(analysis.graph, nodes=tuple(changed if n.index == node.index else n
                                                            for n in analysis.graph.nodes))
    change = f"a stride of {stride} in the first layer ({node.name})"
    result = analyze(graph, analysis.convention)
    if not (result.ok and result.complete):
        # sizes that no longer divide exactly: frameworks floor them
        change += ", sizes rounded down"
        result = analyze(graph, replace(analysis.convention, conv_rounding="floor", pool_rounding="floor"))
    return (change, result) if result.ok and result.complete else None


def without_node(graph: Graph, index: int) -> Graph:
    """The graph with one single-input node removed: its readers read its input instead."""
    source = graph.nodes[index].inputs[0]

    def renumber(i: int) -> int:
        i = source if i == index else i
        return i - 1 if i > index else i

    nodes = tuple(
        replace(n, index=renumber(n.index), inputs=tuple(renumber(i) for i in n.inputs))
        for n in graph.nodes if n.index != index
    )
    return replace(graph, nodes=nodes)


def without_heaviest_layer(analysis: Analysis, options: report.Options, mode: str) -> tuple[str, Analysis] | None:
    """Drop the shape-preserving layer with parameters whose removal saves the most memory."""
    best = None
    for result in analysis.results[1:]:
        node = result.node
        if len(node.inputs) != 1 or result.inputs[0] != result.output or not result.inference.params:
            continue
        smaller = analyze(without_node(analysis.graph, node.index), analysis.convention)
        if not (smaller.ok and smaller.complete):
            continue
        need = needed(smaller, options, mode)
        if best is None or need < best[0]:
            best = (need, node.name, smaller)
    return None if best is None else (f"one layer fewer (drop {best[1]}, which keeps its input's shape)", best[2])


def advise(analysis: Analysis, options: report.Options, mode: str, budget: int) -> tuple[Advice, ...]:
    """Remedies ranked by the batch they allow, then by the memory batch 1 then needs."""
    candidates: list[tuple[str, Analysis, report.Options]] = []
    if options.dtype in ("float32", "float64") and options.amp is None:
        half = replace(options, dtype="float16")
        candidates.append(("float16 halves activations and weights", analysis, half))
    strided = with_first_stride(analysis)
    if strided is not None:
        candidates.append((*strided, options))
    fewer = without_heaviest_layer(analysis, options, mode)
    if fewer is not None:
        candidates.append((*fewer, options))
    advice = []
    for change, changed, opts in candidates:
        batch = largest_batch(changed, opts, mode, budget)
        advice.append(Advice(change, batch, needed(changed, replace(opts, batch=max(batch, 1)), mode)))
    return tuple(sorted(advice, key=lambda a: (-a.batch, a.needed_bytes)))


def fit(analysis: Analysis, options: report.Options, budget: int, mode: str = "train", target: int | None = None,
        resolution: bool = False) -> FitResult:
    model, note = report.memory_model(options, analysis.convention.memory_model)
    named = options.gpu
    if options.device == "cuda":
        # the simulated allocator runs on the budget (less the context), as PyTorch's would on such a GPU
        options = replace(options, gpu=with_memory(options.gpu, budget))
    if resolution:
        side = largest_side(analysis, options, mode, budget)
        at = _with_side(analysis, side) if side else None
        need = needed(at, options, mode) if at else 0
        following = _with_side(analysis, side + 1)
        return FitResult(budget, mode, options.batch, need,
                         needed(following, options, mode) if following else 0, None, None, side,
                         memory_model=model, memory_model_note=note,
                         gpu=named, device=options.device, **_at(at or _with_side(analysis, 1) or analysis, options))
    batch = largest_batch(analysis, options, mode, budget)
    need_at = (lambda b: needed(analysis, replace(options, batch=b), mode))
    target_bytes = need_at(target) if target else None
    short = batch == 0 or (target is not None and batch < target)
    return FitResult(
        budget, mode, batch, need_at(batch) if batch else need_at(1), need_at(batch + 1), target, target_bytes,
        advice=advise(analysis, options, mode, budget) if short else (),
        memory_model=model, memory_model_note=note,
        gpu=named, device=options.device, **_at(analysis, replace(options, batch=max(batch, 1))),
    )


#: `fit -f csv`: one row per answer (the batch asked for, the largest that fits) and per advice. `fits`:
#: whether the row's batch (or side) fits the budget; 0 = none does, and needed_bytes is then batch 1's
CSV_COLUMNS = ("row", "change", "batch", "side", "needed_bytes", "next_bytes", "budget_bytes", "mode", "fits")


def rows(result: FitResult) -> list[dict]:
    """The answers and the advice as table rows: 'target' (the batch asked for), 'largest', 'advice'."""
    common = {"budget_bytes": result.budget_bytes, "mode": result.mode}
    out = []
    if result.target is not None:
        out.append({"row": "target", "change": "", "batch": result.target, "side": None,
                    "needed_bytes": result.target_bytes, "next_bytes": None, **common,
                    "fits": result.target_bytes <= result.budget_bytes})
    answer = result.side if result.side is not None else result.batch
    out.append({"row": "largest", "change": "", "batch": result.batch, "side": result.side,
                "needed_bytes": result.needed_bytes, "next_bytes": result.next_bytes if answer else None, **common,
                "fits": answer > 0})
    out += [{"row": "advice", "change": a.change, "batch": a.batch, "side": None, "needed_bytes": a.needed_bytes,
             "next_bytes": None, **common, "fits": a.batch > 0} for a in result.advice]
    return out


def to_csv(result: FitResult) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows(result):
        writer.writerow(["" if row[c] is None else str(row[c]).lower() if isinstance(row[c], bool) else row[c]
                         for c in CSV_COLUMNS])
    return out.getvalue()


def to_markdown(result: FitResult, dtype: str) -> str:
    """A GitHub table of the same rows, after one sentence on the budget, the notes after it."""
    what = "training" if result.mode == "train" else "inference"
    search = "largest square input" if result.side is not None else "largest batch"
    lines = [f"Fit: {search} for {what} ({dtype}) in {binary(result.budget_bytes)} "
             f"({result.budget_bytes:,} bytes).", "",
             "| | Change | Batch | Input | Needs | Next batch needs | Fits |",
             "|---|---|---:|---:|---:|---:|---|"]
    for row in rows(result):
        if row["next_bytes"] is not None:
            need, following = binary_apart(row["needed_bytes"], row["next_bytes"])
        else:
            need, following = binary(row["needed_bytes"]), ""
        if result.side is not None and row["row"] == "largest":
            following = ""  # the next side, not the next batch
        side = f"{row['side']}x{row['side']}" if row["side"] else ""
        change = row["change"].replace("|", "\\|")
        lines.append(f"| {row['row']} | {change} | {row['batch']} | {side} | {need} | {following} | "
                     f"{'yes' if row['fits'] else 'no'} |")
    notes = describe(replace(result, advice=(), target=None, target_bytes=None), dtype)[1:]
    paragraphs = [f"\n{note}." for note in notes]  # a blank line before each, so each is its own paragraph
    return "\n".join(lines + paragraphs) + "\n"


def describe(result: FitResult, dtype: str) -> list[str]:
    """The answer as sentences, numbers first: 'batch 64 needs 31.2 GiB; batch 47 fits; ...'."""
    budget = binary(result.budget_bytes)
    what = "training" if result.mode == "train" else "inference"
    # the model is named when the options chose it; otherwise it is the one asked for or the convention's
    notes = [f"memory: {result.memory_model} model ({result.memory_model_note})"] if result.memory_model_note else []
    if result.overhead is not None:
        notes += _cuda_notes(result)
    if result.side is not None:
        if not result.side:
            return [f"no square input fits {what} at batch {result.batch} in {budget}", *notes]
        return [f"largest square input for {what} at batch {result.batch} in {budget}: "
                f"{result.side}x{result.side} (needs {binary(result.needed_bytes)})", *notes]
    lines = []
    if result.target is not None:
        verdict = "fits" if result.target_bytes <= result.budget_bytes else "does not fit"
        target_text, in_budget = binary_apart(result.target_bytes, result.budget_bytes)
        lines.append(f"batch {result.target} needs {target_text}: {verdict} in {in_budget}")
    if result.batch:
        # need <= budget < next: as many digits as it takes for the three to read differently
        in_budget, need, following = binary_apart(result.budget_bytes, result.needed_bytes, result.next_bytes)
        lines.append(f"largest batch for {what} ({dtype}) in {in_budget}: batch {result.batch} "
                     f"needs {need}; batch {result.batch + 1} would need {following}")
    else:
        lines.append(f"nothing fits: batch 1 needs {binary(result.needed_bytes)} for {what}, more than {budget}")
    if result.advice:
        lines.append("what would help, best first:")
        for advice in result.advice:
            effect = (f"batch {advice.batch} fits ({binary(advice.needed_bytes)})" if advice.batch
                      else f"batch 1 still needs {binary(advice.needed_bytes)}")
            lines.append(f"  - {advice.change}: {effect}")
    return lines + notes


def _cuda_notes(result: FitResult) -> list[str]:
    """What a CUDA answer assumes, in two lines, and the headroom it leaves."""
    g = result.overhead
    gpu = result.gpu
    board = (f"{gpu.name} ({gpu.description}, {binary(gpu.memory_bytes)} as the driver reports it, approximately)"
             if gpu is not None else "a GPU")
    run = "two training steps" if result.mode == "train" else "one inference pass"
    lines = [f"needs = the caching allocator's reserved peak (simulated on the budget less the context: {run} "
             f"from an empty cache, cuBLAS workspaces included, cuDNN free to fall back to algorithms "
             f"without workspace) + the CUDA context (~{binary(g.context_bytes)}, an estimate) on {board}"]
    if result.headroom is not None:
        after = result.headroom_after_allocated
        lives = f", {binary(after)} after the live tensors' peak (max_memory_allocated)" if after is not None else ""
        lines.append(f"headroom at the answer: {binary(result.headroom)} after the reserved peak (the cache grows "
                     f"until the budget is reached){lives}; assumes PyTorch's defaults (no cudnn.benchmark, no "
                     "expandable_segments, foreach optimizer) and nothing else on the GPU")
    return lines
