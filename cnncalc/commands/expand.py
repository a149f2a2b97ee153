"""`cnncalc expand`: the layer list a pattern (or a spec's repeat blocks) expands to."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cnncalc import __version__
from cnncalc.commands.invocation import Invocation
from cnncalc.commands.options import DefineOpt, InputOpt, PatternOpt, SetOpt, SpecArg, choices
from cnncalc.errors import Location, UsageError

ExpandFormat = choices("ExpandFormat", ("text", "yaml"))


def expand(
    ctx: typer.Context,
    spec: SpecArg = None,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
    format: Annotated[ExpandFormat, typer.Option("--format", "-f", help="text (a list) or yaml (a spec).")] = (
        ExpandFormat("text")
    ),
) -> None:
    """Print the layer list a pattern (or a spec's repeat blocks) expands to; --format yaml writes a spec
    that `analyze` reads unchanged."""
    from cnncalc import graph, pipeline
    from cnncalc.render import expansion

    run = Invocation.of(ctx)
    source = run.source(pipeline.Request.of(spec, pattern, input, define, settings))
    model = graph.build(source.spec())
    if format.value == "yaml":
        if not expansion.is_chain(model):
            raise UsageError("--format yaml writes a plain chain of layers; this model has branches or blocks",
                             Location(spec or "<pattern>"), hint="use the text format to list its layers")
        bound = " ".join(define or [])
        comment = f"Expanded by cnncalc {__version__} from {source.given}" + (f"\nwith {bound}" if bound else "")
        sys.stdout.write(expansion.to_yaml(model, comment))
    else:
        sys.stdout.write(expansion.to_text(model))
