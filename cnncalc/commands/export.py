"""`cnncalc export`: the spec written as another framework's code (PyTorch: a torch nn.Module)."""

from __future__ import annotations

from typing import Annotated

import typer

from cnncalc.commands.invocation import Invocation
from cnncalc.commands.options import ConventionOpt, DefineOpt, InputOpt, PatternOpt, SetOpt, SpecArg, choices, value
from cnncalc.commands.report import OutputOpt, write

Target = choices("Target", ("pytorch",))


def export(
    ctx: typer.Context,
    spec: SpecArg = None,
    to: Annotated[Target, typer.Option("--to", help="What to write: pytorch (a Python file defining a torch "
                                       "nn.Module).")] = Target("pytorch"),
    output: OutputOpt = None,
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
    from cnncalc.errors import EXIT_INVALID
    from cnncalc.exporters import pytorch

    run = Invocation.of(ctx)
    source = run.source(pipeline.Request.of(spec, pattern, input, define, settings))
    analysis = pipeline.analyze_source(source, value(convention))
    run.emit(analysis.diagnostics)
    if not analysis.ok:
        raise typer.Exit(EXIT_INVALID)
    write(pytorch.export(source.spec(), analysis), output)
