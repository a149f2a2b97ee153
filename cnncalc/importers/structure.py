"""The layer graph of an imported model as the spec's nested constructs.

First the folds that make the graph read like a spec: a zero Pad read only by a convolution
becomes its padding, a flatten read only by an fc goes (fc flattens), and DenseNet's growing
concatenations (cat(x0), cat(x0, x1), cat(x0, x1, x2) ...) become nested pairs
(cat(cat(x0, x1), x2)), which is what `concat: [[], [...]]` repeated says.

Then the graph is written from its output back to its input: a layer read by one chain is an item;
a merge (add, concat) is a construct whose branches each run from the merge's immediate dominator
(the tensor all its inputs come from) to one of its inputs. A graph whose branches do not nest (a
tensor read inside two constructs) would copy layers into two branches: that is CNN705, never a
silent double count.
"""

from __future__ import annotations

from cnncalc.records import dataclass
from typing import Any

from cnncalc.errors import Location
from cnncalc.importers.errors import NOT_SERIES_PARALLEL, ImportFailed
from cnncalc.importers.reader import Layer

MERGES = ("add", "concat", "multiply")  # the merge layers; `split` is made from concat/add of channel slices


@dataclass(frozen=True)
class Item:
    """One entry of a spec's layer list: a layer, a construct, a `repeat` or a block use."""

    word: str
    settings: tuple[tuple[str, Any], ...] = ()
    #: constructs: their branches (residual: layers, shortcut); repeat: its body
    branches: tuple[tuple[Item, ...], ...] = ()

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.settings)


# -- folds ------------------------------------------------------------------------------------------

def _readers(layers: list[Layer]) -> dict[str, list[int]]:
    readers: dict[str, list[int]] = {}
    for index, layer in enumerate(layers):
        for name in layer.inputs:
            readers.setdefault(name, []).append(index)
    return readers


def _pairs(padding, rank: int) -> list[tuple[int, int]]:
    if padding is None:
        return [(0, 0)] * rank
    if isinstance(padding, int):
        return [(padding, padding)] * rank
    if len(padding) == rank:
        return [(p, p) for p in padding]
    return [(padding[2 * i], padding[2 * i + 1]) for i in range(rank)]


def _padding(pairs: list[tuple[int, int]]):
    if all(b == a for b, a in pairs):
        values = [b for b, _ in pairs]
        return values[0] if len(set(values)) == 1 else values
    return [v for pair in pairs for v in pair]


def _rename(layers: list[Layer], old: str, new: str) -> list[Layer]:
    return [layer.with_(inputs=tuple(new if i == old else i for i in layer.inputs)) for layer in layers]


def fold(layers: list[Layer], aliases: dict[str, str]) -> tuple[list[Layer], list[str]]:
    """The folds of the module docstring, and a note for each pad folded; `aliases` gets the tensors
    that now have another name."""
    notes: list[str] = []
    layers = _fold_pads(list(layers), notes)
    layers = _fold_flattens(layers)
    return _nest_concats(layers, aliases), notes


def _fold_pads(layers: list[Layer], notes: list[str]) -> list[Layer]:
    changed = True
    while changed:
        changed = False
        readers = _readers(layers)
        for index, layer in enumerate(layers):
            after = readers.get(layer.output, [])
            if layer.kind != "zero_pad" or len(after) != 1 or layers[after[0]].kind not in ("conv", "depthwise"):
                continue
            conv = layers[after[0]]
            rank = len(layer.shape) - 1
            pad = _pairs(layer.options["padding"], rank)
            own = _pairs(conv.options.get("padding"), rank)
            settings = conv.options
            settings["padding"] = _padding([(a + c, b + d) for (a, b), (c, d) in zip(pad, own)])
            keys = [k for k in ("filters", "kernel", "stride", "padding", "dilation", "multiplier", "groups", "bias")
                    if k in settings]
            layers[after[0]] = conv.with_(settings=tuple((k, settings[k]) for k in keys), inputs=layer.inputs)
            notes.append(f"{layer.where}: a zero Pad folded into the padding of {conv.where}")
            del layers[index]
            changed = True
            break
    return layers


def _fold_flattens(layers: list[Layer]) -> list[Layer]:
    readers = _readers(layers)
    kept = []
    for layer in layers:
        after = readers.get(layer.output, [])
        if layer.kind == "flatten" and len(after) == 1 and layers[after[0]].kind == "fc":
            layers = _rename(layers, layer.output, layer.inputs[0])
            continue
        kept.append(layer.output)
    return [layer for layer in layers if layer.output in kept]


def _nest_concats(layers: list[Layer], aliases: dict[str, str]) -> list[Layer]:
    """cat(x0, ..., xk) where cat(x0, ..., xk-1) exists is cat(that, xk); identical concats are one
    (`aliases` records which output stands for a dropped one)."""
    made: dict[tuple[str, ...], str] = {}
    result = []
    for layer in layers:
        layer = layer.with_(inputs=tuple(aliases.get(i, i) for i in layer.inputs))
        if layer.kind != "concat":
            result.append(layer)
            continue
        inputs = layer.inputs
        if inputs in made:
            aliases[layer.output] = made[inputs]
            continue
        made[inputs] = layer.output
        if len(inputs) > 2 and inputs[:-1] in made:
            layer = layer.with_(inputs=(made[inputs[:-1]], inputs[-1]))
        result.append(layer)
    return result


# -- the constructs ---------------------------------------------------------------------------------

def _split(bodies: list[tuple[Item, ...]]):
    """Branches that each start with channel group i of one split, in order: the `split:` construct's
    settings and its branches without the slices (the construct makes them)."""
    firsts = [body[0] if body else None for body in bodies]
    if not all(first is not None and first.word == "channel_slice" for first in firsts):
        return None
    options = [first.options for first in firsts]
    if [o["index"] for o in options] != list(range(len(bodies))):
        return None
    if any({k: v for k, v in o.items() if k != "index"} != {k: v for k, v in options[0].items() if k != "index"}
           for o in options):
        return None
    settings = (("sections", options[0]["sections"]),) if "sections" in options[0] else ()
    if "groups" in options[0] and options[0]["groups"] != len(bodies):
        return None
    return settings, tuple(body[1:] for body in bodies)


class Builder:
    """Writes the layers as Items, from the output back; `shapes` lists each layer's graph shape in the
    order cnncalc's graph will number them (a construct: its branches in order, then its merge)."""

    def __init__(self, layers: list[Layer], input_name: str, output_name: str, path: str):
        self.path = path
        self.producer = {layer.output: layer for layer in layers}
        self.input_name = input_name
        self.order = {input_name: 0, **{layer.output: i + 1 for i, layer in enumerate(layers)}}
        self.idom = self._dominators(layers)
        self.used: set[str] = set()
        self.output_name = output_name

    def _dominators(self, layers: list[Layer]) -> dict[str, str]:
        idom = {self.input_name: self.input_name}
        for layer in layers:
            sources = [i for i in layer.inputs if i in idom]
            if len(sources) != len(layer.inputs) or not sources:
                raise ImportFailed(f"{layer.where} reads a tensor that is neither the input nor made by a layer",
                                   Location(self.path), code=NOT_SERIES_PARALLEL,
                                   hint="the graph may have a second input; a spec has one")
            dominator = sources[0]
            for other in sources[1:]:
                dominator = self._meet(idom, dominator, other)
            idom[layer.output] = dominator if layer.kind in MERGES else sources[0]
        return idom

    def _meet(self, idom: dict[str, str], a: str, b: str) -> str:
        while a != b:
            while self.order[a] > self.order[b]:
                a = idom[a]
            while self.order[b] > self.order[a]:
                b = idom[b]
        return a

    def build(self, sides: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
              ) -> tuple[tuple[Item, ...], list[tuple[tuple[int, ...], str]]]:
        """The items and shapes of the main path, with each side output (its tensor and the `output:`
        settings: name, training_only) after the item whose result it reads."""
        pieces = self._pieces(self.input_name, self.output_name)
        for output, settings in sides:
            at = self._side_start(output, pieces)
            items, shapes = self.chain(pieces[at][2], output)
            at += 1
            while at < len(pieces) and pieces[at][2] is None:  # after the side outputs read there before
                at += 1
            pieces.insert(at, ([Item("output", settings, (items,))], shapes, None))
        items = tuple(item for piece_items, _, _ in pieces for item in piece_items)
        shapes = [shape for _, piece_shapes, _ in pieces for shape in piece_shapes]
        unused = [layer for name, layer in self.producer.items() if name not in self.used]
        if unused:
            first = min(unused, key=lambda layer: self.order[layer.output])
            raise ImportFailed(f"{first.where}: its result is not used on the way to the output",
                               Location(self.path), code=NOT_SERIES_PARALLEL,
                               hint="every layer of a spec leads to an output (the main one or a side output)")
        return items, shapes

    def _side_start(self, output: str, pieces: list) -> int:
        """The index of the main path's piece whose result a side output's layers fork from."""
        if output not in self.producer or output in self.used:
            raise ImportFailed(f"the graph's output {output!r} is not made by a layer of its own (a tensor of the "
                               "main path, or the input)", Location(self.path), code=NOT_SERIES_PARALLEL,
                               hint="a side output (`output:`) has at least one layer; export the model without it")
        here = output
        while here not in self.used and here != self.input_name:
            here = self.idom[here]
        ends = [end for _, _, end in pieces]
        if here not in ends:
            raise ImportFailed(f"{self.producer[output].where}: a side output that starts inside a construct",
                               Location(self.path), code=NOT_SERIES_PARALLEL,
                               hint="a spec's side outputs (`output:`) read the main path between its items")
        return ends.index(here)

    def chain(self, start: str, end: str) -> tuple[tuple[Item, ...], list]:
        """The items from tensor `start` (excluded) to `end` (included), and their shapes in order."""
        pieces = self._pieces(start, end)
        return (tuple(item for items, _, _ in pieces for item in items),
                [shape for _, shapes, _ in pieces for shape in shapes])

    def _pieces(self, start: str, end: str) -> list[tuple[list[Item], list, str]]:
        """The chain's items, each with its shapes and the tensor it ends at, `start` first (no items)."""
        pieces: list[tuple[list[Item], list, str]] = []
        here = end
        while here != start:
            if self.order[here] < self.order[start] or here == self.input_name:
                raise ImportFailed(f"a branch ending at {self.producer[end].where} does not start where its "
                                   f"merge's branches fork", Location(self.path), code=NOT_SERIES_PARALLEL,
                                   hint="the graph's branches do not nest as residual/concat/add constructs")
            layer = self.producer[here]
            if here in self.used:
                raise ImportFailed(f"{layer.where}: its result is read inside two constructs that do not nest",
                                   Location(self.path), code=NOT_SERIES_PARALLEL,
                                   hint="a spec could only copy the layer into both, counting it twice")
            self.used.add(here)
            if layer.kind in MERGES:
                fork = self.idom[here]
                item, shapes = self.construct(layer, fork)
                pieces.append(([item], shapes, here))
                here = fork
            else:
                pieces.append(([Item(layer.kind, layer.settings)], [(layer.shape, layer.where)], here))
                here = layer.inputs[0]
        pieces.append(([], [], start))
        return pieces[::-1]

    def construct(self, merge: Layer, fork: str) -> tuple[Item, list]:
        if merge.kind == "concat":
            branches = [self._concat_branch(merge, group, fork) for group in self._groups(merge.inputs, fork)]
        else:
            branches = [self.chain(fork, name) for name in merge.inputs]
        shapes = [shape for _, branch_shapes in branches for shape in branch_shapes]
        own = (merge.shape, merge.where)
        bodies = [items for items, _ in branches]
        split = _split(bodies)
        if split is not None and merge.kind in ("concat", "add"):
            settings, branches = split
            if merge.kind == "add":
                settings = (*settings, ("merge", "add"))
            return Item("split", settings, branches), [*shapes, own]
        if merge.kind == "add" and len(bodies) == 2 and (bodies[0] or bodies[1]):
            if _size(bodies[0]) < _size(bodies[1]):  # the shortcut is the shorter path, whichever input it is
                bodies.reverse()
                shapes = [shape for _, branch_shapes in reversed(branches) for shape in branch_shapes]
            return Item("residual", (), (bodies[0], bodies[1])), [*shapes, own]
        return Item(merge.kind, (), tuple(bodies)), [*shapes, own]

    def _groups(self, inputs: tuple[str, ...], fork: str) -> list[list[str]]:
        """A concat's inputs in runs that fork after `fork`: torch.onnx flattens cat(a, cat(b, c)) into
        one Concat(a, b, c), and b and c's common start (InceptionE's branch3x3_1) is inside the branch
        they shared. Concatenation is associative, so each run is one branch ending in its own concat."""
        groups: list[tuple[list[str], str]] = []
        for name in inputs:
            if groups and name != self.input_name and groups[-1][1] != self.input_name:
                meet = self._meet(self.idom, groups[-1][1], name)
                if meet != fork:
                    groups[-1] = ([*groups[-1][0], name], meet)
                    continue
            groups.append(([name], name))
        return [names for names, _ in groups]

    def _concat_branch(self, merge: Layer, names: list[str], fork: str) -> tuple[tuple[Item, ...], list]:
        """One input of the concat, or a run of them as the layers to their common start and a nested concat."""
        if len(names) == 1:
            return self.chain(fork, names[0])
        start = names[0]
        for name in names[1:]:
            start = self._meet(self.idom, start, name)
        shapes = [self.producer[name].shape for name in names]
        inner = merge.with_(inputs=tuple(names), output=f"{merge.output}#{names[0]}",
                            shape=(*shapes[0][:-1], sum(shape[-1] for shape in shapes)))
        before, before_shapes = self.chain(fork, start)
        item, item_shapes = self.construct(inner, start)
        return (*before, item), [*before_shapes, *item_shapes]


def _size(items: tuple[Item, ...]) -> int:
    """The layers of a branch, those inside its constructs included."""
    return sum(1 + sum(_size(branch) for branch in item.branches) for item in items)
