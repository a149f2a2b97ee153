"""`cnncalc analyze`: every layer's output volume, parameters, MACs and activations, then the memory summary."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cnncalc.commands.invocation import Invocation
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
    from cnncalc.commands import analyze_run

    analyze_run.analyze(
        Invocation.of(ctx), spec, format=format.value, convention=value(convention), batch=batch, dtype=dtype.value,
        optimizer=optimizer.value, count_bias=count_bias, memory_model=value(memory_model), device=device.value,
        amp=value(amp), cpu=cpu.value, threads=threads, gpu=gpu, pattern=pattern, input=input, define=define,
        settings=settings, count=count.value, by_type=by_type, backward=backward, depth=depth)


def warn_about_cpu(report) -> None:  # cnncalc/commands/report.py's
    from cnncalc.commands.analyze_run import warn_about_cpu as warn

    warn(report)
