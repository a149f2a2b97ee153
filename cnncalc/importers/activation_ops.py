"""The activations and the patterns of several nodes that are one layer: x * sigmoid(x) = silu,
x * hardsigmoid(x) = hardswish, 0.5 * x * (1 + erf(x / sqrt 2)) = gelu, Clip(0, 6) = relu6.
A mixin of cnncalc/importers/ops.py's Mapper (it uses its graph, `layer` and `producer`)."""

from __future__ import annotations

import math
from cnncalc.records import dataclass
from typing import Any

from cnncalc.importers.reader import Layer


@dataclass(frozen=True)
class Same:
    """The node's output is this tensor (a pass-through)."""

    name: str


class Unmapped(Exception):
    """Raised inside a mapping for a setting with no spec equivalent (becomes CNN706 or an opaque layer)."""


def attrs(node) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def number(value: float) -> float:
    """A float32 attribute as the decimal a person wrote (9.999999747e-06 -> 1e-05)."""
    return float(f"{value:.6g}")


class ActivationOps:
    def op_Mul(self, index, node, a):
        """x * sigmoid(x) is silu, x * hardsigmoid(x) hardswish; a product of two tensors the SE gate."""
        first, second = (self.graph.source(i) for i in node.input)
        for x, gate in ((first, second), (second, first)):
            made = self.producer(gate)
            if made is None:
                continue
            gate_node = self.graph.nodes[made]
            if self.graph.source(gate_node.input[0]) == x and self.only_reader(gate, index):
                if gate_node.op_type == "Sigmoid":
                    return self._fused(made, index, "silu", {}, x)
                if gate_node.op_type == "HardSigmoid" and self._is_hard_sigmoid(attrs(gate_node)):
                    return self._fused(made, index, "hardswish", {}, x)
        gelu = self._gelu(index, node)
        if gelu is not None:
            return gelu
        if self._gelu_inner(index, node):
            return None
        if any(self.constant_like(i) for i in node.input):
            scale = self.layer_scale(index, node)
            if scale is None:
                raise Unmapped("a Mul by a constant that is not one scalar per channel (a layer scale)")
            return scale
        from cnncalc.layers import KINDS

        if "multiply" not in KINDS:
            raise Unmapped("a Mul of two tensors (a squeeze-excitation gate) needs the `multiply` merge")
        return self.layer(index, "multiply", {}, inputs=self.activation_inputs(node))

    def _reads_op(self, node, op_type: str) -> bool:
        made = (self.producer(i) for i in node.input if i)
        return any(m is not None and self.graph.nodes[m].op_type == op_type for m in made)

    def _gelu_inner(self, index, node) -> bool:
        """x * (1 + erf(...)), read only by the final Mul by 0.5 of GELU."""
        readers = self.graph.readers(node.output[0])
        if len(readers) != 1 or self.graph.nodes[readers[0]].op_type != "Mul":
            return False
        if not self._constant_near(self.graph.nodes[readers[0]], 0.5):
            return False
        made = [self.producer(i) for i in node.input]
        return any(m is not None and self.graph.nodes[m].op_type == "Add" and self._reads_op(self.graph.nodes[m], "Erf")
                   for m in made)

    def _fused(self, inner: int, index: int, kind: str, settings: dict, x: str) -> Layer:
        """A pattern ending at node `index` whose other node `inner` is already mapped: that layer goes."""
        self.layers = [layer for layer in self.layers if layer.output != self.graph.nodes[inner].output[0]]
        return self.layer(index, kind, settings, inputs=(x,))

    def _gelu(self, index, node):
        """0.5 * (x * (1 + erf(x / sqrt 2))), as torch.onnx exports nn.GELU(); matched from its last Mul."""
        g = self.graph
        chain = []
        for name in node.input:
            made = self.producer(name)
            if made is not None and g.nodes[made].op_type == "Mul" and self._constant_near(node, 0.5):
                chain = [made]
        if not chain:
            return None
        inner = g.nodes[chain[0]]
        for x_name, add_name in ((inner.input[0], inner.input[1]), (inner.input[1], inner.input[0])):
            add_at = self.producer(add_name)
            if add_at is None or g.nodes[add_at].op_type != "Add":
                continue
            erf_at = next((self.producer(i) for i in g.nodes[add_at].input
                           if self.producer(i) is not None and g.nodes[self.producer(i)].op_type == "Erf"), None)
            if erf_at is None:
                continue
            div_at = self.producer(g.nodes[erf_at].input[0])
            if div_at is None or g.nodes[div_at].op_type != "Div":
                continue
            if g.source(g.nodes[div_at].input[0]) != g.source(x_name):
                continue
            gone = {g.nodes[i].output[0] for i in (chain[0], add_at, erf_at, div_at)}
            self.layers = [layer for layer in self.layers if layer.output not in gone]
            return self.layer(index, "gelu", {}, inputs=(g.source(x_name),))
        return None

    def _constant_near(self, node, value: float) -> bool:
        for name in node.input:
            if self.graph.is_constant(name):
                constant = self.graph.constant(name)
                return constant.size == 1 and math.isclose(float(constant.ravel()[0]), value, rel_tol=1e-6)
        return False

    # -- activations --------------------------------------------------------------------------------

    def _plain(self, kind: str):
        def mapping(index, node, a):
            return self.layer(index, kind, {}, inputs=(self.graph.source(node.input[0]),))

        return mapping

    def __getattr__(self, name: str):
        plain = {"op_Relu": "relu", "op_Sigmoid": "sigmoid", "op_Tanh": "tanh", "op_HardSwish": "hardswish",
                 "op_Mish": "mish"}
        if name in plain:
            return self._plain(plain[name])
        raise AttributeError(name)

    def op_Erf(self, index, node, a):
        """Mapped when the GELU pattern's last Mul is met; an Erf alone has no layer kind."""
        if self._in_gelu(index):
            return None
        raise Unmapped("an Erf outside the GELU pattern")

    def _in_gelu(self, index) -> bool:
        readers = self.graph.readers(self.graph.nodes[index].output[0])
        return len(readers) == 1 and self.graph.nodes[readers[0]].op_type == "Add"

    def op_Div(self, index, node, a):
        readers = self.graph.readers(node.output[0])
        if len(readers) == 1 and self.graph.nodes[readers[0]].op_type == "Erf":
            return None  # part of GELU; the pattern's last Mul maps it
        raise Unmapped("a Div outside the GELU pattern")

    def op_Gelu(self, index, node, a):
        approximate = a.get("approximate", b"none")
        approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
        return self.layer(index, "gelu", {"approximate": approximate} if approximate != "none" else {},
                          inputs=(self.graph.source(node.input[0]),))

    def op_Softmax(self, index, node, a):
        x = self.graph.source(node.input[0])
        rank = len(self.graph.shape(x))
        if a.get("axis", -1) % rank != 1 % rank and rank != 2:
            raise Unmapped("a Softmax over another axis than the channels")
        return self.layer(index, "softmax", {}, inputs=(x,))

    def op_LeakyRelu(self, index, node, a):
        slope = number(a.get("alpha", 0.01))
        return self.layer(index, "leaky_relu", {"negative_slope": slope} if slope != 0.01 else {},
                          inputs=(self.graph.source(node.input[0]),))

    def op_Elu(self, index, node, a):
        alpha = number(a.get("alpha", 1.0))
        return self.layer(index, "elu", {"alpha": alpha} if alpha != 1.0 else {},
                          inputs=(self.graph.source(node.input[0]),))

    @staticmethod
    def _is_hard_sigmoid(a: dict) -> bool:
        return math.isclose(a.get("alpha", 0.2), 1 / 6, rel_tol=1e-5) and math.isclose(a.get("beta", 0.5), 0.5)

    def op_HardSigmoid(self, index, node, a):
        if not self._is_hard_sigmoid(a):
            raise Unmapped("a HardSigmoid with other constants than PyTorch's (alpha 1/6, beta 1/2)")
        return self.layer(index, "hardsigmoid", {}, inputs=(self.graph.source(node.input[0]),))

    def op_PRelu(self, index, node, a):
        from math import prod

        count = prod(self.graph.shape(node.input[1]))
        return self.layer(index, "prelu", {"num_parameters": count} if count != 1 else {},
                          inputs=(self.graph.source(node.input[0]),))

    def op_Clip(self, index, node, a):
        low, high = a.get("min"), a.get("max")
        if len(node.input) > 1 and node.input[1]:
            low = float(self.graph.constant(node.input[1]))
        if len(node.input) > 2 and node.input[2]:
            high = float(self.graph.constant(node.input[2]))
        x = self.graph.source(node.input[0])
        if low == 0 and high == 6:
            return self.layer(index, "relu6", {}, inputs=(x,))
        if low == 0 and (high is None or math.isinf(high)):
            return self.layer(index, "relu", {}, inputs=(x,))
        raise Unmapped(f"a Clip to [{low}, {high}]: only relu6 (0, 6) and relu (0, inf) have spec equivalents")
