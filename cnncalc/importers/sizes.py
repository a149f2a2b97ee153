"""Sizes a graph computes from its own shapes (torch.onnx writes `x.chunk(2, dim=1)` as Slices whose
bounds are Shape -> Gather -> Add -> Div -> Mul of the input): evaluated here from the inferred shapes,
so that a second shape inference, with those bounds as constants, knows every tensor's size."""

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
            dims = self.shapes.get(node.input[0], ())
            dims = (1, *dims[1:]) if dims else dims
            if not dims or any(d is None for d in dims):
                return None
            return np.array(dims[a.get("start", 0):a.get("end", len(dims))], dtype=np.int64)
        inputs = [self.value(i, depth + 1) if i else None for i in node.input]
        if any(v is None for v in inputs[:1]) or (node.op_type in ("Add", "Sub", "Mul", "Div", "Gather", "Concat")
                                                  and any(v is None for v in inputs)):
            return None
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
            return inputs[0].astype(np.int64) if inputs[0].dtype.kind in "iub" else inputs[0]
        return None


def fold_slice_bounds(model, shapes: dict[str, tuple], constants: dict[str, Any]) -> bool:
    """Replace the computed starts/ends of Slices whose output size the graph does not state by
    constants; True when something changed (the caller infers the shapes again)."""
    from onnx import numpy_helper

    graph = model.graph
    sizes = Sizes(graph.node, shapes, constants)
    changed = False
    for node in graph.node:
        stated = shapes.get(node.output[0], ())
        if node.op_type != "Slice" or (stated and None not in stated):
            continue
        for position in (1, 2, 3, 4):
            if position >= len(node.input) or not node.input[position] or node.input[position] in constants:
                continue
            value = sizes.value(node.input[position])
            if value is None:
                break
            name = f"{node.input[position]}__cnncalc_folded"
            graph.initializer.append(numpy_helper.from_array(value.astype("int64"), name))
            constants[name] = value.astype("int64")
            node.input[position] = name
            changed = True
    return changed
