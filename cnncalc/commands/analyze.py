"""`cnncalc analyze`: every layer's output volume, parameters, MACs and activations, then the memory summary."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cnncalc.commands.invocation import Invocation, stderr
from cnncalc.commands.options import (
    DEFAULT_COUNT,
    DEFAULT_CPU,
    DEFAULT_DEVICE,
    DEFAULT_DTYPE,
    DEFAULT_FORMAT,
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
    Format,
    GpuOpt,
    FormatOpt,
    InputOpt,
    MemoryModelOpt,
    OptimizerOpt,
    PatternOpt,
    SetOpt,
    SpecArg,
    ThreadsOpt,
    value,
)

ByTypeOpt = Annotated[bool, typer.Option("--by-type", help="Also print layers, params, MACs and FLOPs per layer type.")]
BackwardOpt = Annotated[bool, typer.Option("--backward", help="Also print each conv/fc layer's backward MACs "
                                           "(input and weight gradients).")]


def analyze(
    ctx: typer.Context,
    spec: SpecArg = None,
    format: FormatOpt = DEFAULT_FORMAT,
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
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
    count: CountOpt = DEFAULT_COUNT,
    by_type: ByTypeOpt = False,
    backward: BackwardOpt = False,
    depth: Annotated[
        Optional[int],
        typer.Option("--depth", min=0, max=64, help="Block levels the table shows; deeper blocks fold into one row "
                     "with their totals (torchinfo's depth; default: every level)."),
    ] = None,
) -> None:
    """Print every layer's output volume, parameters, MACs and activations, then the memory summary."""
    from cnncalc import pipeline
    from cnncalc import report as report_mod

    run = Invocation.of(ctx)
    analysis = run.analysis(pipeline.Request.of(spec, pattern, input, define, settings), value(convention))
    options = pipeline.report_options(batch, dtype.value, optimizer.value, count_bias, value(memory_model),
                                      device.value, value(amp), cpu.value, threads, gpu, count=count.value)
    built = report_mod.build(analysis, options)
    run.emit(report_mod.training_warnings(analysis, options))  # those of the batch: the analysis' are shown
    del analysis  # the report holds what is printed: a million layers' nodes and shapes are freed first
    warn_about_cpu(built)
    render(built, format, backward, depth)
    if by_type or backward:
        from cnncalc.render import counting as render_counting

        render_counting.emit(built, format.value, by_type, backward)


def warn_about_cpu(report) -> None:
    modelled = report.memory.cpu
    if modelled is not None and modelled.warning():
        stderr(f"warning: {modelled.warning()}")


def render(report, format: Format, backward: bool = False, depth: int | None = None) -> None:
    if format.value == "table":
        from rich.console import Console

        from cnncalc.render.table import render as table

        table(report, Console(highlight=False), depth)
        return
    from cnncalc.render import machine

    if format.value == "csv":
        sys.stdout.write(machine.to_csv(report, backward))  # --backward: three more columns
        return
    if format.value == "json":
        machine.write_json(report, sys.stdout)
        return
    sys.stdout.write(machine.to_markdown(report))
