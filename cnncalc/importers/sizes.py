"""Sizes a graph computes from its own shapes (torch.onnx writes `x.chunk(2, dim=1)` as Slices whose
bounds are Shape -> Gather -> Add -> Div -> Mul of the input): evaluated here from the inferred shapes,
so that a second shape inference, with those bounds as constants, knows every tensor's size.

The pads of a Pad are such a size too: without constant folding, torch.onnx writes nn.ZeroPad2d's
`pads` as Constant -> Cast -> ConstantOfShape -> Concat -> Reshape -> Slice -> Transpose -> Reshape
-> Cast (PyTorch's per-axis pairs, last axis first, turned into ONNX's begins-then-ends)."""

from __future__ import annotations

from typing import Any


def _attributes(node) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class Sizes:
    """Values of the small integer tensors of a graph, computed on demand (None: not a size)."""

    def __init__(self, nodes, shapes: dict[str, tuple], constants: dict[str, Any]):
        self.made = {name: node for node in nodes for name in node.output}
        self.shapes = shapes
        self.known = dict(constants)

    def value(self, name: str, depth: int = 0):
        if name in self.known:
            return self.known[name]
        node = self.made.get(name)
        if node is None or depth > 64:
            return None
        result = self._compute(node, depth)
        self.known[name] = result
        return result

    def _compute(self, node, depth: int):
        import numpy as np

        a = _attributes(node)
        if node.op_type == "Constant":
            from onnx import numpy_helper

            return numpy_helper.to_array(a["value"]) if "value" in a else None
        if node.op_type == "Shape":
            if node.input[0] in self.known:  # a constant's shape has no batch axis to set to 1
                dims = tuple(np.shape(self.known[node.input[0]]))
                return np.array(dims[a.get("start", 0):a.get("end", len(dims))], dtype=np.int64)
            dims = self.shapes.get(node.input[0], ())
            dims = (1, *dims[1:]) if dims else dims
            if not dims or any(d is None for d in dims):
                return None
            return np.array(dims[a.get("start", 0):a.get("end", len(dims))], dtype=np.int64)
        inputs = [self.value(i, depth + 1) if i else None for i in node.input]
        if any(v is None for v in inputs[:1]) or (node.op_type in ("Add", "Sub", "Mul", "Div", "Gather", "Concat",
                                                                   "Reshape") and any(v is None for v in inputs)):
            return None
        if node.op_type in _RESHAPING:
            return _RESHAPING[node.op_type](inputs, a)
        if node.op_type == "Gather":
            return np.take(inputs[0], inputs[1], axis=a.get("axis", 0))
        if node.op_type in ("Add", "Sub", "Mul"):
            return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply}[node.op_type](inputs[0], inputs[1])
        if node.op_type == "Div":
            integer = inputs[0].dtype.kind in "iu" and inputs[1].dtype.kind in "iu"
            return np.trunc(inputs[0] / inputs[1]).astype(inputs[0].dtype) if integer else inputs[0] / inputs[1]
        if node.op_type == "Unsqueeze":
            axes = a.get("axes", list(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else [0])
            return np.expand_dims(inputs[0], tuple(int(x) for x in axes))
        if node.op_type == "Concat":
            return np.concatenate([np.atleast_1d(v) for v in inputs], axis=a.get("axis", 0))
        if node.op_type == "Cast":
            from onnx import helper

            return inputs[0].astype(helper.tensor_dtype_to_np_dtype(a["to"])) if "to" in a else inputs[0]
        return None


def _constant_of_shape(inputs, a):
    import numpy as np
    from onnx import numpy_helper

    fill = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, dtype=np.float32)
    return np.full(tuple(int(d) for d in inputs[0]), fill.reshape(-1)[0], dtype=fill.dtype)


def _reshape(inputs, a):
    import numpy as np

    data, wanted = inputs[0], [int(d) for d in inputs[1]]
    if not a.get("allowzero", 0):  # 0 keeps the input's size on that axis
        wanted = [data.shape[i] if d == 0 else d for i, d in enumerate(wanted)]
    return np.reshape(data, wanted)


def _slice(inputs, a):
    data = inputs[0]
    starts, ends = (list(inputs[i]) if len(inputs) > i and inputs[i] is not None else None for i in (1, 2))
    if starts is None or ends is None:
        return None
    axes = list(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
    steps = list(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    window = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        window[int(axis)] = _bounded_slice(int(start), int(end), int(step), data.shape[int(axis)])
    return data[tuple(window)]


def _bounded_slice(start: int, end: int, step: int, size: int) -> slice:
    """ONNX's clamped bounds (ends like -2**63 mean 'past the front' for a negative step) as a Python slice."""
    start, end = (v + size if v < 0 else v for v in (start, end))
    if step > 0:
        return slice(min(max(start, 0), size), min(max(end, 0), size), step)
    start = min(max(start, -1), size - 1)
    end = min(max(end, -1), size - 1)
    return slice(start, end if end >= 0 else None, step)


def _transpose(inputs, a):
    import numpy as np

    return np.transpose(inputs[0], a.get("perm"))


#: ops that move a size vector's entries (the pads subgraph of nn.ZeroPad2d without constant folding)
_RESHAPING = {"ConstantOfShape": _constant_of_shape, "Reshape": _reshape, "Slice": _slice, "Transpose": _transpose}


def _computed_input(node, position: int, constants: dict[str, Any]) -> bool:
    return position < len(node.input) and bool(node.input[position]) and node.input[position] not in constants


def _fold_input(graph, node, position: int, value, constants: dict[str, Any]) -> str:
    """Make input `position` of `node` the constant `value`: a new initialiser, by its new name."""
    from onnx import numpy_helper

    name = f"{node.input[position]}__cnncalc_folded"
    graph.initializer.append(numpy_helper.from_array(value, name))
    constants[name] = value
    node.input[position] = name
    return name


def fold_slice_bounds(model, shapes: dict[str, tuple], constants: dict[str, Any]) -> bool:
    """Replace the computed starts/ends of Slices whose output size the graph does not state by
    constants; True when something changed (the caller infers the shapes again)."""
    graph = model.graph
    sizes = Sizes(graph.node, shapes, constants)
    changed = False
    for node in graph.node:
        stated = shapes.get(node.output[0], ())
        if node.op_type != "Slice" or (stated and None not in stated):
            continue
        for position in (1, 2, 3, 4):
            if not _computed_input(node, position, constants):
                continue
            value = sizes.value(node.input[position])
            if value is None:
                break
            _fold_input(graph, node, position, value.astype("int64"), constants)
            changed = True
    return changed


def fold_pad_inputs(model, shapes: dict[str, tuple], constants: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Replace a Pad's computed `pads` and `constant_value` inputs by constants, so that it maps (and
    folds into the next convolution) as a constant Pad does. Returns the new constants, by name, and
    every tensor evaluated on the way: sizes, whose nodes the mapping skips as size computation."""
    graph = model.graph
    sizes = Sizes(graph.node, shapes, constants)
    folded: dict[str, Any] = {}
    for node in graph.node:
        if node.op_type != "Pad":
            continue
        for position in (1, 2):
            if not _computed_input(node, position, constants):
                continue
            value = sizes.value(node.input[position])
            if value is not None:
                folded[_fold_input(graph, node, position, value, constants)] = value
    evaluated = {name for name, value in sizes.known.items() if value is not None and name not in constants}
    return folded, evaluated
