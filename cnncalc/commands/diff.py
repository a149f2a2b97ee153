"""`cnncalc diff`: two specs compared layer by layer."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cnncalc.commands.invocation import Invocation
from cnncalc.commands.options import (
    DEFAULT_COUNT,
    DEFAULT_DTYPE,
    DEFAULT_OPTIMIZER,
    BatchOpt,
    ConventionOpt,
    CountOpt,
    DtypeOpt,
    MemoryModel,
    OptimizerOpt,
    choices,
    value,
)
from cnncalc.errors import EXIT_INVALID

DiffFormat = choices("DiffFormat", ("table", "json", "markdown"))


def diff(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="The spec before (a YAML file, or - for standard input).", metavar="A")],
    b: Annotated[str, typer.Argument(help="The spec after (a YAML file, or - for standard input).", metavar="B")],
    format: Annotated[DiffFormat, typer.Option("--format", "-f", help="Output format (markdown: a GitHub "
                                               "table for a pull-request comment).")] = DiffFormat("table"),
    fail_on: Annotated[
        Optional[list[str]],
        typer.Option("--fail-on", metavar="METRIC:+LIMIT",
                     help="Exit 1 when B exceeds A by more than this: params, macs, activations, memory "
                     "(training peak) or inference (peak), absolute (+2M, +256MiB) or relative (+5%). "
                     "Repeat for several."),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Also list unchanged layers.")] = False,
    convention: ConventionOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = DEFAULT_DTYPE,
    optimizer: OptimizerOpt = DEFAULT_OPTIMIZER,
    memory_model: Annotated[MemoryModel, typer.Option("--memory-model", help="pytorch (the default: it says "
                                                      "where each peak is) or textbook.")] = MemoryModel("pytorch"),
    count: CountOpt = DEFAULT_COUNT,
) -> None:
    """Compare two specs layer by layer (aligned, so an inserted block is one insertion): the change in
    parameters, MACs, activations and memory peaks. Exit 1 when a --fail-on budget is exceeded."""
    from cnncalc import diff as diff_mod
    from cnncalc import pipeline
    from cnncalc import report as report_mod
    from cnncalc.render import diff as render

    run = Invocation.of(ctx)
    budgets = [diff_mod.parse_budget(text) for text in fail_on or []]
    options = pipeline.report_options(batch, dtype.value, optimizer.value, memory_model=memory_model.value,
                                      count=count.value)
    reports = []
    for path in (a, b):
        source = run.source(pipeline.Request.of(path))
        analysis = pipeline.analyze_source(source, value(convention))
        run.emit(analysis.diagnostics)
        if not analysis.ok:
            raise typer.Exit(EXIT_INVALID)
        reports.append(report_mod.build(analysis, options))
    comparison = diff_mod.compare(*reports)
    failures = diff_mod.over_budget(comparison, budgets)
    render.emit(comparison, failures, budgets, format.value, everything)
    if failures:
        raise typer.Exit(EXIT_INVALID)
