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

Each layer kind says what it saves, aliases and allocates (`LayerKind.memory_rule`); this module
only keeps the books. Sizes are bytes for the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cnncalc.analysis import Analysis
from cnncalc.layers.base import MemoryContext, MemoryRule


@dataclass(frozen=True, slots=True)
class Peak:
    """The most bytes alive at once, and when: phase ("forward", "backward", "optimizer step") and layer."""

    bytes: int
    phase: str
    layer: str


@dataclass(frozen=True, slots=True)
class LayerMemory:
    name: str
    #: the new storage this layer's output needs (0 when it aliases its input)
    output_bytes: int
    #: bytes autograd keeps for backward that this layer adds: storages it is the first to save, plus
    #: its own extras (indices, masks, statistics). The column sums to the network's saved bytes.
    saved_bytes: int
    #: gradient buffers its backward allocates: input gradients that are not views, parameter gradients
    gradient_bytes: int


@dataclass(frozen=True, slots=True)
class Simulation:
    saved_bytes: int
    peak: Peak
    layers: tuple[LayerMemory, ...]
    #: the largest transient kernel scratch of any single op
    scratch_bytes: int
    #: every observed step in order: (phase, layer, live bytes, transient scratch on top)
    timeline: tuple[tuple[str, str, int, int], ...] = ()


@dataclass
class _Grad:
    """One gradient tensor's storage; `refs` counts the autograd buffers and callers holding it."""

    size: int
    refs: int = 0


@dataclass
class _Storage:
    size: int
    readers: int = 0
    holds: int = 0
    savers: set[int] = field(default_factory=set)

    @property
    def dead(self) -> bool:
        return not (self.readers or self.holds or self.savers)


class _Ledger:
    """Running total of live bytes and the highest point it reached."""

    def __init__(self, base: int):
        self.live = base
        self.peak = Peak(base, "start", "")
        self.timeline: list[tuple[str, str, int, int]] = []

    def alloc(self, size: int) -> None:
        self.live += size

    def free(self, size: int) -> None:
        self.live -= size

    def observe(self, phase: str, layer: str, transient: int = 0) -> None:
        self.timeline.append((phase, layer, self.live, transient))
        if self.live + transient > self.peak.bytes:
            self.peak = Peak(self.live + transient, phase, layer)


def rules(analysis: Analysis, ctx: MemoryContext) -> tuple[MemoryRule, ...]:
    """Each layer's memory rule for this batch and mode; index i is graph node i (the input's is empty)."""
    found = [MemoryRule()]
    for result in analysis.results[1:]:
        node = result.node
        rule = node.kind.memory_rule(node.params, result.inputs, result.output, ctx)
        found.append(_with_counted_params(rule, result.inference.params, result.inference.buffers, ctx))
    return tuple(found)


def _with_counted_params(rule: MemoryRule, params: int, buffers: int, ctx: MemoryContext) -> MemoryRule:
    """A kind that does not list its parameter tensors still has the parameters it counts: one tensor."""
    if params and not rule.param_tensors:
        rule = replace(rule, param_tensors=(params,))
    if buffers and not rule.buffer_bytes:
        rule = replace(rule, buffer_bytes=buffers * ctx.param_bytes)
    return rule


class _Run:
    def __init__(self, analysis: Analysis, ctx: MemoryContext, base: int, found: tuple[MemoryRule, ...] = ()):
        self.results = analysis.results
        self.ctx = ctx
        self.rules = found or rules(analysis, ctx)
        self.ledger = _Ledger(base)
        self.storage_of: list[int] = []
        self.storages: dict[int, _Storage] = {}
        self.output_bytes = [0] * len(self.results)
        self.saved_bytes = [0] * len(self.results)
        self.gradient_bytes = [0] * len(self.results)
        self.needs_grad = [False] * len(self.results)
        self.saved_by: list[tuple[int, ...]] = [()] * len(self.results)
        self.extra_saved = [0] * len(self.results)
        self.scratch = 0
        self._assign_storages()

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
        self.item = self._element_sizes()
        for result in self.results:
            index = result.node.index
            rule = self.rules[index]
            if index > 0 and rule.aliases_input:
                self.storage_of.append(self.storage_of[result.node.inputs[0]])
                continue
            self.storage_of.append(index)
            size = self.ctx.batch * result.output.numel * self.item[index]
            self.storages[index] = _Storage(size)
            self.output_bytes[index] = size if index else 0
        for result in self.results[1:]:
            for source in result.node.inputs:
                self.storages[self.storage_of[source]].readers += 1
        self.storages[self.storage_of[0]].holds += 1  # the caller keeps its batch
        self.storages[self.storage_of[-1]].holds += 1  # the loss reads the network output

    def _release(self, storage_id: int) -> None:
        storage = self.storages[storage_id]
        if storage.dead:
            self.ledger.free(storage.size)
            storage.size = 0

    # ----------------------------------------------------------------------------------------
    # forward

    def forward(self, training: bool) -> None:
        self.ledger.alloc(self.storages[self.storage_of[0]].size)
        self.ledger.observe("forward", "input")
        first_saver: set[int] = set()
        for result in self.results[1:]:
            node = result.node
            rule = self.rules[node.index]
            records = training and (any(self.needs_grad[i] for i in node.inputs) or bool(rule.param_tensors))
            self.needs_grad[node.index] = records
            out_id = self.storage_of[node.index]
            if out_id == node.index:
                self.ledger.alloc(self.storages[out_id].size)
            if records:
                self._save(node.index, rule, first_saver)
            scratch = rule.forward_scratch
            if not records and rule.unrecorded_scratch is not None:
                scratch = rule.unrecorded_scratch
            self.scratch = max(self.scratch, scratch)
            self.ledger.observe("forward", node.name, scratch)
            for source in node.inputs:
                source_id = self.storage_of[source]
                self.storages[source_id].readers -= 1
                self._release(source_id)
            self._release(out_id)

    def _save(self, index: int, rule: MemoryRule, first_saver: set[int]) -> None:
        node = self.results[index].node
        saved = set()
        if rule.saves_inputs:
            saved |= {self.storage_of[i] for i in node.inputs}
        extra = rule.extra_saved
        if any(self.needs_grad[i] for i in node.inputs):
            extra += rule.saved_with_input_grad
        # under autocast each op that casts a float32 input makes (and saves) its own half copy
        for source, elements in self._float32_inputs(index, rule):
            saved.discard(self.storage_of[source])
            extra += self.ctx.batch * elements * self.ctx.act_bytes
        self.extra_saved[index] = extra
        if rule.saves_output:
            saved.add(self.storage_of[index])
        self.saved_by[index] = tuple(saved)
        for storage_id in saved:
            self.storages[storage_id].savers.add(index)
            if storage_id not in first_saver:
                first_saver.add(storage_id)
                self.saved_bytes[index] += self.storages[storage_id].size
        self.ledger.alloc(extra)
        self.saved_bytes[index] += extra

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
        buffers: dict[int, _Grad] = {}
        last = self.results[-1].node.index
        seed = _Grad(self.storages[self.storage_of[last]].size, refs=2)  # the caller holds it too
        self.ledger.alloc(seed.size)
        buffers[last] = seed
        for result in reversed(self.results[1:]):
            node = result.node
            if not self.needs_grad[node.index]:
                continue
            rule = self.rules[node.index]
            grad_out = buffers.pop(node.index, None)
            produced = self._input_grads(result, rule, grad_out)
            params = sum(rule.param_tensors) * param_bytes
            self.ledger.alloc(params)
            self.gradient_bytes[node.index] += params
            scratch = rule.backward_scratch
            if not produced and rule.param_backward_scratch is not None:
                scratch = rule.param_backward_scratch
            self.scratch = max(self.scratch, scratch)
            self.ledger.observe("backward", node.name, scratch)
            if grad_out is not None:
                self._drop(grad_out)
            self._unsave(node.index, rule)
            for source, grad in produced:
                self._accumulate(buffers, source, grad)
        self._drop(seed)
        for grad in buffers.values():
            self._drop(grad)
        self.storages[self.storage_of[last]].holds -= 1
        self._release(self.storage_of[last])

    def _input_grads(self, result, rule: MemoryRule, grad_out: _Grad | None) -> list[tuple[int, _Grad]]:
        produced = []
        for source, shape in zip(result.node.inputs, result.inputs):
            if not self.needs_grad[source]:
                continue
            if rule.grad_is_view and grad_out is not None:
                grad = grad_out
            else:
                grad = _Grad(self.ctx.batch * shape.numel * self.item[source])
                self.ledger.alloc(grad.size)
                self.gradient_bytes[result.node.index] += grad.size
            grad.refs += 1
            produced.append((source, grad))
        return produced

    def _accumulate(self, buffers: dict[int, _Grad], source: int, grad: _Grad) -> None:
        old = buffers.get(source)
        if old is None:
            buffers[source] = grad
            return
        if old.refs == 1 and old is not grad:
            self._drop(grad)  # old += grad, in place
            return
        total = _Grad(old.size, refs=1)
        self.ledger.alloc(total.size)
        self.ledger.observe("backward", self.results[source].node.name)
        self._drop(old)
        self._drop(grad)
        buffers[source] = total

    def _drop(self, grad: _Grad) -> None:
        grad.refs -= 1
        if grad.refs == 0:
            self.ledger.free(grad.size)

    def _unsave(self, index: int, rule: MemoryRule) -> None:
        self.ledger.free(self.extra_saved[index])
        for storage_id in self.saved_by[index]:
            self.storages[storage_id].savers.discard(index)
            self._release(storage_id)

    def layers(self) -> tuple[LayerMemory, ...]:
        return tuple(
            LayerMemory(r.node.name, self.output_bytes[i], self.saved_bytes[i], self.gradient_bytes[i])
            for i, r in enumerate(self.results)
        )


def training(analysis: Analysis, ctx: MemoryContext, resident: int, param_bytes: int, step_temporaries: int,
             found: tuple[MemoryRule, ...] = ()) -> Simulation:
    """One forward, backward and optimizer step on top of `resident` bytes (params, buffers,
    optimizer state). `param_bytes` sizes the parameter gradients; `found` are the rules if known."""
    run = _Run(analysis, ctx, resident, found)
    run.forward(training=True)
    saved = sum(run.saved_bytes)
    run.backward(param_bytes)
    run.ledger.observe("optimizer step", "all parameters", step_temporaries)
    return Simulation(saved, run.ledger.peak, run.layers(), max(run.scratch, step_temporaries),
                      tuple(run.ledger.timeline))


def inference(analysis: Analysis, ctx: MemoryContext, resident: int) -> Simulation:
    """One forward in eval mode without autograd on top of `resident` bytes (params, buffers)."""
    run = _Run(analysis, ctx, resident)
    run.forward(training=False)
    return Simulation(0, run.ledger.peak, run.layers(), run.scratch, tuple(run.ledger.timeline))
