"""`cnncalc analyze`'s work, given plain values: cnncalc/commands/analyze.py declares its options to
typer and calls `analyze` here; cnncalc/commands/fast.py calls it without typer (the common
`cnncalc analyze SPEC [--format F]`). Nothing here imports typer or click."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cnncalc import counting, memory
from cnncalc.commands.invocation import Invocation, stderr


def analyze(run: Invocation, spec: str | None = None, *, format: str = "table", convention: str | None = None,
            batch: int = 1, dtype: str = "float32", optimizer: str = memory.DEFAULT_OPTIMIZER,
            count_bias: bool = False, memory_model: str | None = None, device: str = "cpu", amp: str | None = None,
            cpu: str = "auto", threads: int | None = None, gpu: str | None = None, pattern: str | None = None,
            input: str | None = None, define: Sequence[str] | None = None, settings: Sequence[str] | None = None,
            count: str = counting.DEFAULT, by_type: bool = False, backward: bool = False,
            depth: int | None = None) -> None:
    """Print every layer's output volume, parameters, MACs and activations, then the memory summary
    (the defaults are the command line's: tests/test_fast.py holds them to typer's)."""
    from cnncalc import pipeline
    from cnncalc import report as report_mod

    analysis = run.analysis(pipeline.Request.of(spec, pattern, input, define, settings), convention)
    options = pipeline.report_options(batch, dtype, optimizer, count_bias, memory_model, device, amp, cpu, threads,
                                      gpu, count=count)
    built = report_mod.build(analysis, options)
    # the report's warnings for its batch (report.training_warnings, found once in build): the analysis'
    # own come first in report.diagnostics and are shown already
    run.emit(built.diagnostics[len(analysis.diagnostics):])
    del analysis  # the report holds what is printed: a million layers' nodes and shapes are freed first
    warn_about_cpu(built)
    render(built, format, backward, depth)
    if by_type or backward:
        from cnncalc.render import counting as render_counting

        render_counting.emit(built, format, by_type, backward)


def warn_about_cpu(report) -> None:
    modelled = report.memory.cpu
    if modelled is not None and modelled.warning():
        stderr(f"warning: {modelled.warning()}")


def render(report, format: str, backward: bool = False, depth: int | None = None) -> None:
    if format == "table":
        from cnncalc.render.table import print_report

        print_report(report, depth)
        return
    from cnncalc.render import machine

    if format == "csv":
        sys.stdout.write(machine.to_csv(report, backward))  # --backward: three more columns
        return
    if format == "json":
        machine.write_json(report, sys.stdout)
        return
    sys.stdout.write(machine.to_markdown(report))
