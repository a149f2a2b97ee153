"""`cnncalc sweep`: every combination of a pattern's variables, one row each."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cnncalc.commands.invocation import Invocation, stderr
from cnncalc.commands.options import (
    DEFAULT_CPU,
    DEFAULT_DEVICE,
    DEFAULT_DTYPE,
    DEFAULT_MODE,
    DEFAULT_OPTIMIZER,
    AmpOpt,
    BatchOpt,
    ConventionOpt,
    CountBiasOpt,
    CpuOpt,
    DefineOpt,
    DeviceOpt,
    GpuOpt,
    DtypeOpt,
    InputOpt,
    MaxMemoryOpt,
    MaxParamsOpt,
    MemoryModelOpt,
    ModeOpt,
    OptimizerOpt,
    PatternOpt,
    SetOpt,
    SpecArg,
    ThreadsOpt,
    choices,
    value,
)
from cnncalc.errors import EXIT_INVALID

SweepFormat = choices("SweepFormat", ("table", "json", "csv"))
SortKey = choices("SortKey", ("variant", "params", "macs", "inference", "training"))
#: the old `--memory training|inference`, kept as a hidden alias of --mode train|infer
MemoryKind = choices("MemoryKind", ("training", "inference"))


def sweep(
    ctx: typer.Context,
    spec: SpecArg = None,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
    optionals: Annotated[bool, typer.Option("--optionals", help="Also try every '?' on and off (OPT1, OPT2...).")]
    = False,
    max_params: MaxParamsOpt = None,
    max_memory: MaxMemoryOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    memory: Annotated[Optional[MemoryKind], typer.Option("--memory", hidden=True, help="Deprecated: --mode.")] = None,
    sort: Annotated[SortKey, typer.Option("--sort", help="Order of the rows.")] = SortKey("variant"),
    format: Annotated[SweepFormat, typer.Option("--format", "-f", help="Output format.")] = SweepFormat("table"),
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
) -> None:
    """Analyse every combination of the variables' values (-D N=0..3 -D M=1,2,4): one row per variant with
    its first error or its parameters, MACs and memory. Exit 0 when a variant is valid (and within the
    budget), 1 when none is."""
    from cnncalc import pipeline
    from cnncalc import sweep as sweep_mod
    from cnncalc.render import sweep as render
    from cnncalc.units import parse_amount, parse_size

    run = Invocation.of(ctx)
    source = pipeline.sweepable(pipeline.resolve_source(
        pipeline.Request.of(spec, pattern, input, define, settings), run.texts))
    if optionals:
        source = _with_optionals(source)
    chosen_mode = mode.value
    if memory is not None:
        stderr("warning: sweep --memory training|inference is deprecated; use --mode train|infer")
        chosen_mode = "train" if memory.value == "training" else "infer"
    budget = sweep_mod.Budget(
        parse_amount(max_params, "--max-params") if max_params is not None else None,
        parse_size(max_memory, "--max-memory") if max_memory is not None else None,
        chosen_mode,
    )
    options = pipeline.report_options(batch, dtype.value, optimizer.value, count_bias, value(memory_model),
                                      device.value, value(amp), cpu.value, threads, gpu)
    chosen = pipeline.resolve_convention(value(convention), source.convention)
    every = sweep_mod.run(source, chosen, options)
    shown = sweep_mod.select(every, budget, sort.value)
    if format.value == "json":
        header = {"convention": chosen.name, "batch": batch, "dtype": dtype.value, "optimizer": optimizer.value}
        sys.stdout.write(render.to_json(source.text, shown, every, budget, header))
    elif format.value == "csv":
        sys.stdout.write(render.to_csv(shown, budget))
    else:
        from rich.console import Console

        Console(highlight=False).print(render.table(source.name, shown, every, budget))
    if not any(budget.allows(v) if budget.given else v.valid for v in every):
        raise typer.Exit(EXIT_INVALID)


def _with_optionals(source):
    """Every '?' not already bound tried both ways."""
    from cnncalc import pattern as pattern_mod
    from cnncalc.errors import Location

    extra = {}
    for index, node in enumerate(pattern_mod.optionals(source.ast), start=1):
        name = f"OPT{index}"
        if name not in source.bindings and pattern_mod.switch_word(node) not in source.bindings:
            extra[name] = pattern_mod.Binding(name, (1, 0), Location("--optionals"), usage=True)
    return source.with_bindings(extra)
