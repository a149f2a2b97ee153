"""ONNX op types -> cnncalc layers. One function per op type (or family); patterns spanning several
nodes (x * sigmoid(x) = silu, x * hardsigmoid(x) = hardswish, the erf form of GELU, MatMul + Add =
fc) are recognised where their last node is met, and their inner nodes are then skipped.

A mapping returns a Layer, or an alias (`Same(name)`: the node passes its input through, as
Dropout at inference and Identity do). A node without a mapping is CNN701 naming the node, unless
`keep_unknown` records it as an `opaque` layer with the graph's output shape and no counts.
"""

from __future__ import annotations

from typing import Any

from cnncalc.importers.errors import UNMAPPED_OP, UNSUPPORTED_ATTRIBUTE, ImportFailed
from cnncalc.importers.activation_ops import ActivationOps, Same, Unmapped, attrs, number
from cnncalc.importers.channel_ops import ChannelOps
from cnncalc.importers.layout_ops import LayoutOps
from cnncalc.importers.reader import Graph, Layer, channels_last


def _axis_values(values, rank: int) -> int | list[int]:
    values = list(values) if values else [1] * rank
    return values[0] if len(set(values)) == 1 else values


def padding_of(pads, rank: int) -> int | list[int]:
    """ONNX pads [b1, b2, ..., e1, e2, ...] as the spec's padding: one int, one per axis, or before/after pairs."""
    pads = list(pads) if pads else [0] * (2 * rank)
    before, after = pads[:rank], pads[rank:]
    if before == after:
        return _axis_values(before, rank)
    return [value for pair in zip(before, after) for value in pair]


def _auto_pad(a: dict, kernel, stride, dilation, in_spatial) -> list[int] | None:
    """ONNX auto_pad as explicit pads (SAME_UPPER puts the extra pixel after, SAME_LOWER before)."""
    mode = a.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode in ("NOTSET", ""):
        return None
    rank = len(kernel)
    if mode == "VALID":
        return [0] * (2 * rank)
    before, after = [], []
    for size, k, s, d in zip(in_spatial, kernel, stride, dilation):
        out = -(-size // s)
        total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
        small, big = total // 2, total - total // 2
        before.append(small if mode == "SAME_UPPER" else big)
        after.append(big if mode == "SAME_UPPER" else small)
    return before + after


class Mapper(ActivationOps, ChannelOps, LayoutOps):
    """Maps the nodes of one graph in order; `layers` is the result."""

    def __init__(self, graph: Graph, keep_unknown: bool = False):
        self.graph = graph
        self.keep_unknown = keep_unknown
        self.layers: list[Layer] = []
        self.skipped: set[int] = set()
        self.notes: list[str] = []
        #: tensors stored channels last (N, *spatial, C), between ConvNeXt's permutes
        self.nhwc: set[str] = set()

    # -- helpers ------------------------------------------------------------------------------------

    def out_shape(self, index: int, name: str | None = None) -> tuple[int, ...]:
        node = self.graph.nodes[index]
        name = name or node.output[0]
        if name in self.nhwc:  # stored (N, *spatial, C) already
            return tuple(self.graph.shape(name)[1:])
        return channels_last(self.graph.shape(name), self.graph.where(index), self.graph.path)

    def in_spatial(self, name: str) -> tuple[int, ...]:
        return tuple(self.graph.shape(name)[2:])

    def activation_inputs(self, node) -> tuple[str, ...]:
        return tuple(self.graph.source(i) for i in node.input if i and not self.graph.is_constant(i))

    def layer(self, index: int, kind: str, settings: dict | None = None, inputs: tuple[str, ...] | None = None,
              note: str = "") -> Layer:
        node = self.graph.nodes[index]
        inputs = self.activation_inputs(node) if inputs is None else inputs
        last = settings["to"] == "channels_last" if kind == "permute" else any(i in self.nhwc for i in inputs)
        if last:
            self.nhwc.add(node.output[0])
        return Layer(kind, tuple((settings or {}).items()), inputs, node.output[0], self.out_shape(index),
                     self.graph.where(index), note)

    def producer(self, name: str):
        """The index of the node that makes tensor `name` (None for the input and constants)."""
        return self._producers.get(self.graph.source(name))

    def only_reader(self, name: str, index: int) -> bool:
        return self.graph.readers(name) == [index]

    # -- the walk -----------------------------------------------------------------------------------

    def run(self) -> list[Layer]:
        self._producers = {}
        for index, node in enumerate(self.graph.nodes):
            for name in node.output:
                self._producers[name] = index
        self.skipped |= shape_computations(self.graph)
        for index, node in enumerate(self.graph.nodes):
            if index in self.skipped or node.op_type in ("Constant", "Identity"):
                continue
            self.map_node(index, node)
        return self.layers

    def map_node(self, index: int, node) -> None:
        if node.domain not in ("", "ai.onnx"):
            self.unknown(index, f"a custom op of domain {node.domain!r}")
            return
        mapping = getattr(self, f"op_{node.op_type}", None)
        if mapping is None:
            self.unknown(index, "an op type cnncalc does not map")
            return
        try:
            result = mapping(index, node, attrs(node))
        except Unmapped as why:
            if not self.keep_unknown:
                raise ImportFailed(f"{self.graph.where(index)}: {why}", self.graph.loc(), code=UNSUPPORTED_ATTRIBUTE,
                                   hint="pass --keep-unknown to record it as an opaque layer (no counts)") from None
            self.opaque(index, str(why))
            return
        if isinstance(result, Same):
            self.graph.aliases[node.output[0]] = result.name
        elif result is not None:
            self.layers.append(result)

    def unknown(self, index: int, what: str) -> None:
        if not self.keep_unknown:
            raise ImportFailed(f"{self.graph.where(index)}: {what}; it would count as zero",
                               self.graph.loc(), code=UNMAPPED_OP,
                               hint="pass --keep-unknown to record it as an opaque layer with its output shape "
                                    "and no counts")
        self.opaque(index, what)

    def opaque(self, index: int, why: str) -> None:
        node = self.graph.nodes[index]
        shape = self.out_shape(index)
        inputs = self.activation_inputs(node)[:1]
        settings = {"shape": "x".join(str(d) for d in shape) if len(shape) > 1 else shape[0], "op": node.op_type}
        note = f"{self.graph.where(index)} kept as an opaque layer with no counts: {why}"
        self.notes.append(note)
        self.layers.append(self.layer(index, "opaque", settings, inputs, note))

    # -- convolutions and dense layers --------------------------------------------------------------

    def op_Conv(self, index, node, a):
        weight = self.graph.shape(node.input[1])
        filters, per_group, *kernel = weight
        x = self.graph.source(node.input[0])
        spatial = self.in_spatial(x)
        rank = len(kernel)
        stride = list(a.get("strides", [1] * rank))
        dilation = list(a.get("dilations", [1] * rank))
        pads = _auto_pad(a, kernel, stride, dilation, spatial) or list(a.get("pads", [0] * (2 * rank)))
        groups = a.get("group", 1)
        in_channels = self.graph.shape(x)[1]
        settings: dict[str, Any] = {}
        depthwise = groups > 1 and groups == in_channels and per_group == 1
        kind = "depthwise" if depthwise else "conv"
        if not depthwise:
            settings["filters"] = filters
        settings["kernel"] = _axis_values(kernel, rank)
        if any(s != 1 for s in stride):
            settings["stride"] = _axis_values(stride, rank)
        if any(pads):
            settings["padding"] = padding_of(pads, rank)
        if any(d != 1 for d in dilation):
            settings["dilation"] = _axis_values(dilation, rank)
        if depthwise and filters != in_channels:
            settings["multiplier"] = filters // in_channels
        if groups > 1 and not depthwise:
            settings["groups"] = groups
        settings["bias"] = len(node.input) > 2 and bool(node.input[2])
        return self.layer(index, kind, settings)

    def op_ConvTranspose(self, index, node, a):
        in_channels, per_group, *kernel = self.graph.shape(node.input[1])
        rank = len(kernel)
        groups = a.get("group", 1)
        pads = list(a.get("pads", [0] * (2 * rank)))
        if pads[:rank] != pads[rank:] or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise Unmapped("asymmetric or automatic padding of a ConvTranspose has no spec equivalent")
        settings: dict[str, Any] = {"filters": per_group * groups, "kernel": _axis_values(kernel, rank)}
        stride = list(a.get("strides", [1] * rank))
        if any(s != 1 for s in stride):
            settings["stride"] = _axis_values(stride, rank)
        if any(pads):
            settings["padding"] = _axis_values(pads[:rank], rank)
        output_padding = list(a.get("output_padding", [0] * rank))
        if "output_shape" in a:
            raise Unmapped("ConvTranspose with output_shape: export with explicit pads and output_padding")
        if any(output_padding):
            settings["output_padding"] = _axis_values(output_padding, rank)
        dilation = list(a.get("dilations", [1] * rank))
        if any(d != 1 for d in dilation):
            settings["dilation"] = _axis_values(dilation, rank)
        if groups > 1:
            settings["groups"] = groups
        settings["bias"] = len(node.input) > 2 and bool(node.input[2])
        return self.layer(index, "conv_transpose", settings)

    def op_Gemm(self, index, node, a):
        if a.get("transA", 0) or not self.graph.is_constant(node.input[1]):
            raise Unmapped("a Gemm that is not x times a weight matrix")
        weight = self.graph.shape(node.input[1])
        units = weight[0] if a.get("transB", 0) else weight[1]
        bias = len(node.input) > 2 and bool(node.input[2])
        return self.layer(index, "fc", {"units": units, "bias": bias})

    def op_MatMul(self, index, node, a):
        weight = self.weight_shape(node.input[1])
        if weight is None or len(weight) != 2:
            raise Unmapped("a MatMul of two activations (attention) has no layer kind")
        units = weight[1]
        x = self.graph.source(node.input[0])
        settings = {"units": units, "bias": False}
        if len(self.graph.shape(x)) > 2:  # nn.Linear on a channels-last map (ConvNeXt's MLP)
            if x not in self.nhwc:
                raise Unmapped("a MatMul over the last axis of a channels-first map (its width)")
            settings["per_position"] = True
        readers = self.graph.readers(node.output[0])
        if len(readers) == 1:  # MatMul + Add(bias) is one fc layer
            after = self.graph.nodes[readers[0]]
            other = [i for i in after.input if self.graph.source(i) != node.output[0]]
            if after.op_type == "Add" and len(other) == 1 and self.graph.is_constant(other[0]):
                self.skipped.add(readers[0])
                return self.layer(readers[0], "fc", {**settings, "bias": True}, inputs=(x,))
        return self.layer(index, "fc", settings, inputs=(x,))

    # -- normalisation ------------------------------------------------------------------------------

    def op_BatchNormalization(self, index, node, a):
        settings = {}
        eps = number(a.get("epsilon", 1e-5))
        if eps != 1e-5:
            settings["eps"] = eps
        momentum = number(1 - a.get("momentum", 0.9))
        if momentum != 0.1:
            settings["momentum"] = momentum
        return self.layer(index, "batchnorm", settings)

    def op_LRN(self, index, node, a):
        settings = {"size": a["size"]}
        for onnx_name, key, default in (("alpha", "alpha", 1e-4), ("beta", "beta", 0.75), ("bias", "k", 1.0)):
            value = number(a.get(onnx_name, default))
            if value != default:
                settings[key] = value
        return self.layer(index, "lrn", settings)

    # -- pooling ------------------------------------------------------------------------------------

    def _pool(self, index, node, a, mode: str):
        kernel = list(a["kernel_shape"])
        rank = len(kernel)
        stride = list(a.get("strides", [1] * rank))
        dilation = list(a.get("dilations", [1] * rank))
        x = self.graph.source(node.input[0])
        pads = _auto_pad(a, kernel, stride, dilation, self.in_spatial(x)) or list(a.get("pads", [0] * (2 * rank)))
        settings: dict[str, Any] = {"kernel": _axis_values(kernel, rank),
                                    "stride": _axis_values(stride, rank)}
        if any(pads):
            settings["padding"] = padding_of(pads, rank)
        if any(d != 1 for d in dilation):
            settings["dilation"] = _axis_values(dilation, rank)
        if mode == "avg":
            settings["mode"] = "avg"
        if a.get("ceil_mode", 0):
            settings["ceil"] = True
        note = ""
        if mode == "avg" and any(pads) and not a.get("count_include_pad", 0):
            note = f"{self.graph.where(index)}: count_include_pad=0 (the counts do not depend on it)"
        return self.layer(index, "pool", settings, note=note)

    def op_MaxPool(self, index, node, a):
        if len(node.output) > 1 and node.output[1]:
            raise Unmapped("MaxPool with indices")
        return self._pool(index, node, a, "max")

    def op_AveragePool(self, index, node, a):
        return self._pool(index, node, a, "avg")

    def op_GlobalAveragePool(self, index, node, a):
        return self.layer(index, "global_pool", {"mode": "avg"})

    def op_GlobalMaxPool(self, index, node, a):
        return self.layer(index, "global_pool", {"mode": "max"})

    def op_ReduceMean(self, index, node, a):
        x = self.graph.source(node.input[0])
        rank = len(self.graph.shape(x))
        axes = list(a.get("axes", []))
        if not axes and len(node.input) > 1 and node.input[1]:
            axes = [int(v) for v in self.graph.constant(node.input[1]).ravel()]
        axes = sorted(axis % rank for axis in axes)
        if axes != list(range(2, rank)):
            raise Unmapped("a ReduceMean that is not a global average pool over the spatial axes")
        # keepdims=0 (x.mean([2, 3])) drops the 1x1 the pool keeps: the same numbers (the check allows it)
        return self.layer(index, "global_pool", {"mode": "avg"})

    # -- shape changes ------------------------------------------------------------------------------

    def op_Flatten(self, index, node, a):
        x = self.graph.source(node.input[0])
        if a.get("axis", 1) != 1:
            raise Unmapped("a Flatten from another axis than 1")
        return self._flatten(index, x)

    def _flatten(self, index, x):
        if len(self.graph.shape(x)) == 2:
            return Same(x)
        return self.layer(index, "flatten", {}, inputs=(x,))

    def op_Reshape(self, index, node, a):
        if self.constant_like(node.input[0]):
            return None  # a parameter viewed in another shape; the node reading it maps it
        x = self.graph.source(node.input[0])
        out = self.graph.shape(node.output[0])
        shuffle = self._channel_shuffle(index, node, x, out)
        if shuffle is not None:
            return shuffle
        if len(out) != 2:
            raise Unmapped("a Reshape that is not a flatten to (batch, features)")
        return self._flatten(index, x)

    def op_Squeeze(self, index, node, a):
        x = self.graph.source(node.input[0])
        dims = self.graph.shape(x)
        if len(self.graph.shape(node.output[0])) == 2 and all(d == 1 for d in dims[2:]):
            return self._flatten(index, x)
        raise Unmapped("a Squeeze that is not a flatten of a 1x1 map")

    def op_Dropout(self, index, node, a):
        ratio = a.get("ratio", 0.5)
        if len(node.input) > 1 and node.input[1] and self.graph.is_constant(node.input[1]):
            ratio = float(self.graph.constant(node.input[1]))
        return self.layer(index, "dropout", {"rate": number(ratio)} if ratio != 0.5 else {},
                          inputs=(self.graph.source(node.input[0]),))

    def op_Pad(self, index, node, a):
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = a.get("pads")
        if pads is None and len(node.input) > 1:
            pads = self.graph.constant(node.input[1])
        value = a.get("value", 0.0)
        if len(node.input) > 2 and node.input[2]:
            value = float(self.graph.constant(node.input[2]))
        if mode != "constant" or value != 0 or pads is None:
            raise Unmapped(f"a Pad of mode {mode} with value {value}: only zero padding has a spec equivalent")
        pads = [int(p) for p in list(pads)]
        rank = len(pads) // 2
        if any(pads[:2]) or any(pads[rank:rank + 2]) or any(p < 0 for p in pads):
            raise Unmapped("a Pad of the batch or channel axis (or a negative one, a crop)")
        spatial = rank - 2
        before, after = pads[2:rank], pads[rank + 2:]
        return self.layer(index, "zero_pad", {"padding": padding_of(before + after, spatial)},
                          inputs=(self.graph.source(node.input[0]),))

    def op_Resize(self, index, node, a):
        x = self.graph.source(node.input[0])
        rank = len(self.graph.shape(x)) - 2
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        words = {"nearest": "nearest", "linear": ("linear", "bilinear", "trilinear")[rank - 1] if 1 <= rank <= 3 else ""}
        if mode not in words or not words[mode]:
            raise Unmapped(f"Resize mode {mode} has no spec equivalent")
        before = self.graph.shape(x)[2:]
        after = self.graph.shape(node.output[0])[2:]
        scales = []
        for b, o in zip(before, after):
            if o % b:
                raise Unmapped(f"a Resize from {b} to {o}: not a whole scale")
            scales.append(o // b)
        return self.layer(index, "upsample", {"scale": _axis_values(scales, rank), "mode": words[mode]},
                          inputs=(x,))

    op_Upsample = op_Resize

    # -- merges -------------------------------------------------------------------------------------

    def op_Concat(self, index, node, a):
        x = self.graph.source(node.input[0])
        rank = len(self.graph.shape(x))
        if a.get("axis", 1) % rank != 1 or any(self.graph.is_constant(i) for i in node.input):
            raise Unmapped("a Concat along another axis than the channels (or of a constant)")
        inputs = self.activation_inputs(node)
        if len(inputs) == 1:
            return Same(inputs[0])
        return self.layer(index, "concat", {}, inputs=inputs)

    def op_Add(self, index, node, a):
        if self._reads_op(node, "Erf"):
            return None  # 1 + erf(x / sqrt 2): part of GELU, mapped at its last Mul
        inputs = self.activation_inputs(node)
        if len(inputs) != len(node.input):
            raise Unmapped("an Add of a constant (a bias outside a layer)")
        return self.layer(index, "add", {}, inputs=inputs)

    def op_Sum(self, index, node, a):
        return self.op_Add(index, node, a)


#: ops that compute sizes from sizes (x.view(x.size(0), -1) exports Shape -> Gather -> Unsqueeze ->
#: Concat -> Reshape): skipped where every result feeds only such ops or a setting input of a layer
SHAPE_OPS = ("Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Mul", "Div", "Add", "Sub",
             "Floor", "Ceil", "Range", "ConstantOfShape", "Size", "Reshape", "Transpose")


def shape_computations(graph: Graph) -> set[int]:
    """The nodes that only compute sizes for other nodes' setting inputs (input 1 and later of a
    Reshape, Resize, Pad, Clip ...; data flows through input 0)."""
    skipped: set[int] = set()
    for index in range(len(graph.nodes) - 1, -1, -1):
        node = graph.nodes[index]
        if node.op_type not in SHAPE_OPS or node.output[0] == graph.output_name:
            continue
        reads = [(reader, list(graph.nodes[reader].input).index(name) if name in graph.nodes[reader].input else 0)
                 for name in node.output for reader in graph.readers(name)]
        if all(reader in skipped or position >= 1 for reader, position in reads):  # none: dead after folding
            if node.op_type == "Shape" or all(_sized(graph, i) for i in node.input if i):
                skipped.add(index)
    return skipped


def _sized(graph: Graph, name: str) -> bool:
    """A tensor that is a size, not data: a constant, one evaluated as a size (a Pad's computed pads,
    PyTorch's (axes, 2) pairs among them), or a 1-D integer vector of a few entries."""
    if graph.is_constant(name) or graph.source(name) in graph.sizes:
        return True
    dims = graph.shape(name)
    return len(dims) <= 1 and all(d is not None and d <= 8 for d in dims)


def map_graph(graph: Graph, keep_unknown: bool = False) -> tuple[list[Layer], list[str]]:
    """The layers of the graph in order, and the notes for the import report."""
    mapper = Mapper(graph, keep_unknown)
    layers = mapper.run()
    return layers, mapper.notes
