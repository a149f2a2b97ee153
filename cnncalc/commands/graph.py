"""`cnncalc graph`: the layer graph alone, as SVG, DOT or Mermaid (cnncalc/render/graph.py)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cnncalc.commands.options import (
    DEFAULT_DTYPE,
    BatchOpt,
    ConventionOpt,
    DefineOpt,
    DtypeOpt,
    InputOpt,
    PatternOpt,
    SetOpt,
    SpecArg,
    choices,
)
from cnncalc.commands.report import OutputOpt, analysed, write

GraphFormat = choices("GraphFormat", ("svg", "dot", "mermaid"))
ColourBy = choices("ColourBy", ("macs", "memory", "none"))


def graph(
    ctx: typer.Context,
    spec: SpecArg = None,
    format: Annotated[GraphFormat, typer.Option("--format", "-f", help="Output format.")] = GraphFormat("svg"),
    output: OutputOpt = None,
    depth: Annotated[Optional[int], typer.Option("--depth", min=0, help="Draw blocks nested deeper than this "
                                                 "as one node each (default: every layer).")] = None,
    colour: Annotated[ColourBy, typer.Option("--color", "--colour", help="SVG: fill nodes by their share of "
                                             "MACs or memory.")] = ColourBy("macs"),
    convention: ConventionOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = DEFAULT_DTYPE,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
) -> None:
    """The layer graph alone, for docs and READMEs: nodes with name, kind and output shape, blocks as clusters."""
    from cnncalc import pipeline
    from cnncalc import report as report_mod
    from cnncalc.render.diagram import Diagram
    from cnncalc.render.graph import render

    analysis = analysed(ctx, spec, pattern, input, define, settings, convention)
    built = report_mod.build(analysis, pipeline.report_options(batch, dtype.value))
    diagram = Diagram(built)
    level = None if depth is None else min(depth, diagram.full_level)
    write(render(diagram, format.value, level, colour.value), output)
