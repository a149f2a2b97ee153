"""`cnncalc rf`: the receptive field of every layer and axis."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cnncalc.commands.invocation import Invocation
from cnncalc.commands.options import ConventionOpt, DefineOpt, InputOpt, PatternOpt, SetOpt, SpecArg, choices, value

RfFormat = choices("RfFormat", ("table", "json", "markdown"))


def rf(
    ctx: typer.Context,
    spec: SpecArg = None,
    format: Annotated[RfFormat, typer.Option("--format", "-f", help="Output format.")] = RfFormat("table"),
    convention: ConventionOpt = None,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
) -> None:
    """Receptive field of every layer and axis: size, jump (effective stride), padding before and after,
    the centre of output 0's field, and branches that meet misaligned."""
    from cnncalc import pipeline
    from cnncalc.render import receptive as render

    run = Invocation.of(ctx)
    analysis = run.analysis(pipeline.Request.of(spec, pattern, input, define, settings), value(convention))
    if format.value == "json":
        sys.stdout.write(render.to_json(analysis))
    elif format.value == "markdown":
        sys.stdout.write(render.to_markdown(analysis))
    else:
        from rich.console import Console

        console = Console(highlight=False)
        render.render(analysis, console if console.is_terminal else Console(highlight=False, width=160))
