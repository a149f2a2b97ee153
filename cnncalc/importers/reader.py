"""Read an ONNX model into cnncalc layers: one `Layer` per mapped node, with the graph's own shapes.

The ONNX graph is loaded, its shapes inferred (`onnx.shape_inference`), and every node mapped in
graph order by cnncalc/importers/ops.py. What the mapping needs from the graph (constant values,
shapes, who reads a tensor) is a `Graph` here. Identity nodes (the exporter shares identical
initialisers through them) are aliases: a weight is seen once, under the name of its source.
"""

from __future__ import annotations

from cnncalc.records import dataclass, field
from pathlib import Path
from typing import Any

from cnncalc.errors import Location, ReadError
from cnncalc.importers.errors import (
    CONTROL_FLOW,
    DYNAMIC_SHAPE,
    NOT_SERIES_PARALLEL,
    ImportFailed,
    MissingExtra,
    UnreadableModel,
)

CONTROL_FLOW_OPS = ("If", "Loop", "Scan", "SequenceMap")


@dataclass(frozen=True)
class Layer:
    """One cnncalc layer made from one or more ONNX nodes."""

    #: the spec's layer word (conv, relu, ...) or a merge (add, concat)
    kind: str
    #: the spec settings, only those that differ from the kind's defaults
    settings: tuple[tuple[str, Any], ...]
    #: the activation tensors it reads (weights excluded), in order
    inputs: tuple[str, ...]
    output: str
    #: the output shape the graph states, channels last without the batch ([H, W, C] or [units])
    shape: tuple[int, ...]
    #: "node 12 '/layer1/conv1/Conv' (Conv)": how messages name where it came from
    where: str
    #: a note for the import report (an opaque layer, a folded pad)
    note: str = ""

    def with_(self, **changes) -> Layer:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return Layer(**values)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.settings)


@dataclass
class Graph:
    """The loaded ONNX graph, as the op mappings query it."""

    path: str
    nodes: list
    #: tensor name -> dims as the graph states them (None for an unknown dim)
    shapes: dict[str, tuple]
    #: initialiser and Constant values (numpy arrays), by tensor name
    constants: dict[str, Any]
    #: tensor name -> its source through Identity nodes
    aliases: dict[str, str] = field(default_factory=dict)
    consumers: dict[str, list[int]] = field(default_factory=dict)
    input_name: str = ""
    output_name: str = ""
    #: every initialiser (weights included, whose values are not read)
    initialisers: frozenset = frozenset()
    #: tensors evaluated as sizes (a Pad's computed pads, cnncalc/importers/sizes.py): not data
    sizes: frozenset = frozenset()
    #: the graph's other outputs (torchvision's aux heads), written as side outputs (`output:`)
    side_outputs: tuple[str, ...] = ()
    #: exported in training mode (its side outputs are then training-only heads)
    training: bool = False

    def source(self, name: str) -> str:
        while name in self.aliases:
            name = self.aliases[name]
        return name

    def constant(self, name: str):
        return self.constants.get(self.source(name))

    def is_constant(self, name: str) -> bool:
        name = self.source(name)
        return name in self.constants or name in self.initialisers

    def shape(self, name: str) -> tuple:
        return self.shapes.get(self.source(name), ())

    def readers(self, name: str) -> list[int]:
        return self.consumers.get(self.source(name), [])

    def loc(self) -> Location:
        return Location(self.path)

    def where(self, index: int) -> str:
        node = self.nodes[index]
        name = f" {node.name!r}" if node.name else ""
        inputs = ", ".join(i for i in node.input if i) or "none"
        return f"node {index}{name} ({node.op_type}, inputs: {inputs})"


def _onnx():
    try:
        import onnx
    except ImportError:
        raise MissingExtra("cnncalc import needs the onnx package, which is not installed", Location("cnncalc"),
                           hint='install it with pip install "cnncalc[onnx]"') from None
    return onnx


def load_model(path: str):
    """The ModelProto of a file, or a located error: missing (CNN001), not ONNX or truncated (CNN700)."""
    file = Path(path)
    if not file.is_file():
        raise ReadError(f"no such file: {path}", Location(path), hint="check the path to the .onnx file")
    return parse_model(file.read_bytes(), path)


def parse_model(data: bytes, path: str):
    onnx = _onnx()
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise UnreadableModel(f"not a readable ONNX model ({_first_line(error)})", Location(path),
                              hint="export the model again, or check that the file is complete") from None
    if model.ir_version <= 0 or not model.graph.node:
        raise UnreadableModel("not an ONNX model: no graph in the file", Location(path),
                              hint="give a .onnx file written by torch.onnx.export or onnx.save")
    return model


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _dims(value_info) -> tuple:
    kind = value_info.type.WhichOneof("value")
    if kind != "tensor_type" or not value_info.type.tensor_type.HasField("shape"):
        return ()
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in value_info.type.tensor_type.shape.dim)


def _inferred(model, path: str):
    """The model with every tensor's shape; inferred without the weights' bytes (only their shapes matter)."""
    onnx = _onnx()
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as error:  # noqa: BLE001 - onnx raises its own types, all one failure here
        raise UnreadableModel(f"ONNX shape inference fails on this model ({_first_line(error)})", Location(path),
                              hint="check the model with onnx.checker.check_model") from None


def read_graph(model, path: str, input_dims: tuple[int, ...] | None = None) -> Graph:
    """The graph with shapes, constants, aliases and readers; refuses control flow and dynamic sizes."""
    from onnx import numpy_helper

    graph = model.graph
    for index, node in enumerate(graph.node):
        if node.op_type in CONTROL_FLOW_OPS:
            name = f" {node.name!r}" if node.name else ""
            raise ImportFailed(f"node {index}{name} is {node.op_type}: control flow has no spec equivalent",
                               Location(path), code=CONTROL_FLOW,
                               hint="export a traced model (torch.onnx.export with dynamo=False) that runs one path")
    initialisers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initialisers]
    if len(inputs) != 1 or not graph.output:
        raise ImportFailed(f"the graph has {len(inputs)} inputs and {len(graph.output)} outputs; a spec has one "
                           "input and at least one output", Location(path), code=NOT_SERIES_PARALLEL,
                           hint="export the model with one input tensor")
    if input_dims is not None:
        _set_input(inputs[0], input_dims)
    _check_static(inputs[0], path)
    input_name = inputs[0].name
    _normalise_perms(graph)
    weights, constants = _without_weights(graph, numpy_helper)
    model = _inferred(model, path)
    shapes = _stated(model, weights)
    from cnncalc.importers.sizes import fold_pad_inputs, fold_slice_bounds

    if fold_slice_bounds(model, shapes, _with_constant_nodes(model, constants, numpy_helper)):
        model = _inferred(model, path)
        shapes = _stated(model, weights)
    folded_pads, evaluated = fold_pad_inputs(model, shapes, _with_constant_nodes(model, constants, numpy_helper))
    if folded_pads:
        constants.update(folded_pads)
        model = _inferred(model, path)
        shapes = _stated(model, weights)
    graph = model.graph
    result = Graph(path, list(graph.node), shapes, constants, input_name=input_name,
                   output_name=graph.output[0].name, initialisers=frozenset(weights), sizes=frozenset(evaluated),
                   side_outputs=tuple(o.name for o in graph.output[1:]))
    for index, node in enumerate(result.nodes):
        if node.op_type == "Constant":
            value = _constant_value(node, numpy_helper)
            if value is not None:
                constants[node.output[0]] = value
        elif node.op_type == "Identity":
            result.aliases[node.output[0]] = node.input[0]
    for index, node in enumerate(result.nodes):
        if node.op_type in ("Constant", "Identity"):
            continue
        for name in node.input:
            if name:
                result.consumers.setdefault(result.source(name), []).append(index)
    result.training = _training_export(result)
    return result


def _normalise_perms(graph) -> None:
    """Transpose perms as non-negative axes: torch.onnx writes x.permute(0, -1, 1, 2) as perm [0, -1, 1, 2],
    which ONNX's shape inference does not read (every later shape would be unknown)."""
    for node in graph.node:
        if node.op_type != "Transpose":
            continue
        for attribute in node.attribute:
            if attribute.name == "perm" and any(axis < 0 for axis in attribute.ints):
                axes = [axis % len(attribute.ints) for axis in attribute.ints]
                del attribute.ints[:]
                attribute.ints.extend(axes)


def _training_export(graph: Graph) -> bool:
    """torch.onnx.export(training=TrainingMode.TRAINING): batch norms with training_mode=1, or a Dropout
    whose training_mode input is true."""
    for node in graph.nodes:
        if node.op_type == "BatchNormalization" and any(a.name == "training_mode" and a.i for a in node.attribute):
            return True
        if node.op_type == "Dropout" and len(node.input) > 2 and node.input[2]:
            value = graph.constant(node.input[2])
            if value is not None and bool(value):
                return True
    return False


#: initialisers with more elements are weights: only their shapes are read (counts come from shapes)
SMALL = 4096


def _without_weights(graph, numpy_helper) -> tuple[dict[str, tuple], dict]:
    """The shape of every initialiser and the values of the small ones (pads, scales, clip bounds).

    The weights' bytes are dropped from the (loaded, private) model before shape inference, which would
    otherwise copy them: each becomes a typed graph input, as in ONNX files of IR version 3."""
    from math import prod

    from onnx import helper

    shapes = {t.name: tuple(t.dims) for t in graph.initializer}
    small = [t for t in graph.initializer if prod(t.dims) <= SMALL]
    constants = {t.name: numpy_helper.to_array(t) for t in small}
    typed = [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
             for t in graph.initializer if prod(t.dims) > SMALL]
    kept = [type(t)() for t in small]
    for copy, t in zip(kept, small):
        copy.CopyFrom(t)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph.input.extend(typed)
    return shapes, constants


def _stated(model, weights: dict[str, tuple]) -> dict[str, tuple]:
    shapes = dict(weights)
    for info in (*model.graph.input, *model.graph.value_info, *model.graph.output):
        shapes.setdefault(info.name, _dims(info))
    return shapes


def _with_constant_nodes(model, constants: dict, numpy_helper) -> dict:
    values = dict(constants)
    for node in model.graph.node:
        if node.op_type == "Constant":
            value = _constant_value(node, numpy_helper)
            if value is not None:
                values[node.output[0]] = value
    return values


def _constant_value(node, numpy_helper):
    import numpy as np

    for attribute in node.attribute:
        if attribute.name == "value":
            return numpy_helper.to_array(attribute.t)
        if attribute.name in ("value_float", "value_int"):
            return np.array(attribute.f if attribute.name == "value_float" else attribute.i)
        if attribute.name in ("value_floats", "value_ints"):
            return np.array(list(attribute.floats if attribute.name == "value_floats" else attribute.ints))
    return None


def _set_input(info, dims: tuple[int, ...]) -> None:
    """`--input` sets the input's sizes, channels last as the spec's `input:` (224x224x3), or only the
    spatial ones (224x224); the batch is 1 and the graph's inference does the rest."""
    shape = info.type.tensor_type.shape
    rank = len(shape.dim)
    if len(dims) == rank - 1:
        wanted = [1, dims[-1], *dims[:-1]]
    elif len(dims) == rank - 2:
        wanted = [1, None, *dims]
    else:
        raise ImportFailed(f"--input gives {len(dims)} sizes; the input {info.name!r} has {rank - 1} besides the batch",
                           Location("--input"), code=DYNAMIC_SHAPE, hint="give H x W x C (or H x W) for an image")
    for dim, value in zip(shape.dim, wanted):
        if value is not None:
            dim.Clear()
            dim.dim_value = value


def _check_static(info, path: str) -> None:
    dims = _dims(info)
    if not dims or any(d is None for d in dims[1:]):
        shown = "x".join("?" if d is None else str(d) for d in dims) or "no shape"
        raise ImportFailed(f"the input {info.name!r} has no fixed size ({shown})", Location(path), code=DYNAMIC_SHAPE,
                           hint="export with a fixed input size, or give one with --input HxWxC")


def channels_last(dims: tuple, what: str, path: str) -> tuple[int, ...]:
    """NCHW dims (batch first) as cnncalc's channels-last shape without the batch; refuses unknown sizes."""
    if len(dims) < 2 or any(d is None for d in dims[1:]):
        shown = "x".join("?" if d is None else str(d) for d in dims) or "no shape"
        raise ImportFailed(f"{what}: the graph gives no fixed size for its output ({shown})", Location(path),
                           code=DYNAMIC_SHAPE, hint="export with fixed sizes (no dynamic axes but the batch)")
    channels, *spatial = dims[1:]
    return (*spatial, channels)
