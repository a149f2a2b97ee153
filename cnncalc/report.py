"""The numbers of one analysed model, ready for any renderer, and its JSON form (a public contract)."""

from __future__ import annotations

from itertools import repeat
from operator import attrgetter


from cnncalc import bulk, collector, counting, memory
from cnncalc.analysis import Analysis, LayerResult
from cnncalc.blocks import MAIN_OUTPUT
from cnncalc.cpu import Cpu
from cnncalc.diagnostics import Diagnostic
from cnncalc.errors import Location, UsageError
from cnncalc.layers import KINDS
from cnncalc.liveness import LayerMemory
from cnncalc.memory import Memory
from cnncalc.records import dataclass, replace

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    from cnncalc.cuda.gpus import Gpu  # the GPU table loads with --device cuda only


@dataclass(frozen=True, slots=True)
class Options:
    batch: int = 1
    dtype: str = "float32"
    optimizer: str = "momentum"
    count_bias: bool = False
    #: "textbook" or "pytorch"; None follows the convention (strict -> textbook, pytorch -> pytorch)
    memory_model: str | None = None
    device: str = "cpu"
    #: "float16" or "bfloat16" for mixed precision (fp32 master weights and optimizer state)
    amp: str | None = None
    #: the CPU whose kernels the pytorch model's transients describe; None = this machine
    cpu: Cpu | None = None
    #: the counting preset (cnncalc/counting.py): whose rules MACs and FLOPs follow
    count: str = "torchvision"
    #: the GPU (cnncalc/cuda/gpus.py) whose cuBLAS workspace and context the CUDA figures assume
    gpu: Gpu | None = None

    def __post_init__(self) -> None:
        """The textbook model has no rule for mixed precision or a GPU: asking for it with them is an error."""
        if self.memory_model != "textbook" or not _needs_pytorch(self):
            return
        given = " and ".join(_needs_pytorch(self))
        raise UsageError(
            f"--memory-model textbook cannot follow {given}: the textbook model has no "
            f"{_missing_rules(self)}",
            Location("--memory-model"),
            hint=f"drop --memory-model textbook (with {given} the pytorch model is used, docs/memory.md), "
            f"or drop {given}",
        )


def _needs_pytorch(options: Options) -> list[str]:
    """The options only the pytorch memory model follows, as the command line writes them."""
    return (["--amp"] if options.amp is not None else []) + (["--device cuda"] if options.device == "cuda" else [])


def _missing_rules(options: Options) -> str:
    return " or ".join((["mixed-precision"] if options.amp is not None else [])
                       + (["device"] if options.device == "cuda" else [])) + (
        " rules" if options.device == "cuda" else " rule")


def memory_model(options: Options, default: str) -> tuple[str, str | None]:
    """The memory model a report uses, and a note when the options chose it over the convention's `default`.

    `--memory-model` wins; otherwise `--amp` or `--device cuda` choose the pytorch model, the only one
    with rules for them (an explicit textbook with them is refused by Options)."""
    if options.memory_model is not None:
        return options.memory_model, None
    chosen_by = _needs_pytorch(options)
    if default == "textbook" and chosen_by:
        return "pytorch", f"chosen by {' and '.join(chosen_by)}; the textbook model has no {_missing_rules(options)}"
    return default, None


@dataclass(frozen=True, slots=True)
class Row:
    """One layer as reported: counts per sample except where the batch is named."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    params: int
    params_formula: str
    buffers: int
    macs: int
    #: elements this layer adds to the forward activations (0 for in-place layers), per sample
    activations: int
    output_elements: int
    inplace: bool
    loc: Location
    block: tuple[str, ...] = ()
    #: what each enclosing block is (a name from the spec's `blocks:`, "branch" or "shortcut").
    block_kinds: tuple[str, ...] = ()
    #: names of the layers this one reads (the previous layer in a chain; several for merges).
    input_names: tuple[str, ...] = ()
    #: FLOPs under the counting preset, and the backward MACs (input and weight gradients), per sample
    flops: int = 0
    backward: counting.Backward = counting.NO_BACKWARD
    #: the side output (auxiliary head) this layer feeds alone; None: the main path (trunk included)
    head: str | None = None
    #: inside a training-only head: not run at inference
    training_only: bool = False


@dataclass(frozen=True, slots=True)
class HeadTotals:
    """One output of the network: its layer, and the params and per-sample MACs/FLOPs of the layers that
    feed it alone (the main output's include the trunk every head reads), so the heads sum to the totals."""

    name: str
    layer: str
    output_shape: tuple[int, ...]
    training_only: bool
    params: int
    macs: int
    flops: int
    loc: Location
    #: what its layers keep for backward in one training step (the memory model's saved bytes, for the batch)
    saved_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Totals:
    params: int
    buffers: int
    macs: int
    activations: int
    #: the preset's FLOPs when its rule is not 2 x MACs
    counted_flops: int | None = None
    backward_input: int = 0
    backward_weight: int = 0

    @property
    def flops(self) -> int:
        return 2 * self.macs if self.counted_flops is None else self.counted_flops


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    path: str
    convention: str
    options: Options
    rows: tuple[Row, ...]
    totals: Totals
    memory: Memory
    diagnostics: tuple[Diagnostic, ...]
    #: every output, the main one first; empty for a network with one output (no `output:` in its spec)
    heads: tuple[HeadTotals, ...] = ()

    def to_dict(self, lazy: bool = False) -> dict:
        """The JSON report. `lazy`: the per-layer lists as one-pass iterators (for a streaming writer,
        cnncalc/render/jsontext.py: a million layers' dicts would take a gigabyte at once)."""
        batch = self.options.batch
        layers = self._layer_dicts(lazy)
        return {
            "name": self.name,
            "convention": self.convention,
            "batch": batch,
            "dtype": self.options.dtype,
            "optimizer": self.options.optimizer,
            "counting": counting.describe(self.options.count, self.options.count_bias),
            "layers": layers if lazy else list(layers),
            "totals": {
                "params": self.totals.params,
                "non_trainable": self.totals.buffers,
                "macs": self.totals.macs * batch,
                "flops": self.totals.flops * batch,
                "activations": self.totals.activations * batch,
                "backward_input_macs": self.totals.backward_input * batch,
                "backward_weight_macs": self.totals.backward_weight * batch,
            },
            **self._outputs_dict(),
            "memory": self.memory.to_dict(lazy),
            **counting.json_keys(self),
            "warnings": [
                {"code": d.code, "message": d.message, "line": d.loc.line, "column": d.loc.col, "hint": d.hint}
                for d in self.diagnostics
                if d.severity == "warning"
            ],
        }


    def _layer_dicts(self, lazy: bool):
        """The per-layer dicts, one at a time. `lazy` (for jsontext, which writes tuples as lists): the
        rows' own shape and name tuples, not a list copy of each (a shape's text is then made once)."""
        batch = self.options.batch
        listed = (lambda values: values) if lazy else list
        heads = bool(self.heads)
        for r in self.rows:
            layer = {
                "name": r.name,
                "type": r.type,
                "output_shape": listed(r.output_shape),
                "params": r.params,
                "macs": r.macs * batch,
                "activations": r.activations * batch,
                "output_elements": r.output_elements * batch,
                "non_trainable": r.buffers,
                "inplace": r.inplace,
                "params_formula": r.params_formula,
                "line": r.loc.line,
                "column": r.loc.col,
                "inputs": listed(r.input_names),
                "flops": r.flops * batch,
                "backward_input_macs": r.backward.input_grad * batch,
                "backward_weight_macs": r.backward.weight_grad * batch,
            }
            if heads:
                layer.update(self._head_keys(r))
            yield layer

    def _head_keys(self, row: Row) -> dict:
        """A layer's output head, in the JSON of networks with side outputs only (the others' stays as it was)."""
        if not self.heads:
            return {}
        return {"head": row.head or MAIN_OUTPUT, "training_only": row.training_only}

    def _outputs_dict(self) -> dict:
        """`outputs` (per head) and `inference_totals` (what runs in eval mode), for networks with side outputs."""
        if not self.heads:
            return {}
        batch = self.options.batch
        running = [h for h in self.heads if not h.training_only]
        return {
            "outputs": [
                {"name": h.name, "layer": h.layer, "output_shape": list(h.output_shape),
                 "training_only": h.training_only, "params": h.params, "macs": h.macs * batch,
                 "flops": h.flops * batch, "saved_bytes": h.saved_bytes, "line": h.loc.line, "column": h.loc.col}
                for h in self.heads
            ],
            "inference_totals": {
                "params": sum(h.params for h in running),
                "macs": sum(h.macs for h in running) * batch,
                "flops": sum(h.flops for h in running) * batch,
                "outputs": [h.name for h in running],
            },
        }


def heads_of(analysis: Analysis, rows: tuple[Row, ...], mem: Memory) -> tuple[HeadTotals, ...]:
    """Per output, the totals of the layers that feed it alone; () when the network has one output."""
    graph = analysis.graph
    if not graph.side_outputs or not analysis.complete:
        return ()
    saved = {layer.name: layer.saved_bytes for layer in mem.layers}
    heads = []
    for output in graph.outputs:
        mine = [r for r in rows if (r.head or MAIN_OUTPUT) == output.name]
        heads.append(HeadTotals(output.name, rows[output.node].name, rows[output.node].output_shape,
                                output.training_only, sum(r.params for r in mine), sum(r.macs for r in mine),
                                sum(r.flops for r in mine), output.loc, sum(saved.get(r.name, 0) for r in mine)))
    return tuple(heads)


def _row(result: LayerResult, count_bias: bool, names: tuple[str, ...] = (), macs: int | None = None,
         flops: int = 0, backward: counting.Backward = counting.NO_BACKWARD, shared: dict | None = None,
         make=Row) -> Row:
    """One report row; `macs`, `flops` and `backward` as the counting preset has them (cnncalc/counting.py).
    `shared`: equal shapes' dims tuples, made once and shared by every row (a million-layer chain has a
    handful of shapes; a tuple per row and per input was 150 MB). `make`: `Row` or its `bulk.maker`."""
    node, inf = result.node, result.inference
    kind = node.kind
    inplace = kind is not None and kind.inplace
    if shared is None:
        shared = {}
    # looked up by identity first (the analysis shares its shapes and input tuples between equal layers,
    # and a shape's hash is Python code), then by equality; every key's object lives as long as `shared`
    output = inf.output
    output_shape = shared.get(id(output))
    if output_shape is None:
        output_shape = shared.get(output)
        if output_shape is None:
            output_shape = shared[output] = output.dims
        shared[id(output)] = output_shape
    inputs = result.inputs
    input_shapes = shared.get(id(inputs))
    if input_shapes is None:
        input_shapes = shared.get(inputs)
        if input_shapes is None:
            input_shapes = shared[inputs] = tuple(s.dims for s in inputs)
        shared[id(inputs)] = input_shapes
    numel = output.numel
    # positional, in the fields' order (a million rows: keywords cost a second)
    return make(node.name, "input" if kind is None else kind.name, output_shape, input_shapes, inf.params,
               inf.params_formula, inf.buffers,
               inf.macs + (inf.bias_macs if count_bias else 0) if macs is None else macs,
               0 if inplace else numel, numel, inplace, node.loc, node.block, node.block_kinds, names, flops,
               backward, node.head, node.training_only)


def _rows(analysis: Analysis, counted: counting.Counted) -> tuple[Row, ...]:
    """Every layer's row: `_row` inlined for the layers of a chain (one input whose tuple of shapes
    the analysis shares between equal layers; a million rows spend most of the report's time here),
    made through the slots (cnncalc/bulk.py). A layer whose inference, inputs and kind are the ones
    of the layer before (a repeat of one layer) takes that layer's figures as they are."""
    nodes = analysis.graph.nodes
    shared: dict = {}
    outputs: dict[int, tuple[tuple[int, ...], int]] = {}
    keep: list = []
    make = bulk.maker(Row)
    rows = []
    append = rows.append
    last_inf = last_inputs = last_kind = figures = None
    before, before_name = -1, ""  # the last row's node and name: a chain's layer reads it
    for result, macs, flops, grads in zip(analysis.results, counted.macs, counted.flops, counted.backward):
        node = result.node
        reads = node.inputs
        inputs = result.inputs
        inf = result.inference
        kind = node.kind
        if inf is not last_inf or inputs is not last_inputs or kind is not last_kind:
            input_shapes = shared.get(id(inputs))
            if len(reads) != 1 or input_shapes is None:  # the first of its inputs, or a merge: the full way
                row = _row(result, False, _input_names(nodes, reads), macs, flops, grads, shared, make)
                append(row)
                before, before_name, last_inf = node.index, row.name, None
                continue
            output = inf.output
            found = outputs.get(id(output))  # (dims, numel) by the shape's identity
            if found is None:
                output_shape = shared.get(output)
                if output_shape is None:
                    output_shape = shared[output] = output.dims
                found = outputs[id(output)] = (output_shape, output.numel)
                keep.append(output)  # the identity stays valid while `outputs` is used
            output_shape, numel = found
            inplace = kind.inplace
            figures = (kind.name, output_shape, input_shapes, inf.params, inf.params_formula, inf.buffers,
                       0 if inplace else numel, numel, inplace)
            last_inf, last_inputs, last_kind = inf, inputs, kind
        name, source = node.name, reads[0]
        type_name, output_shape, input_shapes, params, formula, buffers, activations, numel, inplace = figures
        append(make(name, type_name, output_shape, input_shapes, params, formula, buffers, macs, activations, numel,
                    inplace, node.loc, node.block, node.block_kinds,
                    (before_name if source == before else nodes[source].name,), flops, grads, node.head,
                    node.training_only))
        before, before_name = node.index, name
    return tuple(rows)


def _input_names(nodes, reads: tuple[int, ...]) -> tuple[str, ...]:
    return (nodes[reads[0]].name,) if len(reads) == 1 else tuple(nodes[i].name for i in reads)


def _peak_layer(analysis: Analysis) -> int:
    """Largest inputs + output of one layer, counting each distinct tensor once (in place: none new);
    the layers of training-only heads do not run at inference."""
    # per node: the node whose storage its output is (itself, or for an in-place layer its input's owner)
    # and that storage's size; nodes are numbered in order, so plain lists (a million layers' dicts of
    # tuples cost seconds and ~100 MB)
    owner: list[int] = []
    size: list[int] = []
    numels: dict[int, int] = {}  # by the shape's identity (the analysis shares equal layers' shapes)
    best = 0
    # one pass: a node's inputs come before it, so their storages are known when it is reached
    for result in analysis.results:
        node = result.node
        reads = node.inputs
        kind = node.kind
        if kind is not None and kind.inplace:
            mine = owner[reads[0]]
            owner.append(mine)
            size.append(size[mine])
        else:
            output = result.inference.output
            numel = numels.get(id(output))
            if numel is None:
                numel = numels[id(output)] = output.numel
            mine = node.index
            owner.append(mine)
            size.append(numel)
        if node.training_only:
            continue
        if len(reads) == 1:  # a chain's layer: its input and its output, once if they are one storage
            other = owner[reads[0]]
            total = size[mine] if other == mine else size[mine] + size[other]
        else:
            total = sum(size[t] for t in {owner[i] for i in reads} | {mine})
        if total > best:
            best = total
    return best


def training_warnings(analysis: Analysis, options: Options) -> tuple[Diagnostic, ...]:
    """What the report's training memory at its batch runs into that the per-sample analysis cannot see:
    a batch norm over one value per channel, which PyTorch refuses to train (CNN207)."""
    if not KINDS.loaded("batchnorm"):  # no batch norm in the run (and layers/norm.py stays unread)
        return ()
    from cnncalc.layers import norm

    return tuple(norm.one_value_per_channel(analysis.results, options.batch))


def build(analysis: Analysis, options: Options) -> Report:
    with collector.paused():  # a row and a memory entry per layer, no cycles among them (cnncalc/collector.py)
        return _build(analysis, options)


def _build(analysis: Analysis, options: Options) -> Report:
    counted = counting.for_report(analysis, options)
    rows = _rows(analysis, counted)
    totals = _totals(rows, counted.flops_total)
    mem = memory_of(analysis, options, rows, totals)
    return Report(
        name=analysis.graph.name,
        path=analysis.graph.path,
        convention=analysis.convention.name,
        options=options,
        rows=rows,
        totals=totals,
        memory=mem,
        diagnostics=analysis.diagnostics + training_warnings(analysis, options),
        heads=heads_of(analysis, rows, mem),
    )


def _totals(rows: tuple[Row, ...], counted_flops: int | None) -> Totals:
    """The sums over the rows, in one pass (seven generator passes were a second at a million layers)."""
    params = buffers = macs = activations = backward_input = backward_weight = 0
    for r in rows:
        params += r.params
        buffers += r.buffers
        macs += r.macs
        activations += r.activations
        grads = r.backward
        if grads is not counting.NO_BACKWARD:
            backward_input += grads.input_grad
            backward_weight += grads.weight_grad
    return Totals(params=params, buffers=buffers, macs=macs, activations=activations, counted_flops=counted_flops,
                  backward_input=backward_input, backward_weight=backward_weight)


def _textbook_layers(rows: tuple[Row, ...], batch: int, size: int) -> tuple[LayerMemory, ...]:
    """The textbook keeps every output for backward and one gradient of the same size."""
    scale = batch * size

    class Scaled(dict):  # each activation count's bytes once (a network repeats a handful)
        def __missing__(self, activations: int) -> int:
            self[activations] = activations * scale
            return activations * scale

    scaled = list(map(Scaled().__getitem__, map(attrgetter("activations"), rows)))
    # one record per layer, made through its slots (cnncalc/bulk.py) by one `map`
    return tuple(map(bulk.maker(LayerMemory), map(attrgetter("name"), rows), scaled, scaled, scaled, repeat(0)))


def memory_of(analysis: Analysis, options: Options, rows: tuple[Row, ...], totals: Totals) -> Memory:
    model, note = memory_model(options, analysis.convention.memory_model)
    if model == "pytorch":
        result = memory.pytorch(analysis, batch=options.batch, dtype=options.dtype, optimizer=options.optimizer,
                                device=options.device, amp=options.amp, cpu=options.cpu, gpu=options.gpu)
        return replace(result, model_note=note) if note else result
    return memory.textbook(
        params=totals.params,
        buffers=totals.buffers,
        activations=totals.activations,
        peak_layer=_peak_layer(analysis),
        batch=options.batch,
        dtype=options.dtype,
        optimizer=options.optimizer,
        layers=_textbook_layers(rows, options.batch, memory.DTYPE_BYTES[options.dtype]),
    )
