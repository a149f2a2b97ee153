"""`cnncalc import`: an ONNX model to a spec, in the stages of this package (see its __init__)."""

from __future__ import annotations

from collections import Counter
from cnncalc.records import dataclass, replace
from pathlib import Path

from cnncalc.importers import blocks, ops, reader, structure, tied
from cnncalc.importers.check import check
from cnncalc.importers.writer import SpecText, to_yaml

#: the kinds whose `bias` the spec's `defaults:` may set once for the whole model
BIASED = ("conv", "depthwise")
#: the kinds whose `eps` the spec's `defaults:` sets once when every one has the same non-default value
NORMS = ("batchnorm", "layernorm")


@dataclass(frozen=True)
class Imported:
    """The spec text and what the import report says about it."""

    text: str
    layers: int
    nodes: int
    notes: tuple[str, ...]
    opaque: int
    #: parameters the spec counts more than once: tied weights (its total less this is the model's)
    shared_params: int = 0


def input_text(dims: tuple[int, ...]) -> str:
    """A channels-last shape as the spec's `input:`."""
    if len(dims) == 1:
        return f"{{units: {dims[0]}}}"
    if len(dims) == 2:
        return f"{{channels: {dims[1]}, length: {dims[0]}}}"
    return "x".join(str(d) for d in dims)


def _defaults(items: tuple[structure.Item, ...]) -> tuple[dict, tuple[structure.Item, ...]]:
    """`conv: {bias: false}` once when most convolutions have no bias (as after batch norm)."""
    biases = Counter()
    _walk(items, lambda item: biases.update([(item.word, item.options.get("bias"))]))
    defaults: dict[str, dict] = {}
    for kind in BIASED:
        if biases[(kind, False)] > max(biases[(kind, True)], 1):
            defaults[kind] = {"bias": False}
    for norm in NORMS:
        eps = Counter()
        _walk(items, lambda item: eps.update([item.options.get("eps")]) if item.word == norm else None)
        if len(eps) == 1 and None not in eps and sum(eps.values()) > 1:
            defaults[norm] = {"eps": next(iter(eps))}

    def strip(item: structure.Item) -> structure.Item:
        settings = item.settings
        if item.word in BIASED or item.word == "fc":
            keep_false = item.word in defaults
            settings = tuple((k, v) for k, v in settings if k != "bias" or (v is True) == keep_false)
        if item.word in NORMS and item.word in defaults:
            settings = tuple((k, v) for k, v in settings if k != "eps")
        return structure.Item(item.word, settings, tuple(tuple(strip(i) for i in b) for b in item.branches))

    return defaults, tuple(strip(item) for item in items)


def _walk(items, visit) -> None:
    for item in items:
        visit(item)
        for branch in item.branches:
            _walk(branch, visit)


def import_model(model, path: str, keep_unknown: bool = False, input_dims: tuple[int, ...] | None = None,
                 name: str | None = None) -> Imported:
    graph = reader.read_graph(model, path, input_dims)
    layers, notes = ops.map_graph(graph, keep_unknown)
    shared = tied.tied_weights(graph, layers)
    aliases: dict[str, str] = {}
    layers, fold_notes = structure.fold(layers, aliases)
    output = graph.source(graph.output_name)
    output = aliases.get(output, output)
    builder = structure.Builder(layers, graph.input_name, output, path)
    sides = side_outputs(graph, aliases)
    items, shapes = builder.build(tuple((name, settings) for name, settings, _ in sides))
    notes += [note for _, _, note in sides]
    defaults, items = _defaults(items)
    found = blocks.find(items)
    title = name or Path(path).stem
    input_dims = reader.channels_last(graph.shape(graph.input_name), "the input", path)
    opaque = sum(1 for layer in layers if layer.kind == "opaque")
    notes = [*notes, *fold_notes, *(layer.note for layer in layers if layer.note and layer.kind != "opaque")]
    comment = _comment(path, len(graph.nodes), len(layers), opaque)
    spec = SpecText(title, input_text(input_dims), found.items, found.blocks, defaults, comment)
    text = to_yaml(spec)
    analysis = check(text, path, shapes)
    extra = sum(t.extra for t in shared)
    if shared:  # said in the spec itself, with the model's count: the spec language cannot tie two layers
        names = {where: result.node.name for result, (_, where) in zip(analysis.results[1:], shapes)}
        counted = sum(result.inference.params for result in analysis.results[1:] if result.inference)
        lines = _tied_lines(shared, names, counted)
        notes = [*notes, *lines]
        text = to_yaml(replace(spec, comment="\n".join([comment, *lines])))
    return Imported(text, len(layers), len(graph.nodes), tuple(dict.fromkeys(notes)), opaque, extra)


def _tied_lines(weights: list, names: dict[str, str], counted: int) -> list[str]:
    lines = []
    for weight in weights:
        layers = ", ".join(names.get(where, where) for where in weight.readers)
        lines.append(f"Tied weights: {weight.name!r} ({weight.size:,} params) is shared by the layers {layers}; "
                     f"the spec counts it in each of the {len(weight.readers)}, PyTorch once.")
    extra = sum(weight.extra for weight in weights)
    lines.append(f"The model's parameters: {counted - extra:,} (the spec's total {counted:,} "
                 f"less {extra:,} counted again for tied weights).")
    return lines


def side_outputs(graph, aliases: dict[str, str]) -> list[tuple[str, tuple, str]]:
    """The graph's other outputs as side outputs: (tensor, `output:` settings, a note). Each is named
    after the module scope of the node that makes it (`/AuxLogits/fc/Gemm`: AuxLogits); in a training
    export it is training-only, as torchvision's aux heads (an eval export of them has one output)."""
    made = {output: node for node in graph.nodes for output in node.output}
    result, taken = [], {"main"}
    for number, name in enumerate(graph.side_outputs, 1):
        source = graph.source(name)
        scope = made[source].name.strip("/").split("/")[0] if source in made else ""
        title = scope if scope.isidentifier() and scope not in taken else f"output{number}"
        taken.add(title)
        settings = (("name", title), ("training_only", True)) if graph.training else (("name", title),)
        why = ("training-only: the graph is a training export" if graph.training
               else "run at inference too: the graph is an inference export")
        result.append((aliases.get(source, source), settings, f"the graph's output {name!r} is the side output "
                       f"{title!r} ({why})"))
    return result


def _comment(path: str, nodes: int, layers: int, opaque: int) -> str:
    lines = [f"Imported by `cnncalc import` from {Path(path).name}: {nodes} ONNX nodes, {layers} layers."]
    if opaque:
        lines.append(f"{opaque} opaque layer(s) (--keep-unknown): their shapes are the graph's, with no "
                     "params or MACs counted.")
    return "\n".join(lines)


def import_file(path: str, keep_unknown: bool = False, input_dims: tuple[int, ...] | None = None) -> Imported:
    return import_model(reader.load_model(path), path, keep_unknown, input_dims)
