"""Channels-last storage, as torchvision's ConvNeXt writes it: Transpose (0, 2, 3, 1) -> LayerNormalization
over the last axis -> Transpose (0, 3, 1, 2) is LayerNorm2d, one `layernorm` over the channels; inside
its block, a Transpose is a `permute` and the layers between the two permutes read a channels-last
tensor (a MatMul there is an `fc` per position). Mul by a per-channel constant is a `layer_scale`.
A mixin of cnncalc/importers/ops.py's Mapper (it uses its graph, `layer`, `skipped` and `nhwc`, the
tensors stored channels last).
"""

from __future__ import annotations

from math import prod

from cnncalc.importers.activation_ops import Same, Unmapped, attrs, number


def to_last(rank: int) -> list[int]:
    """The perm of NC* -> N*C for a tensor of `rank` axes (batch included)."""
    return [0, *range(2, rank), 1]


def to_first(rank: int) -> list[int]:
    return [0, rank - 1, *range(1, rank - 1)]


#: ops that only view a constant's values in another shape
CONSTANT_VIEWS = ("Transpose", "Reshape", "Unsqueeze")


class LayoutOps:
    def op_Transpose(self, index, node, a):
        if self.constant_like(node.input[0]):
            return None  # a weight transposed for the layer reading it (which maps it)
        x = self.graph.source(node.input[0])
        rank = len(self.graph.shape(x))
        perm = [axis % rank for axis in a.get("perm", reversed(range(rank)))]  # torch may write -1
        if rank >= 3 and perm == to_last(rank) and x not in self.nhwc:
            folded = self._layer_norm_2d(index, node, x, rank)
            if folded is not None:
                return folded
            return self.layer(index, "permute", {"to": "channels_last"}, inputs=(x,))
        if rank >= 3 and perm == to_first(rank) and x in self.nhwc:
            return self.layer(index, "permute", {"to": "channels_first"}, inputs=(x,))
        if perm == list(range(rank)):
            return Same(x)
        raise Unmapped(f"a Transpose {perm} that is not a layout change between channels first and last")

    def _only_reader(self, name: str, op_type: str):
        readers = self.graph.readers(name)
        if len(readers) == 1 and self.graph.nodes[readers[0]].op_type == op_type:
            return readers[0]
        return None

    def _layer_norm_2d(self, index, node, x, rank):
        """Transpose -> LayerNormalization (last axis) -> Transpose back: LayerNorm2d, one `layernorm`
        on the channels-first tensor (mapped at the last Transpose; the other two are skipped)."""
        norm = self._only_reader(node.output[0], "LayerNormalization")
        if norm is None or attrs(self.graph.nodes[norm]).get("axis", -1) % rank != rank - 1:
            return None
        back = self._only_reader(self.graph.nodes[norm].output[0], "Transpose")
        if back is None or [p % rank for p in attrs(self.graph.nodes[back]).get("perm", [])] != to_first(rank):
            return None
        settings = self._norm_settings(norm)
        self.skipped |= {norm, back}
        return self.layer(back, "layernorm", settings, inputs=(x,))

    def _norm_settings(self, index) -> dict:
        node = self.graph.nodes[index]
        if len(node.input) < 3 or not node.input[2]:
            raise Unmapped("a LayerNormalization without a bias (cnncalc's affine layernorm has a scale and a shift)")
        eps = number(attrs(node).get("epsilon", 1e-5))
        return {"eps": eps} if eps != 1e-5 else {}

    def op_LayerNormalization(self, index, node, a):
        """Over the channels: the last axis of a channels-last map, or of a (batch, features) vector."""
        x = self.graph.source(node.input[0])
        rank = len(self.graph.shape(x))
        if a.get("axis", -1) % rank != rank - 1 or not (x in self.nhwc or rank == 2):
            raise Unmapped("a LayerNormalization over other axes than the channels")
        return self.layer(index, "layernorm", self._norm_settings(index), inputs=(x,))

    def constant_like(self, name: str) -> bool:
        """A constant, or a Transpose or Reshape of one: nn.Linear's weight.t() before a MatMul, a
        (C,) layer scale viewed as (C, 1, 1) (nothing a layer computes on data)."""
        if self.graph.is_constant(name):
            return True
        made = self.producer(name)
        return made is not None and self.graph.nodes[made].op_type in CONSTANT_VIEWS and \
            self.constant_like(self.graph.nodes[made].input[0])

    def weight_shape(self, name: str) -> tuple | None:
        """The shape of a weight (constant_like), as the node reading it sees it."""
        return tuple(self.graph.shape(name)) if self.constant_like(name) else None

    def layer_scale(self, index, node):
        """x times a learned constant of one scalar per channel (ConvNeXt's layer scale), or None."""
        constant = [i for i in node.input if self.constant_like(i)]
        data = [self.graph.source(i) for i in node.input if not self.constant_like(i)]
        if len(constant) != 1 or len(data) != 1:
            return None
        x, scale = data[0], tuple(self.graph.shape(constant[0]))
        dims = self.graph.shape(x)
        channels = dims[-1] if x in self.nhwc else dims[1] if len(dims) > 1 else None
        per_channel = (scale == (channels,)) if x in self.nhwc else \
            (len(scale) == len(dims) - 1 and scale[0] == channels and prod(scale) == channels)
        if not per_channel or channels == 1:
            return None
        return self.layer(index, "layer_scale", {}, inputs=(x,))
