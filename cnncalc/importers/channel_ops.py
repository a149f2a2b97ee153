"""The channel ops of ShuffleNet-like graphs: Split (and the Slices `x.chunk` exports) as channel
slices, and the reshape-transpose-reshape of a channel shuffle. A mixin of cnncalc/importers/ops.py's
Mapper (it uses its graph, `layer` and `skipped`)."""

from __future__ import annotations

from cnncalc.importers.activation_ops import Unmapped, attrs
from cnncalc.importers.reader import Layer


class ChannelOps:
    def _channel_shuffle(self, index, node, x, out):
        """Reshape to (N, g, C/g, H, W), Transpose (0, 2, 1, 3, 4), Reshape back: ShuffleNet's
        channel_shuffle, mapped at the first Reshape (the other two are skipped)."""
        dims = self.graph.shape(x)
        readers = self.graph.readers(node.output[0])
        if len(out) != len(dims) + 1 or len(readers) != 1 or tuple(out[3:]) != tuple(dims[2:]):
            return None
        transpose = self.graph.nodes[readers[0]]
        perm = list(attrs(transpose).get("perm", []))
        if transpose.op_type != "Transpose" or perm != [0, 2, 1, *range(3, len(out))]:
            return None
        after = self.graph.readers(transpose.output[0])
        if len(after) != 1 or self.graph.nodes[after[0]].op_type != "Reshape":
            return None
        if tuple(self.graph.shape(self.graph.nodes[after[0]].output[0])) != tuple(dims):
            return None
        self.skipped |= {readers[0], after[0]}
        return self.layer(after[0], "channel_shuffle", {"groups": out[1]}, inputs=(x,))

    def op_Split(self, index, node, a):
        """torch.chunk / torch.split along the channels: one `channel_slice` per output (the structure
        step makes them a `split:` construct where their branches merge again)."""
        x = self.graph.source(node.input[0])
        rank = len(self.graph.shape(x))
        if a.get("axis", 0) % rank != 1:
            raise Unmapped("a Split along another axis than the channels")
        sizes = [self.graph.shape(name)[1] for name in node.output]
        equal = len(set(sizes)) == 1
        for position, name in enumerate(node.output):
            settings = {"index": position, "groups": len(sizes)} if equal else {"index": position, "sections": sizes}
            self.layers.append(Layer("channel_slice", tuple(settings.items()), (x,), name,
                                     self.out_shape(index, name), self.graph.where(index)))
        return None

    def op_Slice(self, index, node, a):
        """x.chunk(n, dim=1) as torch.onnx writes it: Slices of one tensor along the channels whose
        pieces cover it (their bounds computed from its shape, so read from the pieces' sizes):
        `channel_slice` i of them, ordered by where they start (a constant 0 first, else graph order)."""
        x = self.graph.source(node.input[0])
        axes = a.get("axes")
        if axes is None and len(node.input) > 3 and node.input[3]:
            axes = self.graph.constant(node.input[3])
        dims = self.graph.shape(x)
        if axes is None or [int(v) % len(dims) for v in list(axes)] != [1]:
            raise Unmapped("a Slice along another axis than the channels")
        pieces = [i for i in self.graph.readers(x) if self.graph.nodes[i].op_type == "Slice"]
        sizes = [(self.graph.shape(self.graph.nodes[i].output[0]) or (None, None))[1] for i in pieces]
        if None in sizes:
            raise Unmapped("a Slice whose size the graph does not state (bounds cnncalc cannot compute)")
        if sum(sizes) != dims[1] or any(tuple(self.graph.shape(self.graph.nodes[i].output[0])[2:]) != tuple(dims[2:])
                                        for i in pieces):
            raise Unmapped("a Slice of the channels that is not one of pieces covering them (x.chunk)")
        order = sorted(pieces, key=lambda i: (not self._starts_at_zero(self.graph.nodes[i]), i))
        sizes = [self.graph.shape(self.graph.nodes[i].output[0])[1] for i in order]
        position = order.index(index)
        settings = ({"index": position, "groups": len(sizes)} if len(set(sizes)) == 1
                    else {"index": position, "sections": sizes})
        return self.layer(index, "channel_slice", settings, inputs=(x,))

    def _starts_at_zero(self, node) -> bool:
        starts = self.graph.constant(node.input[1]) if len(node.input) > 1 else None
        return starts is not None and starts.size == 1 and int(starts.ravel()[0]) == 0
