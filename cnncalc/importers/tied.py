"""Tied weights: one initialiser that several layers read directly, as torch.onnx writes a parameter
two layers share (a module called twice, tied linears). PyTorch counts it once; a spec, whose layers
each count their own parameters, cannot say that two layers share one, so the import names the
layers in the spec's comment and gives the model's count (cnncalc/importers/onnx_import.py)."""

from __future__ import annotations

from cnncalc.records import dataclass

from cnncalc.importers.reader import Graph, Layer

#: the inputs of each weighted op that are parameters (a batch norm's running statistics are buffers)
PARAMETER_INPUTS = {"Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,),
                    "BatchNormalization": (1, 2), "LayerNormalization": (1, 2), "PRelu": (1,), "Mul": (0, 1),
                    "Add": (0, 1)}


@dataclass(frozen=True)
class Tied:
    """One initialiser that several layers read directly: a tied parameter, which PyTorch counts once."""

    name: str
    #: its elements
    size: int
    #: the nodes that read it, as graph.where names them, in graph order
    readers: tuple[str, ...]

    @property
    def extra(self) -> int:
        """What a spec, which counts each layer's parameters, counts more than the model has."""
        return self.size * (len(self.readers) - 1)


def _parameter_source(graph: Graph, name: str, transposed: dict) -> str | None:
    """The initialiser a parameter input reads, directly or through a Transpose (nn.Linear's weight.t()
    before a MatMul); None for an alias (the exporter's merge of equal values: separate parameters)."""
    if name in graph.aliases:
        return None
    made = transposed.get(name)
    if made is not None:
        name = made.input[0]
        if name in graph.aliases:
            return None
    return name if name in graph.initialisers else None


def tied_weights(graph: Graph, layers: list[Layer]) -> list[Tied]:
    """Weights that several layers really share: one initialiser named directly by several nodes, as
    torch.onnx writes a tied parameter (a module called twice, tied embeddings). Identical values the
    exporter merged reach their users through Identity nodes instead; they are separate parameters in
    PyTorch and counted right, since every layer's params come from its own shapes."""
    from math import prod

    mapped = {layer.where for layer in layers}
    transposed = {node.output[0]: node for node in graph.nodes if node.op_type == "Transpose"}
    users: dict[str, list[int]] = {}
    for index, node in enumerate(graph.nodes):
        if node.op_type in ("Add", "Mul") and graph.where(index) not in mapped:
            continue  # only a layer's own Add (an fc's bias) or Mul (a layer scale); not GELU's constants
        for position in PARAMETER_INPUTS.get(node.op_type, ()):
            source = _parameter_source(graph, node.input[position], transposed) if position < len(node.input) else None
            if source is not None and index not in users.get(source, []):
                users.setdefault(source, []).append(index)
    return [Tied(name, prod(graph.shape(name)), tuple(graph.where(i) for i in nodes))
            for name, nodes in users.items() if len(nodes) > 1]
