"""`cnncalc fit`: the largest batch (or square input) that fits a memory budget."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cnncalc.commands.invocation import Invocation
from cnncalc.commands.options import (
    DEFAULT_CPU,
    DEFAULT_DEVICE,
    DEFAULT_DTYPE,
    DEFAULT_FORMAT,
    DEFAULT_MODE,
    DEFAULT_OPTIMIZER,
    AmpOpt,
    ConventionOpt,
    CpuOpt,
    DefineOpt,
    DeviceOpt,
    DtypeOpt,
    FormatOpt,
    GpuOpt,
    InputOpt,
    MemoryModelOpt,
    ModeOpt,
    OptimizerOpt,
    PatternOpt,
    SetOpt,
    SpecArg,
    ThreadsOpt,
    value,
)
from cnncalc.errors import EXIT_INVALID, Location, UsageError


def fit(
    ctx: typer.Context,
    spec: SpecArg = None,
    memory: Annotated[Optional[str], typer.Option("--memory", "-m", help="The budget, e.g. 24GiB, 16GB (or 16G), "
                                                  "512MiB; a size needs a unit (default with --gpu: the GPU's "
                                                  "memory).")] = None,
    mode: ModeOpt = DEFAULT_MODE,
    batch: Annotated[
        Optional[int],
        typer.Option("--batch", "-b", min=1, max=10**9, help="The batch you want (with --resolution: the batch used)."),
    ] = None,
    resolution: Annotated[bool, typer.Option("--resolution", help="Find the largest square input instead.")] = False,
    format: FormatOpt = DEFAULT_FORMAT,
    convention: ConventionOpt = None,
    dtype: DtypeOpt = DEFAULT_DTYPE,
    optimizer: OptimizerOpt = DEFAULT_OPTIMIZER,
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
) -> None:
    """The largest batch (or square input) that fits a memory budget, and what to change when none does."""
    import json

    from cnncalc import fitting as fit_mod
    from cnncalc import pipeline
    from cnncalc.units import parse_size

    run = Invocation.of(ctx)
    options = pipeline.report_options(batch or 1, dtype.value, optimizer.value, False, value(memory_model),
                                      device.value, value(amp), cpu.value, threads, gpu)
    if memory is None and options.gpu is None:
        raise UsageError("fit needs a budget: --memory SIZE or --gpu NAME", Location("--memory"),
                         hint="e.g. --memory 24GiB, or --gpu rtx4090", code="CNN501")
    budget = parse_size(memory, "--memory", code="CNN501") if memory is not None else options.gpu.memory_bytes
    analysis = run.analysis(pipeline.Request.of(spec, pattern, input, define, settings), value(convention))
    result = fit_mod.fit(analysis, options, budget, mode.value, None if resolution else batch, resolution)
    if mode.value == "train" and not resolution:
        from cnncalc.layers import norm

        # the batch it answers with may be one PyTorch cannot train (a batch norm over one value per channel)
        run.emit(norm.one_value_per_channel(analysis.results, max(result.batch, 1)))
    label = amp.value + " amp" if amp else dtype.value
    if format.value == "json":
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    elif format.value == "csv":
        sys.stdout.write(fit_mod.to_csv(result))
    elif format.value == "markdown":
        sys.stdout.write(fit_mod.to_markdown(result, label))
    else:
        sys.stdout.write("\n".join(fit_mod.describe(result, label)) + "\n")
    if not result.fits:
        raise typer.Exit(EXIT_INVALID)
