"""PyTorch eager memory by liveness: which storages exist at every moment of one training step.

The simulation walks the layer graph (any DAG over `Node.inputs`, so residual adds and concat
branches keep their inputs alive exactly as long as a consumer still needs them):

- forward: each layer makes a new output storage unless it aliases its input (a view, an
  in-place op); a storage dies after its last reader has run unless autograd saved it;
- backward, in reverse creation order: a layer's backward allocates its input gradients (views of
  the output gradient for flatten/add/cat) and its parameter gradients, then drops the output
  gradient and releases what it saved; gradients that meet at a branch point are summed the way
  autograd's input buffers do (in place when no one else holds the first one);
- optimizer step: every parameter gradient is alive, plus the optimizer's temporaries.

A network with side outputs (auxiliary heads, `Graph.side_outputs`) runs every head in training: the
loss holds every output until backward ends, which starts from one caller-made gradient per output. At
inference the layers of training-only heads do not run (docs/memory.md, "Several outputs").

Each layer kind says what it saves, aliases and allocates (`LayerKind.memory_rule`); this module
only keeps the books. Sizes are bytes for the whole batch.
"""

from __future__ import annotations

from cnncalc import bulk
from cnncalc.analysis import Analysis
from cnncalc.layer_rules import distinct, rules, same_storages  # noqa: F401  (distinct: re-exported)
from cnncalc.layers.base import MemoryContext, MemoryRule
# Peak, Tracer and the records of a simulation: re-exported, as before
from cnncalc.ledger import LayerMemory, Peak, Simulation, Tracer, _Grad, _Ledger, _PeakLedger  # noqa: F401


class _Run:
    def __init__(self, analysis: Analysis, ctx: MemoryContext, base: int, found: tuple[MemoryRule, ...] = (),
                 tracer: Tracer | None = None, like: _Run | None = None, ledger: type[_Ledger] = _Ledger):
        """`like`: a wired run, not yet run, whose storages and wiring are this one's (see `_books_of`)."""
        self.results = analysis.results
        self.graph = analysis.graph
        self.ctx = ctx
        self.rules = found or rules(analysis, ctx)
        self.ledger = ledger(base, tracer)
        self.storage_of: list[int] = []
        # the storages' books, by storage (the index of the layer that made it), as parallel lists (an
        # object per storage cost more to make than the books cost to keep): its bytes (0 once freed, and
        # for layers whose output is another's storage), the layers still to read it, the holds on it (the
        # caller, the loss, a stage's frame) and the layers whose autograd node keeps it (each once)
        n = len(self.results)
        self.size, self.readers, self.holds, self.savers = [0] * n, [0] * n, [0] * n, [0] * n
        self.output_bytes, self.saved_bytes, self.gradient_bytes = [0] * n, [0] * n, [0] * n
        self.needs_grad = [False] * n
        self.saved_by: list[tuple[int, ...]] = [()] * n
        self.extra_saved = [0] * n
        #: the separate tensors that make up extra_saved (the CUDA allocator rounds each), with their keys
        self.extra_parts: list[tuple[tuple[tuple, int], ...]] = [()] * n
        self.scratch = 0
        self.wired = False
        if like is None:
            self._assign_storages()
        else:
            self._books_of(like)

    def _books_of(self, other: _Run) -> None:
        """The storages and wiring of `other` as they are before it runs, for a run of the same storages and
        readers (a report's inference: `layer_rules.same_storages`); the lists a run changes are copied."""
        self.storage_of, self.item, self.output_bytes = other.storage_of, other.item, other.output_bytes
        self.size, self.readers, self.holds = list(other.size), list(other.readers), list(other.holds)
        self.runs, self.stage_ends, self.outputs = other.runs, other.stage_ends, other.outputs
        self.output_held = self.wired = True

    # ----------------------------------------------------------------------------------------
    # storages and their readers

    def _element_sizes(self) -> list[int]:
        """Bytes per element of each layer's output. Without autocast all are the activation
        dtype; under it the caller's batch is float32, casting ops (conv, linear) return half
        precision, float32 ops float32, and every other op keeps its input's dtype."""
        ctx = self.ctx
        if not ctx.amp:
            return [ctx.act_bytes] * len(self.results)
        sizes = [ctx.param_bytes]
        for result in self.results[1:]:
            rule = self.rules[result.node.index]
            if rule.casts_input:
                sizes.append(ctx.act_bytes)
            elif rule.output_float32:
                sizes.append(ctx.param_bytes)
            else:
                sizes.append(max(sizes[i] for i in result.node.inputs))
        return sizes

    def _assign_storages(self) -> None:
        self.item = item = self._element_sizes()
        storage_of, sizes, rules, batch = self.storage_of, self.size, self.rules, self.ctx.batch
        numels: dict[int, int] = {}  # by the shape's identity (the analysis shares equal layers' shapes)
        for result in self.results:
            node = result.node
            index = node.index
            if index > 0 and rules[index].aliases_input:
                storage_of.append(storage_of[node.inputs[0]])
                continue
            storage_of.append(index)
            output = result.inference.output
            numel = numels.get(id(output))
            if numel is None:
                numel = numels[id(output)] = output.numel
            size = sizes[index] = batch * numel * item[index]
            self.output_bytes[index] = size if index else 0

    def _wire(self, training: bool) -> None:
        """Who reads each storage in this run: the layers that run (at inference not the training-only
        heads), the caller (its batch) and the loss (every output the run produces)."""
        self.runs = runs = [True] * len(self.results) if training else [not r.node.training_only for r in self.results]
        readers, storage_of = self.readers, self.storage_of
        for result in self.results[1:]:
            node = result.node
            if not runs[node.index]:
                continue
            for source in node.inputs:
                readers[storage_of[source]] += 1
        self.holds[storage_of[0]] += 1  # the caller keeps its batch
        self.stage_ends = self._stage_holds()
        self.outputs = self._outputs(training)
        for index in self.outputs:
            self.holds[storage_of[index]] += 1  # the loss reads every output
        self.output_held = self.wired = True

    def _stage_holds(self) -> dict[int, list[int]]:
        """Per layer, the storages whose hold ends after it: a stage (an nn.Sequential, `stage:` in a spec)
        is called with its input, and the caller's frame keeps that tensor until the stage returns, after
        its last layer, however early its own layers are done with it (`for module in self: input =
        module(input)` rebinds the stage's name, not the caller's). A stage's input is what its layers read
        from before its first layer."""
        spans: dict[str, list[int]] = {}
        for result in self.results[1:]:
            index = result.node.index
            for stage in result.node.stages if self.runs[index] else ():
                spans.setdefault(stage, []).append(index)
        ends: dict[int, list[int]] = {}
        for members in spans.values():
            first, last = members[0], members[-1]
            held = {self.storage_of[source] for index in members for source in self.results[index].node.inputs
                    if source < first}
            for storage_id in sorted(held):
                self.holds[storage_id] += 1
                ends.setdefault(last, []).append(storage_id)
        return ends

    def _outputs(self, training: bool) -> tuple[int, ...]:
        """The outputs this run produces, the main one first (the last layer's, for a graph without heads)."""
        last = len(self.results) - 1
        found = [i for i in self.graph.output_nodes(training) if i <= last]
        return tuple(found) if found and found[0] == last else (last, *(i for i in found if i != last))

    def _release(self, storage_id: int) -> None:
        """Frees a storage that no one needs any more (once: a freed one has size 0, and freeing 0 bytes
        changes no books)."""
        size = self.size[storage_id]
        if size and not (self.readers[storage_id] or self.holds[storage_id] or self.savers[storage_id]):
            self.ledger.free(size, storage_id, ("storage", storage_id))
            self.size[storage_id] = 0

    # ----------------------------------------------------------------------------------------
    # forward

    def forward(self, training: bool) -> None:
        """The layers in order. The common case is inlined (a chain's layer, no autocast): a report runs
        this twice per layer, most of its time."""
        if not self.wired:
            self._wire(training)
        ledger, storage_of, rules, needs_grad = self.ledger, self.storage_of, self.rules, self.needs_grad
        sizes, readers, holds, savers = self.size, self.readers, self.holds, self.savers
        alloc, free, observe = ledger.alloc, ledger.free, ledger.observe
        runs, stage_ends, amp = self.runs, self.stage_ends, self.ctx.amp
        alloc(sizes[storage_of[0]], storage_of[0], ("storage", storage_of[0]))
        observe("forward", "input")
        first_saver: set[int] = set()
        cached: list[tuple[tuple, int, int]] = []
        high = self.scratch
        for result in self.results[1:]:
            node = result.node
            index = node.index
            if not runs[index]:
                continue
            rule = rules[index]
            inputs = node.inputs
            if not training:
                records = False
            elif rule.param_tensors:
                records = True
            elif len(inputs) == 1:
                records = needs_grad[inputs[0]]
            else:
                records = any(needs_grad[i] for i in inputs)
            needs_grad[index] = records
            out_id = storage_of[index]
            casts = self._casts(index, rule, records) if amp else ()
            for key, size, _ in casts:
                alloc(size, index, key)
            if out_id == index:
                alloc(sizes[out_id], out_id, ("storage", out_id))
            if records:
                self._save(index, rule, first_saver, {key for key, _, kept in casts if kept} if casts else ())
            scratch = rule.forward_scratch
            if not records and rule.unrecorded_scratch is not None:
                scratch = rule.unrecorded_scratch
            if scratch > high:
                high = scratch
            observe("forward", node.name, scratch, index)
            if casts:
                for key, size, kept in casts:
                    if not kept and key[0] == "input cast":  # a temporary of the op
                        free(size, index, key)
                cached += [(key, size, index) for key, size, kept in casts if not kept and key[0] == "weight cast"]
            for source in inputs:  # _release of each input, inline
                source_id = storage_of[source]
                readers[source_id] -= 1
                if sizes[source_id] and not (readers[source_id] or holds[source_id] or savers[source_id]):
                    free(sizes[source_id], source_id, ("storage", source_id))
                    sizes[source_id] = 0
            if sizes[out_id] and not (readers[out_id] or holds[out_id] or savers[out_id]):
                free(sizes[out_id], out_id, ("storage", out_id))
                sizes[out_id] = 0
            if index in stage_ends:
                for storage_id in stage_ends[index]:  # the stage returns to its caller
                    holds[storage_id] -= 1
                    self._release(storage_id)
        self.scratch = high
        for key, size, owner in cached:  # autocast exits: its cache of parameter copies is cleared
            free(size, owner, key)

    def _casts(self, index: int, rule: MemoryRule, records: bool) -> list[tuple[tuple, int, bool]]:
        """Under autocast, the half-precision copies a casting op (conv, linear) makes before it runs, as
        (key, bytes, kept for backward), in the order it makes them: its arguments right to left (C++
        evaluates them so under GCC): bias, weight, then its float32 inputs. Parameter copies stay in
        autocast's cache until the forward ends unless autograd keeps the weight's; an input's copy is
        kept when the op is recorded, else it dies when the op returns."""
        if not (self.ctx.amp and rule.casts_input):
            return []
        node = self.results[index].node
        half = self.ctx.act_bytes
        with_input_grad = any(self.needs_grad[i] for i in node.inputs)
        weight_key = ("saved", index, 0) if rule.extra_saved else ("saved", index, "with input grad")
        weight_kept = records and bool(rule.extra_saved or (rule.saved_with_input_grad and with_input_grad))
        casts = []
        for j in reversed(range(len(rule.param_tensors))):
            kept = j == 0 and weight_kept
            casts.append((weight_key if kept else ("weight cast", index, j), rule.param_tensors[j] * half, kept))
        for source, elements in reversed(self._float32_inputs(index, rule)):
            key = ("saved", index, "input", source) if records else ("input cast", index, source)
            casts.append((key, self.ctx.batch * elements * half, records))
        return casts

    def _save(self, index: int, rule: MemoryRule, first_saver: set[int], allocated=()) -> None:
        """What autograd keeps; `allocated`: the extras already made (autocast's copies, made before the op)."""
        inputs, storage_of = self.results[index].node.inputs, self.storage_of
        if not rule.saves_inputs:
            saved = set()
        elif len(inputs) == 1:
            saved = {storage_of[inputs[0]]}
        else:
            saved = {storage_of[i] for i in inputs}
        if rule.saves_operands:
            saved |= self._operands_kept(inputs)
        # the extras as (key, bytes), empty ones left out: they change no books (most layers have none)
        parts = ()
        if rule.extra_saved_tensors:
            parts = [(("saved", index, j), size) for j, size in enumerate(rule.extra_saved_tensors) if size]
        elif rule.extra_saved:
            parts = [(("saved", index, 0), rule.extra_saved)]
        if rule.saved_with_input_grad and self._input_needs_grad(inputs):
            parts = [*parts, (("saved", index, "with input grad"), rule.saved_with_input_grad)]
        # under autocast each op that casts a float32 input makes (and saves) its own half copy
        if self.ctx.amp:
            parts = list(parts)
            for source, elements in self._float32_inputs(index, rule):
                saved.discard(storage_of[source])
                parts.append((("saved", index, "input", source), self.ctx.batch * elements * self.ctx.act_bytes))
        extra = 0
        if parts:
            alloc = self.ledger.alloc
            for key, size in parts:
                extra += size
                if key not in allocated:
                    alloc(size, index, key)
            self.extra_saved[index] = extra
            self.extra_parts[index] = tuple(parts)
        if rule.saves_output:
            saved.add(storage_of[index])
        if not saved:
            self.saved_bytes[index] += extra
            return
        self.saved_by[index] = tuple(saved)
        savers, sizes = self.savers, self.size
        for storage_id in saved:
            savers[storage_id] += 1  # once per layer: `saved` is a set
            if storage_id not in first_saver:
                first_saver.add(storage_id)
                extra += sizes[storage_id]
        self.saved_bytes[index] += extra

    def _input_needs_grad(self, inputs: tuple[int, ...]) -> bool:
        needs_grad = self.needs_grad
        return needs_grad[inputs[0]] if len(inputs) == 1 else any(needs_grad[i] for i in inputs)

    def _operands_kept(self, sources: tuple[int, ...]) -> set[int]:
        """A product keeps each factor that another factor's gradient needs (MulBackward0)."""
        return {self.storage_of[source] for j, source in enumerate(sources)
                if any(self.needs_grad[other] for k, other in enumerate(sources) if k != j)}

    def _float32_inputs(self, index: int, rule: MemoryRule) -> list[tuple[int, int]]:
        """(source, elements) of the float32 inputs that an autocast op casts to half precision."""
        if not (self.ctx.amp and rule.casts_input):
            return []
        result = self.results[index]
        return [(source, shape.numel) for source, shape in zip(result.node.inputs, result.inputs)
                if self.item[source] > self.ctx.act_bytes]

    # ----------------------------------------------------------------------------------------
    # backward

    def backward(self, param_bytes: int) -> None:
        """The layers in reverse; `_drop`, `_unsave` and `_release` inline (the books' order unchanged)."""
        buffers: dict[int, _Grad] = {}
        ledger, storage_of, rules, needs_grad = self.ledger, self.storage_of, self.rules, self.needs_grad
        sizes, readers, holds, savers = self.size, self.readers, self.holds, self.savers
        alloc, free, observe = ledger.alloc, ledger.free, ledger.observe
        gradient_bytes, extra_parts, saved_by = self.gradient_bytes, self.extra_parts, self.saved_by
        amp, act_bytes = self.ctx.amp, self.ctx.act_bytes
        # one gradient per output, made by the caller before backward starts (it holds them too):
        # torch.autograd.backward(outputs, [ones_like(main), full_like(aux, 0.4), ...])
        seeds = []
        for index in self.outputs:
            seed = _Grad(sizes[storage_of[index]], refs=2, owner=index)
            alloc(seed.size, index, seed.key)
            buffers[index] = seed
            seeds.append(seed)
        high = self.scratch
        for result in reversed(self.results[1:]):
            node = result.node
            index = node.index
            if not needs_grad[index]:
                continue
            rule = rules[index]
            grad_out = buffers.pop(index, None)
            produced = self._input_grads(result, rule, grad_out)
            tensors = rule.param_tensors
            # under autocast a casting op computes its parameter gradients in half precision; the
            # backward of autocast's cast then makes the float32 gradient (weight first, then bias)
            halves = amp and rule.casts_input
            if tensors:
                for j, elements in enumerate(tensors):
                    if halves:
                        alloc(elements * act_bytes, index, ("half grad", index, j))
                    else:
                        alloc(elements * param_bytes, index, ("param grad", index, j))
                gradient_bytes[index] += sum(tensors) * param_bytes
            scratch = rule.backward_scratch
            if not produced and rule.param_backward_scratch is not None:
                scratch = rule.param_backward_scratch
            if scratch > high:
                high = scratch
            observe("backward", node.name, scratch, index)
            if grad_out is not None:
                grad_out.refs -= 1
                if grad_out.refs == 0:
                    free(grad_out.size, grad_out.owner, grad_out.key)
            for key, size in extra_parts[index]:  # what it saved is released
                free(size, index, key)
            for storage_id in saved_by[index]:
                savers[storage_id] -= 1
                if sizes[storage_id] and not (readers[storage_id] or holds[storage_id] or savers[storage_id]):
                    free(sizes[storage_id], storage_id, ("storage", storage_id))
                    sizes[storage_id] = 0
            if halves:
                for j, elements in enumerate(tensors):
                    alloc(elements * param_bytes, index, ("param grad", index, j))
                    observe("backward", node.name)
                    free(elements * act_bytes, index, ("half grad", index, j))
            for source, grad in produced:
                if source in buffers:
                    self._accumulate(buffers, source, grad, index)
                else:  # the first gradient of its source: `_accumulate` keeps it as it is
                    buffers[source] = grad
        self.scratch = high
        for seed in seeds:
            self._drop(seed)
        for grad in buffers.values():
            self._drop(grad)
        self.output_held = False
        for index in self.outputs:
            holds[storage_of[index]] -= 1
            self._release(storage_of[index])

    def _input_grads(self, result, rule: MemoryRule, grad_out: _Grad | None) -> list[tuple[int, _Grad]]:
        produced = []
        needs_grad = self.needs_grad
        for source, shape in zip(result.node.inputs, result.inputs):
            if not needs_grad[source]:
                continue
            if rule.grad_is_view and grad_out is not None:
                grad = grad_out
            else:
                grad = _Grad(self.ctx.batch * shape.numel * self.item[source], owner=result.node.index)
                self.ledger.alloc(grad.size, grad.owner, grad.key)
                self.gradient_bytes[result.node.index] += grad.size
            grad.refs += 1
            produced.append((source, grad))
        return produced

    def _accumulate(self, buffers: dict[int, _Grad], source: int, grad: _Grad, current: int) -> None:
        old = buffers.get(source)
        if old is None:
            buffers[source] = grad
            return
        if old.refs == 1 and old is not grad:
            self._drop(grad)  # old += grad, in place
            return
        total = _Grad(old.size, refs=1, owner=current)
        self.ledger.alloc(total.size, current, total.key)
        self.ledger.observe("backward", self.results[source].node.name)
        self._drop(old)
        self._drop(grad)
        buffers[source] = total

    def _drop(self, grad: _Grad) -> None:
        grad.refs -= 1
        if grad.refs == 0:
            self.ledger.free(grad.size, grad.owner, grad.key)

    def release_caller(self) -> None:
        """The caller drops its batch and (at inference) the network's output: the end of a step."""
        ends = [self.storage_of[0]] + ([self.storage_of[i] for i in self.outputs] if self.output_held else [])
        self.output_held = False
        for storage_id in ends:
            self.holds[storage_id] -= 1
            self._release(storage_id)

    def layers(self) -> tuple[LayerMemory, ...]:
        held = self.ledger.held_at_peak(len(self.results))
        names = [r.node.name for r in self.results]
        # one record per layer, made through its slots (cnncalc/bulk.py) by one `map`
        return tuple(map(bulk.maker(LayerMemory), names, self.output_bytes, self.saved_bytes, self.gradient_bytes,
                         held))


def training(analysis: Analysis, ctx: MemoryContext, resident: int, param_bytes: int, step_temporaries: int,
             found: tuple[MemoryRule, ...] = ()) -> Simulation:
    """One forward, backward and optimizer step on top of `resident` bytes (params, buffers,
    optimizer state). `param_bytes` sizes the parameter gradients; `found` are the rules if known."""
    return _trained(_Run(analysis, ctx, resident, found), param_bytes, step_temporaries)


def _trained(run: _Run, param_bytes: int, step_temporaries: int) -> Simulation:
    run.forward(training=True)
    saved = sum(run.saved_bytes)
    run.backward(param_bytes)
    run.ledger.observe("optimizer step", "all parameters", step_temporaries)
    return Simulation(saved, run.ledger.peak, run.layers(), max(run.scratch, step_temporaries),
                      run.ledger.peak_transient, tuple(run.ledger.timeline))


def inference(analysis: Analysis, ctx: MemoryContext, resident: int, found: tuple[MemoryRule, ...] = (),
              detail: bool = True) -> Simulation:
    """One forward in eval mode without autograd on top of `resident` bytes (params, buffers); `found`: the
    rules if known. `detail=False`: the peaks only, without the per-layer split and the timeline (what the
    memory model reads of it)."""
    run = _Run(analysis, ctx, resident, found, ledger=_Ledger if detail else _PeakLedger)
    return _inferred(run, detail)


def _inferred(run: _Run, detail: bool) -> Simulation:
    run.forward(training=False)
    if not detail:
        return Simulation(0, run.ledger.peak, (), run.scratch, run.ledger.peak_transient)
    return Simulation(0, run.ledger.peak, run.layers(), run.scratch, run.ledger.peak_transient,
                      tuple(run.ledger.timeline))


def both(analysis: Analysis, ctx: MemoryContext, infer_ctx: MemoryContext, resident: int, infer_resident: int,
         param_bytes: int, step_temporaries: int, found: tuple[MemoryRule, ...],
         infer_found: tuple[MemoryRule, ...]) -> tuple[Simulation, Simulation]:
    """`training(analysis, ctx, resident, param_bytes, step_temporaries, found)` and `inference(analysis,
    infer_ctx, infer_resident, infer_found, detail=False)`, a report's two runs: where their storages and
    readers are the same (`layer_rules.same_storages`), the inference takes the training run's instead of
    finding them again (a third of its time)."""
    train = _Run(analysis, ctx, resident, found)
    train._wire(True)
    like = train if same_storages(analysis, ctx, train.rules, infer_found) else None
    infer = _Run(analysis, infer_ctx, infer_resident, infer_found, like=like, ledger=_PeakLedger)
    return _trained(train, param_bytes, step_temporaries), _inferred(infer, detail=False)

