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
from cnncalc.errors import EXIT_INVALID, EXIT_USAGE, CnnCalcError

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
    """Errors in full (source line, caret, help); warnings one line each, repeats of a line counted once."""
    from cnncalc.render.diagnostics import concise, full

    seen: dict[tuple, int] = {}
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key()):
        if diagnostic.severity == "error":
            _stderr(full(diagnostic, State.sources.get(diagnostic.loc.path)))
            continue
        key = (diagnostic.loc.path, diagnostic.loc.line, diagnostic.loc.col, diagnostic.code)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 1:
            _stderr(concise(diagnostic))
    repeats = sum(n - 1 for n in seen.values())
    if repeats:
        _stderr(f"({repeats} more warning(s) from the same lines, used again by repeats or blocks; "
                "`cnncalc lint` lists them all)")


SpecArg = Annotated[str, typer.Argument(help="A YAML spec file, or - for standard input.", metavar="SPEC")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
ConventionOpt = Annotated[
    Optional[ConventionName],
    typer.Option(
        "--convention",
        "-c",
        help="Shape rules: strict (cs231n: sizes must work out) or pytorch (floor). "
        "Default: the spec's `convention:`, else strict.",
    ),
]
BatchOpt = Annotated[int, typer.Option("--batch", "-b", min=1, max=10**9, help="Batch size.")]
DtypeOpt = Annotated[Dtype, typer.Option("--dtype", help="Element type of activations and parameters.")]
OptimizerOpt = Annotated[Optimizer, typer.Option("--optimizer", help="Optimizer whose state training memory holds.")]
CountBiasOpt = Annotated[bool, typer.Option("--count-bias", help="Add one addition per biased output to MACs.")]


@app.command()
def analyze(
    spec: SpecArg,
    format: FormatOpt = Format.table,
    convention: ConventionOpt = None,
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
        analysis = analyze_text(text, shown, convention.value if convention else None)
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


def main() -> None:
    app()
