"""`cnncalc report`: one self-contained HTML page (cnncalc/render/html.py)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cnncalc.commands.invocation import Invocation
from cnncalc.commands.options import (
    DEFAULT_COUNT,
    DEFAULT_CPU,
    DEFAULT_DEVICE,
    DEFAULT_DTYPE,
    DEFAULT_OPTIMIZER,
    AmpOpt,
    BatchOpt,
    ConventionOpt,
    CountBiasOpt,
    CountOpt,
    CpuOpt,
    DefineOpt,
    DeviceOpt,
    DtypeOpt,
    GpuOpt,
    InputOpt,
    MemoryModelOpt,
    OptimizerOpt,
    PatternOpt,
    SetOpt,
    SpecArg,
    ThreadsOpt,
    value,
)
from cnncalc.errors import Location, UsageError

OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="Write to this file (default: standard "
                                                  "output).", metavar="FILE")]


def write(text: str, output: str | None) -> None:
    """To standard output, or to the file `-o` names (a located error where it cannot be written)."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}", Location(output)) from None


def analysed(ctx: typer.Context, spec, pattern, input, define, settings, convention):
    """The analysis of the command's source, its diagnostics shown; exit 1 when the model is invalid."""
    from cnncalc import pipeline

    return Invocation.of(ctx).analysis(pipeline.Request.of(spec, pattern, input, define, settings), value(convention))


def report(
    ctx: typer.Context,
    spec: SpecArg = None,
    output: OutputOpt = None,
    convention: ConventionOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = DEFAULT_DTYPE,
    optimizer: OptimizerOpt = DEFAULT_OPTIMIZER,
    count_bias: CountBiasOpt = False,
    memory_model: MemoryModelOpt = None,
    device: DeviceOpt = DEFAULT_DEVICE,
    amp: AmpOpt = None,
    cpu: CpuOpt = DEFAULT_CPU,
    threads: ThreadsOpt = None,
    gpu: GpuOpt = None,
    count: CountOpt = DEFAULT_COUNT,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
) -> None:
    """Write one self-contained HTML page (no network): the graph, the sortable layer table, live memory
    over a training step and the totals."""
    from cnncalc import pipeline
    from cnncalc import report as report_mod
    from cnncalc.commands.analyze import warn_about_cpu
    from cnncalc.render import html

    analysis = analysed(ctx, spec, pattern, input, define, settings, convention)
    options = pipeline.report_options(batch, dtype.value, optimizer.value, count_bias, value(memory_model),
                                      device.value, value(amp), cpu.value, threads, gpu, count=count.value)
    built = report_mod.build(analysis, options)
    warn_about_cpu(built)
    write(html.render(analysis, built), output)
