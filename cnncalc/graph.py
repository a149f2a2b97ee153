"""From a `Spec` tree to a flat layer graph in execution order.

Node 0 is the input. Every other node names the nodes it reads (`inputs`), so chains,
residual adds and concatenations share one representation that the analysis, the memory
model and the executor all walk front to back.

A use of a block that reads `$in` (an `InputUse`) is expanded here, when the walk reaches it: the
shapes of the nodes built so far are inferred on demand (`_Shapes`, incrementally: each node once,
and only in specs that have such uses), under the convention the graph is built for, and the use's
layers are parsed for the shape of the tensor it reads. A size that does not work out is rounded
down as the analysis does when it goes on; any other shape error before the use is raised, located
at its layer. The analysis later infers every node again from the graph: nothing here reaches it.
"""

from __future__ import annotations

from itertools import chain, cycle, islice, repeat

from cnncalc import bulk, conventions
from cnncalc.blocks import MAIN_OUTPUT, BlockUse, InputUse, MergeSpec, OutputSpec, ResidualSpec, SplitSpec
from cnncalc.conventions import Convention
from cnncalc.errors import CnnCalcError, LimitError, Location, SpecError
from cnncalc.layers import KINDS, LayerKind
from cnncalc.layers.base import Context
from cnncalc.limits import MAX_LAYERS
from cnncalc.shapes import Shape
from cnncalc.spec import Item, LayerSpec, RepeatSpec, Spec
from cnncalc.records import dataclass, replace
from cnncalc.window import NonIntegralError

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    index: int
    name: str
    #: None for the input node.
    kind: LayerKind | None
    params: dict[str, Any]
    inputs: tuple[int, ...]
    loc: Location
    #: names of the enclosing blocks, outermost first (for indented tables).
    block: tuple[str, ...] = ()
    #: what each enclosing block is: a block's name from `blocks:`, "branch" or "shortcut".
    block_kinds: tuple[str, ...] = ()
    #: the side output (auxiliary head) this layer feeds alone, by its full name; None: the main path,
    #: which every output reads from (the innermost head for a head inside a head)
    head: str | None = None
    #: inside a training-only head: left out of inference
    training_only: bool = False
    #: the stages (`stage:` of the block uses around it, scoped like names), outermost first: PyTorch runs
    #: each as one nn.Sequential, whose input its caller holds until the stage returns
    stages: tuple[str, ...] = ()

    @property
    def type(self) -> str:
        return "input" if self.kind is None else self.kind.name

    @property
    def label(self) -> str:
        return f"{self.name} ({self.type})"


@dataclass(frozen=True, slots=True)
class Output:
    """A named output of the network: the tensor of node `node` (the main one is the last node)."""

    name: str
    node: int
    training_only: bool
    loc: Location


@dataclass(frozen=True, slots=True)
class Graph:
    name: str
    input: Shape
    nodes: tuple[Node, ...]
    path: str = "<spec>"
    convention: str | None = None
    #: the outputs that side branches end in (`output:` in a spec), in execution order
    side_outputs: tuple[Output, ...] = ()

    @property
    def outputs(self) -> tuple[Output, ...]:
        """Every output, the main one (the last node, named "main") first."""
        last = self.nodes[-1]
        return (Output(MAIN_OUTPUT, last.index, False, last.loc), *self.side_outputs)

    def output_nodes(self, training: bool = True) -> tuple[int, ...]:
        """The node indices of the outputs a run produces: at inference, training-only heads are left out."""
        return tuple(o.node for o in self.outputs if training or not o.training_only)


#: from how many layers records are made through `bulk.maker`: making the maker (a class and a renamed
#: template, ~0.1 M instructions) costs more than it saves on a smaller graph (~1.5 us a record: ResNet-50's
#: 175 layers save ~1.5 M instructions, VGG-16's 38 about none)
BULK_FROM = 100

#: the settings of the merges a construct makes (none): one dict for all, as equal layers share theirs
#: (`spec.SpecBuilder._shared`), so that the analysis finds equal merges on equal inputs by identity
_NO_SETTINGS: dict[str, Any] = {}


def _size(item: Item) -> int:
    if isinstance(item, RepeatSpec):
        return item.times * count_layers(item.body)
    if isinstance(item, ResidualSpec):
        return count_layers(item.body) + count_layers(item.shortcut) + 1
    if isinstance(item, MergeSpec):
        return sum(count_layers(branch) for branch in item.branches) + 1
    if isinstance(item, SplitSpec):
        return sum(count_layers(branch) + 1 for branch in item.branches) + 1
    if isinstance(item, (BlockUse, OutputSpec)):
        return count_layers(item.body)
    return 1  # a layer; a use of a block that reads $in, until the walk expands it


def count_layers(items: tuple[Item, ...]) -> int:
    total = 0
    for item in items:
        total += _size(item)
        if total > MAX_LAYERS:
            raise LimitError(
                f"the spec expands to more than {MAX_LAYERS:,} layers",
                item.loc,
                hint="lower the repeat counts",
            )
    return total


@dataclass(frozen=True, slots=True)
class _Scope:
    """Where a layer sits: the enclosing blocks' names and kinds, and the repeat suffix."""

    path: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    suffix: str = ""

    def enter(self, name: str, kind: str) -> _Scope:
        return _Scope((*self.path, name), (*self.kinds, kind), "")

    def full(self, local: str) -> str:
        return "/".join((*self.path, local))


class _Shapes:
    """The output shape of each node built so far, inferred on demand, front to back, each node once."""

    def __init__(self, nodes: list[Node], input: Shape, convention: Convention):
        self.nodes = nodes
        self.shapes = [input]
        self.convention = convention
        self.floor = replace(convention, conv_rounding="floor", pool_rounding="floor")

    def of(self, index: int) -> Shape:
        while len(self.shapes) <= index:
            self.shapes.append(self._infer(self.nodes[len(self.shapes)]))
        return self.shapes[index]

    def _infer(self, node: Node) -> Shape:
        inputs = tuple(self.shapes[i] for i in node.inputs)
        names = tuple(self.nodes[i].name for i in node.inputs)
        try:
            try:
                return node.kind.infer(node.params, inputs, Context(self.convention, node.label, names)).output
            except NonIntegralError:
                # the analysis reports it and goes on with the size rounded down: so does a later `$in`
                return node.kind.infer(node.params, inputs, Context(self.floor, node.label, names)).output
        except CnnCalcError as error:
            if error.loc.line == 0:
                error.loc = node.loc
            raise


class _Builder:
    """Walks the spec tree, naming every layer inside its scope (`inception3a/branch2/conv1`)
    and wiring each node to the node(s) it reads."""

    def __init__(self, spec: Spec, convention: Convention, layers: int = BULK_FROM):
        self.nodes: list[Node] = [Node(0, "input", None, {}, (), spec.input_loc)]
        #: per scope: how many unnamed things of each kind it holds so far (conv1, conv2, branch1 ...).
        self.counters: dict[tuple[str, ...], dict[str, int]] = {}
        self.names: dict[str, Location] = {"input": spec.input_loc}
        self.side_outputs: list[Output] = []
        #: the head being walked (its full name) and whether it or one around it is training-only
        self.head: str | None = None
        self.training_only = False
        #: the blocks whose uses the walk is inside, outermost first (a use of one of them inside is a loop)
        self.enclosing: list[str] = []
        #: the stages the walk is inside, outermost first (Node.stages): one tuple shared by their nodes
        self.stage_path: tuple[str, ...] = ()
        self.shapes = _Shapes(self.nodes, spec.input, convention)
        #: `Node(...)` through its slots (cnncalc/bulk.py) for a large graph: a chain's layers are made here a
        #: million times (`layers`: how many the spec has before the uses that read `$in` expand)
        self.make_node = bulk.maker(Node) if layers >= BULK_FROM else Node

    def _counted(self, scope: _Scope, word: str) -> str:
        counters = self.counters.setdefault(scope.path, {})
        counters[word] = counters.get(word, 0) + 1
        return f"{word}{counters[word]}"

    def _local(self, given: str | None, word: str, scope: _Scope) -> str:
        return given + scope.suffix if given is not None else self._counted(scope, word)

    def _claim(self, name: str, loc: Location) -> str:
        if name in self.names:
            first = self.names[name]
            raise SpecError(
                f"two layers are named '{name}' (the first at line {first.line})",
                loc,
                hint="layer names must be unique; rename one (inside `repeat:` a number is appended)",
                code="CNN106",
            )
        self.names[name] = loc
        return name

    def _node(self, local: str, kind: LayerKind, params: dict, inputs: tuple[int, ...], loc: Location,
              scope: _Scope) -> int:
        index = len(self.nodes)
        name = self._claim(scope.full(local), loc)
        self.nodes.append(Node(index, name, kind, params, inputs, loc, scope.path, scope.kinds, self.head,
                               self.training_only, self.stage_path))
        return index

    def add(self, layer: LayerSpec, current: int, scope: _Scope) -> int:
        """One layer reading node `current` (`_node` inlined: a million-layer chain spends most of its
        graph time here)."""
        given, kind = layer.name, layer.kind
        path = scope.path
        if given is not None:
            local = given + scope.suffix
        else:  # `_counted`, inlined
            counters = self.counters.get(path)
            if counters is None:
                counters = self.counters[path] = {}
            word = kind.name
            number = counters[word] = counters.get(word, 0) + 1
            local = f"{word}{number}"
        name = "/".join((*path, local)) if path else local
        if name in self.names:
            self._claim(name, layer.loc)  # raises: two layers with one name
        self.names[name] = layer.loc
        nodes = self.nodes
        index = len(nodes)
        nodes.append(self.make_node(index, name, kind, layer.params, (current,), layer.loc, path, scope.kinds,
                                    self.head, self.training_only, self.stage_path))
        return index

    def unnamed_repeat(self, item: RepeatSpec, current: int, scope: _Scope) -> int:
        """A repeat of unnamed layers, in one scope (a million-layer chain is one of these, or a thousand):
        its names made a column at a time and its nodes made by one `map`, in C; `_unnamed_loop` where
        a name could be taken twice (it raises the error at its layer)."""
        names = self._repeat_names(item, scope)
        if names is None:
            return self._unnamed_loop(item, current, scope)
        body, total = item.body, len(names)
        first = len(self.nodes)

        def cycled(values):
            return islice(cycle(values), total)

        locs = [layer.loc for layer in body]
        self.names.update(zip(names, cycled(locs)))
        inputs = chain(((current,),), zip(range(first, first + total - 1)))  # each node reads the one before
        self.nodes.extend(map(self.make_node, range(first, first + total), names,
                              cycled([layer.kind for layer in body]), cycled([layer.params for layer in body]),
                              inputs, cycled(locs), repeat(scope.path), repeat(scope.kinds), repeat(self.head),
                              repeat(self.training_only), repeat(self.stage_path)))
        counters = self.counters.setdefault(scope.path, {})
        for layer in body:
            counters[layer.kind.name] = counters.get(layer.kind.name, 0) + item.times
        return first + total - 1

    def _repeat_names(self, item: RepeatSpec, scope: _Scope) -> list[str] | None:
        """The names of a repeat of unnamed layers, in order: each body position's a column (its word and
        every count-th number); None when two of them could be one name (a word that is another word and
        digits, `conv` and `conv1d`; a name already taken), left to the layer-by-layer walk."""
        words = [layer.kind.name for layer in item.body]
        if any(a != b and b.startswith(a) and b[len(a):len(a) + 1].isdigit() for a in words for b in words):
            return None
        counters = self.counters.get(scope.path, {})
        prefix = "/".join(scope.path) + "/" if scope.path else ""
        per_pass = {word: words.count(word) for word in words}
        seen: dict[str, int] = {}
        columns = []
        for word in words:
            start = counters.get(word, 0) + seen.get(word, 0) + 1
            seen[word] = seen.get(word, 0) + 1
            step = per_pass[word]
            columns.append(map((prefix + word).__add__, map(str, range(start, start + step * item.times, step))))
        names = list(columns[0]) if len(columns) == 1 else list(chain.from_iterable(zip(*columns)))
        return names if self.names.keys().isdisjoint(names) else None

    def _unnamed_loop(self, item: RepeatSpec, current: int, scope: _Scope) -> int:
        """`add` for each layer of a repeat of unnamed layers, with what they share looked up once."""
        path, kinds = scope.path, scope.kinds
        counters = self.counters.get(path)
        if counters is None:
            counters = self.counters[path] = {}
        names, nodes, make = self.names, self.nodes, self.make_node
        head, training_only, stages = self.head, self.training_only, self.stage_path
        prefix = "/".join(path) + "/" if path else ""
        body = [(layer.kind, layer.kind.name, layer.params, layer.loc) for layer in item.body]
        for _ in range(item.times):
            for kind, word, params, loc in body:
                number = counters[word] = counters.get(word, 0) + 1
                name = f"{prefix}{word}{number}"
                if name in names:
                    self._claim(name, loc)  # raises: two layers with one name
                names[name] = loc
                index = len(nodes)
                nodes.append(make(index, name, kind, params, (current,), loc, path, kinds, head, training_only, stages))
                current = index
        return current

    def residual(self, item: ResidualSpec, current: int, scope: _Scope) -> int:
        main = self.walk(item.body, current, scope)
        short = current
        if item.shortcut:
            short = self.walk(item.shortcut, current, scope.enter(self._counted(scope, "shortcut"), "shortcut"))
        local = self._local(item.name, "add", scope)
        return self._node(local, KINDS["add"], _NO_SETTINGS, (main, short), item.loc, scope)

    def merge(self, item: MergeSpec, current: int, scope: _Scope) -> int:
        ends = tuple(
            self.walk(branch, current, scope.enter(self._counted(scope, "branch"), "branch"))
            for branch in item.branches
        )
        local = self._local(item.name, item.kind, scope)
        return self._node(local, KINDS[item.kind], _NO_SETTINGS, ends, item.loc, scope)

    def split(self, item: SplitSpec, current: int, scope: _Scope) -> int:
        """Each branch reads its own channel_slice of the input (a view), inside the branch's scope."""
        ends = []
        for index, branch in enumerate(item.branches):
            inner = scope.enter(self._counted(scope, "branch"), "branch")
            part = self._node(self._counted(inner, "channel_slice"), KINDS["channel_slice"],
                              item.slice_params(index), (current,), item.loc, inner)
            ends.append(self.walk(branch, part, inner))
        local = self._local(item.name, "split", scope)
        return self._node(local, KINDS[item.merge], _NO_SETTINGS, tuple(ends), item.loc, scope)

    def use(self, item: BlockUse, current: int, scope: _Scope) -> int:
        local = self._local(item.name, item.block, scope)
        self._claim(scope.full(local), item.loc)
        return self._inside(item.block, item.body, current, scope.enter(local, item.block), self._stage(item, scope))

    def input_use(self, item: InputUse, current: int, scope: _Scope) -> int:
        """A use of a block that reads `$in`: its layers, parsed now for the shape of node `current`."""
        if len(self.nodes) > MAX_LAYERS:
            raise LimitError(f"the spec expands to more than {MAX_LAYERS:,} layers", item.loc,
                             hint="lower the repeat counts or the uses of large blocks")
        local = self._local(item.name, item.block, scope)
        self._claim(scope.full(local), item.loc)
        body = item.expand(item, self.shapes.of(current), tuple(self.enclosing))
        return self._inside(item.block, body, current, scope.enter(local, item.block), self._stage(item, scope))

    @staticmethod
    def _stage(item: BlockUse | InputUse, scope: _Scope) -> str | None:
        """The use's stage, scoped as a name is (two uses of a block that holds a stage hold two)."""
        return None if item.stage is None else scope.full(item.stage + scope.suffix)

    def _inside(self, block: str, body: tuple[Item, ...], current: int, scope: _Scope, stage: str | None = None) -> int:
        self.enclosing.append(block)
        outer = self.stage_path
        if stage is not None:
            self.stage_path = (*outer, stage)
        try:
            return self.walk(body, current, scope)
        finally:
            self.enclosing.pop()
            self.stage_path = outer

    def output(self, item: OutputSpec, current: int, scope: _Scope) -> int:
        """The head's layers read `current` and end in the output; the main path goes on from `current`."""
        local = item.name + scope.suffix
        name = self._claim(scope.full(local), item.loc)
        outer = self.head, self.training_only
        self.head, self.training_only = name, self.training_only or item.training_only
        try:
            end = self.walk(item.body, current, scope.enter(local, output_kind(item.training_only)))
        finally:
            self.head, self.training_only = outer
        self.side_outputs.append(Output(name, end, self.training_only or item.training_only, item.loc))
        return current

    def walk(self, items: tuple[Item, ...], current: int, scope: _Scope) -> int:
        """Append the nodes of `items` reading from node `current`; return the last one's index."""
        for item in items:
            if type(item) is LayerSpec:  # the common item first
                current = self.add(item, current, scope)
            elif isinstance(item, RepeatSpec):
                if _unnamed_layers(item.body):  # no name takes the repeat's suffix: one scope serves every pass
                    current = self.unnamed_repeat(item, current, scope)
                    continue
                for i in range(1, item.times + 1):
                    current = self.walk(item.body, current, _Scope(scope.path, scope.kinds, f"{scope.suffix}_{i}"))
            elif isinstance(item, ResidualSpec):
                current = self.residual(item, current, scope)
            elif isinstance(item, MergeSpec):
                current = self.merge(item, current, scope)
            elif isinstance(item, SplitSpec):
                current = self.split(item, current, scope)
            elif isinstance(item, BlockUse):
                current = self.use(item, current, scope)
            elif isinstance(item, OutputSpec):
                current = self.output(item, current, scope)
            elif isinstance(item, InputUse):
                current = self.input_use(item, current, scope)
            else:
                current = self.add(item, current, scope)
        return current


def _unnamed_layers(body: tuple[Item, ...]) -> bool:
    """Only layers without names: a repeat of them needs no scope per pass (the suffix `_3` is only
    appended to given names; the others are counted per enclosing block, whatever the pass)."""
    for item in body:
        if type(item) is not LayerSpec or item.name is not None:
            return False
    return True


def build(spec: Spec, convention: Convention | None = None) -> Graph:
    """The graph of `spec`. `convention` is the one its shapes will be analysed under (default: the spec's
    own, or strict): the uses of blocks that read `$in` see their input's shape under it."""
    layers = count_layers(spec.items)
    convention = convention or conventions.get(spec.convention or conventions.DEFAULT.name)
    builder = _Builder(spec, convention, layers)
    end = builder.walk(spec.items, 0, _Scope())
    _main_path_ends_last(builder, end)
    return Graph(spec.name, spec.input, tuple(builder.nodes), spec.path, spec.convention,
                 tuple(builder.side_outputs))


def output_kind(training_only: bool) -> str:
    """What a head's scope is called in tables and diagrams (its `block_kinds` entry)."""
    return "training-only output" if training_only else "output"


def _main_path_ends_last(builder: _Builder, end: int) -> None:
    """Every stage reads the network's output as its last node: a side output cannot end the network."""
    if end == len(builder.nodes) - 1 or not builder.side_outputs:
        return
    last = builder.side_outputs[-1]
    raise SpecError(f"the side output '{last.name}' ends the network: the main path has no layer after it",
                    last.loc, code="CNN105",
                    hint="put the output where its head branches off, before the main path's next layers")
