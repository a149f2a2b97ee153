"""`cnncalc import`: an ONNX model (or a PyTorch module) as a cnncalc spec."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cnncalc.errors import Location, UsageError


def _input_dims(text: str | None) -> tuple[int, ...] | None:
    """`--input 224x224x3` (channels last, as the spec's input) as dims."""
    if text is None:
        return None
    parts = text.lower().replace(" ", "").split("x")
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise UsageError(f"--input: cannot read {text!r}", Location("cnncalc"),
                         hint="write H x W x C, e.g. --input 224x224x3")
    return tuple(int(p) for p in parts)


def import_(
    model: Annotated[Optional[str], typer.Argument(help="The ONNX file (MODEL.onnx).", show_default=False)] = None,
    torch: Annotated[Optional[str], typer.Option("--torch", help="module.path:factory building an nn.Module "
                                                 "(exported to ONNX in memory; the model is not changed).")] = None,
    input: Annotated[Optional[str], typer.Option("--input", "-i", help="Input size H x W x C (the ONNX graph's "
                                                 "own otherwise; required with --torch unless 224x224x3).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the spec here (else standard "
                                                   "output).")] = None,
    keep_unknown: Annotated[bool, typer.Option("--keep-unknown", help="Record ops cnncalc cannot map as opaque "
                                               "layers (their output shape, no counts) instead of failing.")] = False,
    name: Annotated[Optional[str], typer.Option("--name", help="The spec's name (else the file or factory name).")] = None,
) -> None:
    """Read an ONNX graph (or trace a PyTorch module with --torch) and write a spec `analyze` reads unchanged.

    Every node is mapped to a layer kind (an unmapped op is an error naming the node, CNN701, unless
    --keep-unknown), every shape is checked against the graph's, and repeated structures become blocks."""
    from cnncalc.importers import onnx_import, reader

    dims = _input_dims(input)
    if (model is None) == (torch is None):
        raise UsageError("give an ONNX file or --torch module.path:factory (one of them)", Location("cnncalc"),
                         hint="e.g. cnncalc import resnet50.onnx -o resnet50.yaml")
    if torch is not None:
        from cnncalc.importers import torch_source

        module = torch_source.build_module(torch)
        data = torch_source.to_onnx_bytes(module, dims or (224, 224, 3))
        path = torch
        loaded = reader.parse_model(data, path)
        title = name or torch.rpartition(":")[2]
        result = onnx_import.import_model(loaded, path, keep_unknown, None, title)
    else:
        result = onnx_import.import_model(reader.load_model(model), model, keep_unknown, dims, name)
    if output is None:
        sys.stdout.write(result.text)
    else:
        output.write_text(result.text, encoding="utf-8")
    summary = f"cnncalc import: {result.nodes} ONNX nodes -> {result.layers} layers"
    if result.opaque:
        summary += f", {result.opaque} opaque (no counts: their params and MACs are not in the totals)"
    lines = [summary + (f"; wrote {output}" if output is not None else "")]
    lines += [f"  note: {note}" for note in result.notes]
    sys.stderr.write("\n".join(lines) + "\n")


#: the command is `import`, a Python keyword: the function is import_, named like the others' for the app
import_.__name__ = "import"
