"""`cnncalc lint`: check specs for CI, editors and pre-commit."""

from __future__ import annotations

import sys
from cnncalc.records import dataclass
from typing import Annotated, Optional

import typer

from cnncalc.commands.invocation import Invocation
from cnncalc.commands.options import (
    DEFAULT_CPU,
    DEFAULT_DEVICE,
    AmpOpt,
    ConventionOpt,
    CpuOpt,
    DefineOpt,
    DeviceOpt,
    GpuOpt,
    Dtype,
    InputOpt,
    MaxMemoryOpt,
    MaxParamsOpt,
    MemoryModelOpt,
    Mode,
    Optimizer,
    PatternOpt,
    SetOpt,
    ThreadsOpt,
    choices,
    value,
)
from cnncalc.errors import EXIT_INVALID, EXIT_USAGE, CnnCalcError

LintFormat = choices("LintFormat", ("text", "concise", "json", "github", "sarif"))


def lint(
    ctx: typer.Context,
    paths: Annotated[
        Optional[list[str]],
        typer.Argument(help="Spec files, directories (every .yaml/.yml inside), globs, or - for standard input "
                       "(or give --pattern).", metavar="PATH..."),
    ] = None,
    format: Annotated[
        Optional[LintFormat],
        typer.Option("--format", "-f", help="Output format (default: github under GitHub Actions, else text)."),
    ] = None,
    convention: ConventionOpt = None,
    select: Annotated[
        Optional[list[str]],
        typer.Option("--select", help="Only these rules: codes, prefixes (CNN3) or names; comma-separated."),
    ] = None,
    ignore: Annotated[
        Optional[list[str]], typer.Option("--ignore", help="Skip these rules: codes, prefixes or names.")
    ] = None,
    exclude: Annotated[
        Optional[list[str]], typer.Option("--exclude", help="Skip files matching these glob patterns.")
    ] = None,
    max_params: MaxParamsOpt = None,
    max_macs: Annotated[Optional[str], typer.Option("--max-macs", metavar="COUNT",
                                                    help="MAC budget at --batch, e.g. 4G.")] = None,
    max_memory: MaxMemoryOpt = None,
    batch: Annotated[Optional[int], typer.Option("--batch", "-b", min=1, max=10**9,
                                                 help="Batch size (default: [tool.cnncalc]'s, else 1).")] = None,
    dtype: Annotated[Optional[Dtype], typer.Option(
        "--dtype", help="Element type of activations and parameters (default: [tool.cnncalc]'s, else float32).")] = None,
    mode: Annotated[Optional[Mode], typer.Option(
        "--mode", help="The memory --max-memory limits: train (one training step) or infer "
        "(default: [tool.cnncalc]'s, else train, as fit and sweep).")] = None,
    optimizer: Annotated[Optional[Optimizer], typer.Option(
        "--optimizer", help="Optimizer whose state training memory holds (default: [tool.cnncalc]'s, else "
        "momentum, the SGD with momentum of the cs231n notes).")] = None,
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
    stdin_filename: Annotated[
        Optional[str], typer.Option("--stdin-filename", help="The name to report for standard input.")
    ] = None,
    config: Annotated[
        Optional[str], typer.Option("--config", help="A pyproject.toml to read [tool.cnncalc] from.")
    ] = None,
    no_config: Annotated[bool, typer.Option("--no-config", help="Ignore [tool.cnncalc].")] = False,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are findings.")] = False,
    statistics: Annotated[bool, typer.Option(
        "--statistics", help="Count the findings per code instead of listing them (as ruff's --statistics; "
        "a JSON array with --format json).")] = False,
    output_file: Annotated[Optional[str], typer.Option(
        "--output-file", "-o", metavar="PATH", help="Write the findings to PATH instead of standard output.")] = None,
) -> None:
    """Check specs for CI, editors and pre-commit: exit 0 clean, 1 findings, 2 usage or unreadable input."""
    from cnncalc.records import replace

    from cnncalc import pipeline
    from cnncalc.diagnostics import Diagnostic
    from cnncalc.lint.config import resolve
    from cnncalc.lint.discover import expand_one
    from cnncalc.lint.engine import FileResult, lint_source, lint_text

    run = Invocation.of(ctx)
    _check_selectors(select, ignore)
    output = Output(format, statistics, output_file, exit_zero)
    given = {
        "convention": value(convention), "select": _codes(select), "ignore": _codes(ignore),
        "exclude": _codes(exclude), "max_params": max_params, "max_macs": max_macs, "max_memory": max_memory,
        "batch": batch, "dtype": value(dtype), "mode": value(mode), "optimizer": value(optimizer),
    }
    options, excluded = resolve(config, no_config, given)
    # the memory options of analyze, checked as analyze checks them (--memory-model textbook with --amp...)
    memory = pipeline.report_options(options.batch, options.dtype, options.optimizer, False, value(memory_model),
                                     device.value, value(amp), cpu.value, threads, gpu)
    options = replace(options, memory_model=memory.memory_model, device=memory.device, amp=memory.amp,
                                  cpu=memory.cpu, gpu=memory.gpu)
    request = pipeline.Request.of(None, pattern, input, define, settings, stdin_filename)
    if pattern is not None or not paths:
        if paths:
            request = replace(request, spec=paths[0])  # resolve_source refuses both
        results = [lint_source(pipeline.resolve_source(request, run.texts), options)]
        _finish(results, [], output, run)
        return
    # A path that names no file, or a file that cannot be read, is a result like any other (its CNN001
    # error with its path, in every format), and the exit status is 2.
    results, unreadable, files = [], [], []
    for path in paths:
        try:
            files += expand_one(path, excluded)
        except CnnCalcError as error:
            files.append(error)
    for path in dict.fromkeys(files):
        if isinstance(path, CnnCalcError):
            error, shown = path, path.loc.path
        else:
            shown = pipeline.display_path(path, stdin_filename or "<stdin>")
            try:
                if request.input is not None or request.refines_a_pattern:
                    results.append(lint_source(pipeline.resolve_source(replace(request, spec=path)),
                                               options))
                else:
                    results.append(lint_text(pipeline.read_text(path), shown, options))
                continue
            except CnnCalcError as caught:
                error = caught
        if error.exit_code == EXIT_USAGE:  # not a file over the size limit, a finding about it
            unreadable.append(error)
        diagnostic = Diagnostic.from_error(error)
        diagnostic = replace(diagnostic, loc=replace(diagnostic.loc, path=shown))
        results.append(FileResult(shown, "", (diagnostic,)))
    _finish(results, unreadable, output, run)


@dataclass(frozen=True)
class Output:
    """How the results are written: the format, counts instead of findings, where, and the exit policy."""

    format: object
    statistics: bool = False
    file: str | None = None
    exit_zero: bool = False

    def render(self, results) -> str:
        from cnncalc.render.lint import FORMATS, statistics, statistics_json

        chosen = _format(self.format)
        if self.statistics:
            return statistics_json(results) if chosen == "json" else statistics(results)
        return FORMATS[chosen](results)

    def write(self, text: str) -> None:
        """To standard output, or to --output-file (UTF-8; an error writing it is an output error, exit 74)."""
        if self.file is None:
            sys.stdout.write(text)
            return
        with open(self.file, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)


def _finish(results, unreadable, output: Output, run: Invocation) -> None:
    output.write(output.render(results))
    if unreadable:
        if _format(output.format) in ("json", "sarif") or output.file is not None:  # also for the people reading the log
            for error in unreadable:
                run.print_error(error)
        raise typer.Exit(EXIT_USAGE)
    if any(r.diagnostics for r in results) and not output.exit_zero:
        raise typer.Exit(EXIT_INVALID)


def _check_selectors(select: Optional[list[str]], ignore: Optional[list[str]]) -> None:
    """A --select or --ignore word that names no rule (`--select CNN20l`) is a usage error, as in ruff."""
    from cnncalc.lint import selectors

    selectors.check(_codes(select) or (), "--select")
    selectors.check(_codes(ignore) or (), "--ignore")


def _codes(values: Optional[list[str]]) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


def _format(format) -> str:
    import os

    if format is not None:
        return format.value
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
