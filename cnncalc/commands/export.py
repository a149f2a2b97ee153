"""`cnncalc export`: the spec written as another framework's code (PyTorch: a torch nn.Module)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cnncalc.commands.invocation import Invocation
from cnncalc.commands.options import ConventionOpt, DefineOpt, InputOpt, PatternOpt, SetOpt, SpecArg, choices, value
from cnncalc.commands.report import OutputOpt, write

Target = choices("Target", ("pytorch", "onnx"))


def export(
    ctx: typer.Context,
    spec: SpecArg = None,
    to: Annotated[Target, typer.Option("--to", help="What to write: pytorch (a Python file defining a torch "
                                       "nn.Module) or onnx (that module through torch.onnx.export; needs torch "
                                       "and -o).")] = Target("pytorch"),
    output: OutputOpt = None,
    weights: Annotated[Optional[str], typer.Option("--weights", metavar="FILE", help="--to onnx: load these "
                       "weights (`cnncalc verify --save-weights`) first; default: PyTorch's initialisation, "
                       "seeded.")] = None,
    convention: ConventionOpt = None,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
) -> None:
    """Write the spec as PyTorch code: an nn.Module whose attributes are the layer names, one class per
    block, repeats as loops; it reproduces cnncalc's shapes, params and MACs, and with load_weights() the
    weights `cnncalc verify --save-weights` saved, the executor's outputs. Imports only torch."""
    from cnncalc import pipeline
    from cnncalc.errors import EXIT_INVALID, Location, UsageError
    from cnncalc.exporters import pytorch

    if to.value == "onnx" and output is None:
        raise UsageError("--to onnx writes a binary file: name it with -o", Location("-o"),
                         hint="e.g. cnncalc export spec.yaml --to onnx -o model.onnx", code="CNN611")
    run = Invocation.of(ctx)
    source = run.source(pipeline.Request.of(spec, pattern, input, define, settings))
    analysis = pipeline.analyze_source(source, value(convention))
    run.emit(analysis.diagnostics)
    if not analysis.ok:
        raise typer.Exit(EXIT_INVALID)
    code = pytorch.export(source.spec(), analysis)
    if to.value == "onnx":
        from cnncalc.exporters import onnx

        onnx.write(code, output, weights)
    else:
        write(code, output)
