"""The `cnncalc` command line. Commands parse options, call the library, and render; errors from
the library are turned into located diagnostics here, once, and mapped to exit statuses:

0 success; 1 the model is invalid (or lint found problems); 2 the input cannot be read or
parsed, the command line is wrong, or cnncalc failed internally.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Iterator, Optional

import typer

from cnncalc import __version__
from cnncalc.errors import EXIT_INVALID, EXIT_USAGE, CnnCalcError, Location, UsageError

app = typer.Typer(
    name="cnncalc",
    help="Layer-by-layer shapes, parameters, MACs and memory of convolutional networks, from a text spec.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class ConventionName(str, Enum):
    strict = "strict"
    pytorch = "pytorch"


class Dtype(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    int8 = "int8"
    float64 = "float64"


class Optimizer(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


class State:
    debug = False
    #: source texts by display path, so diagnostics can show the offending line
    sources: dict[str, str] = {}


def _stderr(text: str) -> None:
    sys.stderr.write(text + "\n")


def _print_error(error: CnnCalcError) -> None:
    from cnncalc.diagnostics import Diagnostic
    from cnncalc.render.diagnostics import full

    _stderr(full(Diagnostic.from_error(error), State.sources.get(error.loc.path)))


@contextmanager
def boundary() -> Iterator[None]:
    """Turn every failure into a message and an exit status; tracebacks only with --debug."""
    try:
        yield
    except typer.Exit:
        raise
    except CnnCalcError as error:
        if State.debug:
            raise
        _print_error(error)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        _stderr("cnncalc: interrupted")
        raise typer.Exit(130) from None
    except RecursionError:
        if State.debug:
            raise
        _stderr("cnncalc: error: the input nests too deeply to analyse")
        raise typer.Exit(EXIT_USAGE) from None
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if State.debug:
            raise
        _stderr(
            f"cnncalc: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in cnncalc. Please report it with the spec and command that caused it "
            "(run again with --debug for the traceback)."
        )
        raise typer.Exit(EXIT_USAGE) from None


def _version(value: bool) -> None:
    if value:
        print(f"cnncalc {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.")] = False,
) -> None:
    State.debug = debug


def _load_source(path: str) -> tuple[str, str]:
    from cnncalc.pipeline import display_path, read_text

    text = read_text(path)
    shown = display_path(path)
    State.sources[shown] = text
    return text, shown


def _emit_diagnostics(diagnostics) -> None:
    from cnncalc.render.diagnostics import full

    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key()):
        _stderr(full(diagnostic, State.sources.get(diagnostic.loc.path)))


SpecArg = Annotated[str, typer.Argument(help="A YAML spec file, or - for standard input.", metavar="SPEC")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
ConventionOpt = Annotated[
    ConventionName,
    typer.Option("--convention", "-c", help="Shape rules: strict (cs231n: sizes must work out) or pytorch (floor)."),
]
BatchOpt = Annotated[int, typer.Option("--batch", "-b", min=1, max=10**9, help="Batch size.")]
DtypeOpt = Annotated[Dtype, typer.Option("--dtype", help="Element type of activations and parameters.")]
OptimizerOpt = Annotated[Optimizer, typer.Option("--optimizer", help="Optimizer whose state training memory holds.")]
CountBiasOpt = Annotated[bool, typer.Option("--count-bias", help="Add one addition per biased output to MACs.")]


@app.command()
def analyze(
    spec: SpecArg,
    format: FormatOpt = Format.table,
    convention: ConventionOpt = ConventionName.strict,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.float32,
    optimizer: OptimizerOpt = Optimizer.momentum,
    count_bias: CountBiasOpt = False,
) -> None:
    """Print every layer's output volume, parameters, MACs and activations, then the memory summary."""
    with boundary():
        from cnncalc import report as report_mod
        from cnncalc.pipeline import analyze_text

        text, shown = _load_source(spec)
        analysis = analyze_text(text, shown, convention.value)
        _emit_diagnostics(analysis.diagnostics)
        if not analysis.ok:
            raise typer.Exit(EXIT_INVALID)
        options = report_mod.Options(batch, dtype.value, optimizer.value, count_bias)
        _render(report_mod.build(analysis, options), format)


def _render(report, format: Format) -> None:
    if format is Format.table:
        from rich.console import Console

        from cnncalc.render.table import render

        render(report, Console(highlight=False))
        return
    from cnncalc.render import machine

    writer = {Format.json: machine.to_json, Format.csv: machine.to_csv, Format.markdown: machine.to_markdown}
    sys.stdout.write(writer[format](report))


class VerifyFormat(str, Enum):
    table = "table"
    json = "json"


@app.command()
def verify(
    spec: SpecArg,
    batch: BatchOpt = 1,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the random weights and input.")] = 0,
    convention: ConventionOpt = ConventionName.strict,
    format: Annotated[VerifyFormat, typer.Option("--format", "-f", help="Output format.")] = VerifyFormat.table,
    max_memory: Annotated[
        Optional[str],
        typer.Option("--max-memory", metavar="SIZE",
                     help="Refuse runs estimated to need more, e.g. 4GiB (default: half the available memory)."),
    ] = None,
) -> None:
    """Run the spec with numpy on random float32 tensors and check every predicted shape, parameter count,
    MAC count and the inference memory against what executes. Exit 0 only if every check holds."""
    with boundary():
        import time

        from cnncalc import executor
        from cnncalc import report as report_mod
        from cnncalc.pipeline import analyze_text
        from cnncalc.verify import compare

        limit = _max_memory(max_memory)
        text, shown = _load_source(spec)
        analysis = analyze_text(text, shown, convention.value)
        _emit_diagnostics(analysis.diagnostics)
        if not analysis.ok:
            raise typer.Exit(EXIT_INVALID)
        report = report_mod.build(analysis, report_mod.Options(batch, "float32"))
        the_plan = executor.plan(analysis, batch)
        executor.refuse_if_too_big(the_plan, limit, report.memory.inference_bytes)
        _need_numpy()
        started = time.perf_counter()
        with _progress_bar(len(the_plan.steps)) as on_layer:
            execution = executor.execute(the_plan, seed, on_layer)
        result = compare(report, the_plan, execution, time.perf_counter() - started)
        _render_verification(result, format)
        if not result.ok:
            raise typer.Exit(EXIT_INVALID)


def _max_memory(text: str | None) -> int:
    from cnncalc.executor import default_max_memory
    from cnncalc.units import parse_bytes

    if text is None:
        return default_max_memory()
    try:
        return parse_bytes(text)
    except ValueError as error:
        raise UsageError(f"--max-memory: {error}", Location("cnncalc"),
                         hint="write a size such as 4GiB, 512MiB or 2GB", code="CNN601") from None


def _need_numpy() -> None:
    import importlib.util

    if importlib.util.find_spec("numpy") is None:
        raise UsageError("cnncalc verify needs numpy, which is not installed", Location("cnncalc"),
                         hint='install it with pip install "cnncalc[verify]"', code="CNN602")


@contextmanager
def _progress_bar(total: int) -> Iterator:
    """A transient progress bar on stderr; yields the executor's `on_layer` callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("verify"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True, auto_refresh=False,
    )
    task = progress.add_task("", total=total)

    def on_layer(done: int, total_: int, name: str) -> None:
        progress.update(task, completed=done, description=name)
        progress.refresh()

    with progress:
        yield on_layer


def _render_verification(result, format: VerifyFormat) -> None:
    from cnncalc.render import verify as render_verify

    if format is VerifyFormat.json:
        sys.stdout.write(render_verify.to_json(result))
        return
    from rich.console import Console

    render_verify.render(result, Console(highlight=False))


def main() -> None:
    app()
