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
    adamw = "adamw"
    rmsprop = "rmsprop"
    adagrad = "adagrad"


class MemoryModel(str, Enum):
    textbook = "textbook"
    pytorch = "pytorch"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"


class Amp(str, Enum):
    float16 = "float16"
    bfloat16 = "bfloat16"


class Mode(str, Enum):
    train = "train"
    infer = "infer"


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
MemoryModelOpt = Annotated[
    Optional[MemoryModel],
    typer.Option("--memory-model", help="textbook (cs231n/Geron) or pytorch (per tensor, by liveness); "
                 "default: follows the convention."),
]
DeviceOpt = Annotated[Device, typer.Option("--device", help="cuda adds a labelled estimate of GPU-only overheads.")]
AmpOpt = Annotated[
    Optional[Amp],
    typer.Option("--amp", help="Mixed precision: activations in this dtype, fp32 weights and optimizer state."),
]


@app.command()
def analyze(
    spec: SpecArg,
    format: FormatOpt = Format.table,
    convention: ConventionOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.float32,
    optimizer: OptimizerOpt = Optimizer.momentum,
    count_bias: CountBiasOpt = False,
    memory_model: MemoryModelOpt = None,
    device: DeviceOpt = Device.cpu,
    amp: AmpOpt = None,
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
        options = report_mod.Options(batch, dtype.value, optimizer.value, count_bias,
                                     memory_model.value if memory_model else None, device.value,
                                     amp.value if amp else None)
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


@app.command()
def fit(
    spec: SpecArg,
    memory: Annotated[str, typer.Option("--memory", "-m", help="The budget, e.g. 24GiB, 16GB, 512MiB.")],
    mode: Annotated[Mode, typer.Option("--mode", help="Memory for training (one step) or inference.")] = Mode.train,
    batch: Annotated[
        Optional[int],
        typer.Option("--batch", "-b", min=1, max=10**9, help="The batch you want (with --resolution: the batch used)."),
    ] = None,
    resolution: Annotated[bool, typer.Option("--resolution", help="Find the largest square input instead.")] = False,
    format: FormatOpt = Format.table,
    convention: ConventionOpt = None,
    dtype: DtypeOpt = Dtype.float32,
    optimizer: OptimizerOpt = Optimizer.adam,
    memory_model: MemoryModelOpt = None,
    device: DeviceOpt = Device.cpu,
    amp: AmpOpt = None,
) -> None:
    """The largest batch (or square input) that fits a memory budget, and what to change when none does."""
    with boundary():
        import json

        from cnncalc import fit as fit_mod
        from cnncalc import report as report_mod
        from cnncalc.pipeline import analyze_text

        budget = fit_mod.parse_size(memory)
        text, shown = _load_source(spec)
        analysis = analyze_text(text, shown, convention.value if convention else None)
        _emit_diagnostics(analysis.diagnostics)
        if not analysis.ok:
            raise typer.Exit(EXIT_INVALID)
        options = report_mod.Options(batch or 1, dtype.value, optimizer.value, False,
                                     memory_model.value if memory_model else None, device.value,
                                     amp.value if amp else None)
        result = fit_mod.fit(analysis, options, budget, mode.value, None if resolution else batch, resolution)
        if format is Format.json:
            sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        else:
            sys.stdout.write("\n".join(fit_mod.describe(result, amp.value + " amp" if amp else dtype.value)) + "\n")
        if not result.fits:
            raise typer.Exit(EXIT_INVALID)
