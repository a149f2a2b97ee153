"""`opaque`: a layer cnncalc knows only by its output shape (`cnncalc import --keep-unknown` writes one
for an ONNX op it has no kind for). It counts no parameters and no MACs, which the import report
and the layer's `op` key say; every later layer's numbers stay right because its shape is stated."""

from __future__ import annotations

from cnncalc.errors import SpecError
from cnncalc.layers.base import Context, Inference, LayerKind, MAX_DIM, Param, register, text
from cnncalc.shapes import Shape


def _dims(node) -> tuple[int, ...]:
    value = node.value
    if node.is_sequence:
        parts = [item.value for item in value]
    elif isinstance(value, int) and not isinstance(value, bool):
        parts = [value]
    else:
        parts = str(value).lower().replace(" ", "").split("x")
        parts = [int(p) if p.isdigit() else p for p in parts]
    if not 1 <= len(parts) <= 4 or not all(isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= MAX_DIM
                                          for p in parts):
        raise SpecError(f"cannot read the shape {node.text!r}", node.loc,
                        hint='write the output shape channels last: "7x7x512", [7, 7, 512], or 1000 for a vector')
    return tuple(parts)


_dims.schema = {"anyOf": [{"type": "string", "pattern": "^[0-9]+(x[0-9]+){0,3}$"},
                          {"type": "integer", "minimum": 1},
                          {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 4}]}


@register
class Opaque(LayerKind):
    name = "opaque"
    shorthand = "shape"
    example = "{shape: 4x4x8, op: MyOp}"
    summary = "a layer known only by its output shape (an imported op with no kind): no params, no MACs"
    params = (
        Param("shape", _dims, doc="the output shape, channels last (7x7x512; 1000 for a vector)"),
        Param("op", text, None, "what the layer is (the ONNX op type it was imported from)"),
    )

    def infer(self, p, inputs, ctx: Context) -> Inference:
        *spatial, channels = p["shape"]
        return Inference(output=Shape(tuple(spatial), channels))

    def forward(self, p, inputs, run):
        """A stand-in, zeros of the stated shape: `verify` can run the layers around it, never its values."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        return ForwardResult(np.zeros((x.shape[0], *p["shape"]), dtype=x.dtype))

    def torch_module(self, p, inputs, inference, weights=None):
        from cnncalc.layers import torch_ops

        return torch_ops.Zeros(inference.output.dims)

    def torch_code(self, p, inputs, inference):
        """Nothing to write: the layer's computation is unknown (the exporter refuses it at the layer, CNN610)."""
        from cnncalc.layers.code import NoTorchCode

        raise NoTorchCode(f"an opaque layer ({p.get('op') or 'unknown op'}) has no computation to write as PyTorch; "
                          "replace it with the layers it stands for")

