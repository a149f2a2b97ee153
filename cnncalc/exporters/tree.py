"""The spec's structure (repeats, blocks, residuals, merges) over the analysed layers: the graph is
flat, but readable code keeps a block as a class and a repeat as a loop. The walk mirrors the
graph builder's (cnncalc/graph.py), which appends one node per layer in this same order."""

from __future__ import annotations

from cnncalc.records import dataclass, replace

from cnncalc.analysis import Analysis, LayerResult
from cnncalc.blocks import BlockUse, InputUse, MergeSpec, OutputSpec, ResidualSpec, SplitSpec
from cnncalc.exporters import ExportError
from cnncalc.layers.code import NoTorchCode, TorchCode
from cnncalc.spec import LayerSpec, RepeatSpec, Spec


@dataclass(frozen=True, slots=True)
class Leaf:
    """One layer: its analysed result and its PyTorch code."""

    result: LayerResult
    code: TorchCode

    @property
    def name(self) -> str:
        return self.result.node.name


@dataclass(frozen=True, slots=True)
class Chain:
    parts: tuple


@dataclass(frozen=True, slots=True)
class Residual:
    body: Chain
    shortcut: Chain
    add: Leaf


@dataclass(frozen=True, slots=True)
class Merge:
    branches: tuple[Chain, ...]
    merge: Leaf
    #: a `split:`: each branch starts with the channel_slice of the input that feeds it
    split: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    """One use of a block definition: its scope path (the layer names' prefix) and its layers."""

    definition: str
    path: tuple[str, ...]
    body: Chain


@dataclass(frozen=True, slots=True)
class Repeat:
    iterations: tuple[Chain, ...]


@dataclass(frozen=True, slots=True)
class Head:
    """A side output (`output:`, an auxiliary head): its layers read the current tensor and end in
    the named output; the main path goes on from the tensor the head read."""

    name: str
    body: Chain
    training_only: bool


class _Walker:
    def __init__(self, analysis: Analysis, codes: dict[int, TorchCode]):
        self.all_results = analysis.results
        self.results = analysis.results[1:]
        self.codes = codes
        self.position = 0
        #: the side outputs in the order the graph builder finished them (an inner head first)
        self.outputs = analysis.graph.side_outputs
        self.heads_done = 0
        #: how many block uses the walk is inside
        self.blocks = 0

    def leaf(self) -> Leaf:
        result = self.results[self.position]
        self.position += 1
        return Leaf(result, self.codes[result.node.index])

    def chain(self, items, depth: int) -> Chain:
        return Chain(tuple(part for part in (self.item(item, depth) for item in items) if part is not None))

    def item(self, item, depth: int):
        if isinstance(item, RepeatSpec):
            return Repeat(tuple(self.chain(item.body, depth) for _ in range(item.times)))
        if isinstance(item, ResidualSpec):
            body = self.chain(item.body, depth)
            return Residual(body, self.chain(item.shortcut, depth + 1), self.leaf())
        if isinstance(item, MergeSpec):
            branches = tuple(self.chain(branch, depth + 1) for branch in item.branches)
            return Merge(branches, self.leaf())
        if isinstance(item, SplitSpec):
            # each branch starts with the channel_slice the graph gives it, inside the branch's scope
            branches = tuple(Chain((self.leaf(), *self.chain(branch, depth + 1).parts)) for branch in item.branches)
            return Merge(branches, self.leaf(), split=True)
        if isinstance(item, (BlockUse, InputUse)):
            start = self.position
            self.blocks += 1
            try:
                body = self.chain(self._body(item), depth + 1)
            finally:
                self.blocks -= 1
            if not body.parts:
                return None
            return Block(item.block, self.results[start].node.block[:depth + 1], body)
        if isinstance(item, OutputSpec):
            return self.head(item, depth)
        if not isinstance(item, LayerSpec):
            raise TypeError(f"the exporter does not know the construct {type(item).__name__}")
        return self.leaf()

    def head(self, item: OutputSpec, depth: int) -> Head:
        if self.blocks:
            # a block's module returns one tensor; its heads would have to travel out of every use
            raise ExportError(f"the side output '{item.name}' is inside a block: the exporter writes side "
                              "outputs of the network's own layers only", item.loc,
                              hint="move the `output:` out of the block, after the block's use", code="CNN610")
        body = self.chain(item.body, depth + 1)
        output = self.outputs[self.heads_done]
        self.heads_done += 1
        return Head(output.name, body, output.training_only)

    def _body(self, item) -> tuple:
        """A use's layers; a use of a block that reads `$in` expanded as the graph builder expanded it,
        for the shape its first layer reads (the use's input)."""
        if isinstance(item, BlockUse):
            return item.body
        first = self.results[self.position].node
        return item.expand(item, self.all_results[first.inputs[0]].output, ())


def codes_of(analysis: Analysis) -> dict[int, TorchCode]:
    """Every layer's PyTorch code; a layer without one is a located error (CNN610), never skipped."""
    codes: dict[int, TorchCode] = {}
    for result in analysis.results[1:]:
        node = result.node
        try:
            codes[node.index] = node.kind.torch_code(node.params, result.inputs, result.inference)
        except NoTorchCode as exc:
            raise ExportError(f"{node.label}: cannot be written as PyTorch code: {exc}", node.loc,
                              hint="`cnncalc export` writes only layers PyTorch has; change this layer or "
                              "export a spec without it", code="CNN610") from None
    return _rows_follow_flattens(analysis, codes)


def _rows_follow_flattens(analysis: Analysis, codes: dict[int, TorchCode]) -> dict[int, TorchCode]:
    """A matrix reading a flattened feature map (through element-wise layers) gets the map's dims,
    so that the loader reorders the executor's channels-last rows as PyTorch's flatten orders them."""
    flattened: dict[int, tuple[int, ...]] = {}
    for result in analysis.results[1:]:
        node, code = result.node, codes[result.node.index]
        source = flattened.get(node.inputs[0], ()) if len(node.inputs) == 1 else ()
        if code.flattens:
            flattened[node.index] = code.flattens
        elif source and result.output == result.inputs[0] and not code.weights:
            flattened[node.index] = source
        elif source and any(w.order == (1, 0) for w in code.weights):
            loads = tuple(replace(w, rows=source) if w.order == (1, 0) and not w.rows else w for w in code.weights)
            codes[node.index] = replace(code, weights=loads)
        elif source or any(i in flattened for i in node.inputs):
            raise ExportError(f"{node.label}: reads a flattened feature map whose order PyTorch and the "
                              "executor disagree on", node.loc, hint="flatten after the merge", code="CNN610")
    return codes


def build(spec: Spec, analysis: Analysis) -> Chain:
    """The spec's items over the analysis' layers, each with its code."""
    walker = _Walker(analysis, codes_of(analysis))
    top = walker.chain(spec.items, 0)
    assert walker.position == len(walker.results), "the spec and its analysis disagree"
    return top


# -- walks over a chain ---------------------------------------------------------------------------


def leaves(chain: Chain):
    """Every layer of a chain, in order."""
    for part in chain.parts:
        if isinstance(part, Leaf):
            yield part
        elif isinstance(part, Block):
            yield from leaves(part.body)
        elif isinstance(part, Residual):
            yield from leaves(part.body)
            yield from leaves(part.shortcut)
            yield part.add
        elif isinstance(part, Merge):
            for branch in part.branches:
                yield from leaves(branch)
            yield part.merge
        elif isinstance(part, Repeat):
            for iteration in part.iterations:
                yield from leaves(iteration)
        elif isinstance(part, Head):
            yield from leaves(part.body)


def module_parts(chain: Chain) -> list:
    """The parts of a chain that are attributes (layers with a module, blocks), in order."""
    found: list = []
    for part in chain.parts:
        if isinstance(part, Leaf):
            if part.code.module is not None:
                found.append(part)
        elif isinstance(part, Block):
            found.append(part)
        elif isinstance(part, Residual):
            found += module_parts(part.body) + module_parts(part.shortcut)
        elif isinstance(part, Merge):
            for branch in part.branches:
                found += module_parts(branch)
        elif isinstance(part, Repeat):
            for iteration in part.iterations:
                found += module_parts(iteration)
        elif isinstance(part, Head):
            found += module_parts(part.body)
    return found


def written_out(chain: Chain) -> bool:
    """Whether an iteration holds a repeat of its own or a side output (each iteration's head is an
    output of its own): then the iterations are written out, not looped over."""
    for part in chain.parts:
        if isinstance(part, (Repeat, Head)):
            return True
        if isinstance(part, Residual) and (written_out(part.body) or written_out(part.shortcut)):
            return True
        if isinstance(part, Merge) and any(written_out(b) for b in part.branches):
            return True
    return False
