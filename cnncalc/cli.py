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


OptionalSpecArg = Annotated[
    Optional[str],
    typer.Argument(help="A YAML spec file, or - for standard input (or give --pattern).", metavar="[SPEC]"),
]
PatternOpt = Annotated[
    Optional[str],
    typer.Option("--pattern", "-p", help='A network on one line, e.g. "INPUT -> [CONV3-32 -> RELU]*N -> FC-10".'),
]
InputOpt = Annotated[Optional[str], typer.Option("--input", "-i", help="The pattern's input size, e.g. 32x32x3.")]
DefineOpt = Annotated[
    Optional[list[str]],
    typer.Option("--define", "-D", help="Bind a pattern variable or switch: -D N=2, -D POOL=0 (sweep: -D N=0..3).",
                 metavar="NAME=VALUE"),
]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Default settings for a pattern word: --set 'CONV(f=32)' --set 'FC(10)'.",
                 metavar="WORD(ARGS)"),
]


def _pattern_source(spec: str | None, pattern: str | None, input: str | None, defines: list[str],
                    settings: list[str]):
    """The pattern to expand: --pattern, or a YAML spec with `pattern:` (which -D and --set refine)."""
    from cnncalc import pattern as pattern_mod
    from cnncalc.errors import Location, UsageError

    for index, text in enumerate(defines, start=1):
        State.sources[f"-D #{index}"] = text
    for index, text in enumerate(settings, start=1):
        State.sources[f"--set #{index}"] = text
    if pattern is not None:
        if spec is not None:
            raise UsageError("give a SPEC file or --pattern, not both", Location(spec))
        State.sources["<pattern>"] = pattern
        if input is not None:
            State.sources["--input"] = input
        return pattern_mod.from_text(pattern, input=input, settings=settings, defines=defines)
    if spec is None:
        raise UsageError("give a SPEC file or --pattern", Location("cnncalc"),
                         hint='e.g. cnncalc analyze --pattern "INPUT[32x32x3] -> CONV3-16 -> RELU -> FC-10"')
    if input is not None:
        raise UsageError("--input goes with --pattern; a spec file gives `input:`", Location("--input"))
    text, shown = _load_source(spec)
    from cnncalc import yamlsource

    root = yamlsource.load(text, shown)
    if not root.is_mapping or "pattern" not in root.value:
        raise UsageError(f"{shown} has no `pattern:`; -D and --set apply to patterns", Location(shown),
                         hint="analyze it without -D/--set, or give the network as `pattern:`")
    source = pattern_mod.from_yaml(root, shown, text)
    return source.with_settings(settings).with_bindings(pattern_mod.parse_defines(defines))


def _spec_of(spec: str | None, pattern: str | None, input: str | None, defines: list[str] | None,
             settings: list[str] | None):
    """The spec from a file as it is, or from a pattern with its bindings and settings."""
    from cnncalc.pipeline import parse

    if not _uses_pattern(spec, pattern, input, defines, settings):
        text, shown = _load_source(spec)
        return parse(text, shown)
    return _pattern_source(spec, pattern, input, defines or [], settings or []).spec()


def _uses_pattern(spec, pattern, input, defines, settings) -> bool:
    return spec is None or pattern is not None or input is not None or bool(defines) or bool(settings)


@app.command()
def analyze(
    spec: OptionalSpecArg = None,
    format: FormatOpt = Format.table,
    convention: ConventionOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.float32,
    optimizer: OptimizerOpt = Optimizer.momentum,
    count_bias: CountBiasOpt = False,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
) -> None:
    """Print every layer's output volume, parameters, MACs and activations, then the memory summary."""
    with boundary():
        from cnncalc import report as report_mod
        from cnncalc.pipeline import analyze_spec, analyze_text

        chosen = convention.value if convention else None
        if _uses_pattern(spec, pattern, input, define, settings):
            analysis = analyze_spec(_spec_of(spec, pattern, input, define, settings), chosen)
        else:
            text, shown = _load_source(spec)
            analysis = analyze_text(text, shown, chosen)
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


class ExpandFormat(str, Enum):
    text = "text"
    yaml = "yaml"


@app.command()
def expand(
    spec: OptionalSpecArg = None,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
    format: Annotated[ExpandFormat, typer.Option("--format", "-f", help="text (a list) or yaml (a spec).")] = (
        ExpandFormat.text
    ),
) -> None:
    """Print the layer list a pattern (or a spec's repeat blocks) expands to; --format yaml writes a spec
    that `analyze` reads unchanged."""
    with boundary():
        from cnncalc import graph
        from cnncalc.render import expansion

        built = _spec_of(spec, pattern, input, define, settings)
        model = graph.build(built)
        if format is ExpandFormat.yaml:
            if not expansion.is_chain(model):
                from cnncalc.errors import Location, UsageError

                raise UsageError("--format yaml writes a plain chain of layers; this model has branches or blocks",
                                 Location(spec or "<pattern>"), hint="use the text format to list its layers")
            bound = " ".join(define or [])
            comment = f"Expanded by cnncalc {__version__} from {pattern or spec}" + (f"\nwith {bound}" if bound else "")
            sys.stdout.write(expansion.to_yaml(model, comment))
        else:
            sys.stdout.write(expansion.to_text(model))


class SweepFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class SortKey(str, Enum):
    variant = "variant"
    params = "params"
    macs = "macs"
    inference = "inference"
    training = "training"


class MemoryKind(str, Enum):
    training = "training"
    inference = "inference"


@app.command()
def sweep(
    spec: OptionalSpecArg = None,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
    optionals: Annotated[bool, typer.Option("--optionals", help="Also try every '?' on and off (OPT1, OPT2...).")]
    = False,
    max_params: Annotated[Optional[str], typer.Option("--max-params", help="Keep variants with at most this many "
                                                      "parameters (25M, 1.5k).")] = None,
    max_memory: Annotated[Optional[str], typer.Option("--max-memory", help="Keep variants needing at most this "
                                                      "memory (512MiB, 2GiB, 500MB).")] = None,
    memory: Annotated[MemoryKind, typer.Option("--memory", help="Which memory --max-memory limits.")] = (
        MemoryKind.training
    ),
    sort: Annotated[SortKey, typer.Option("--sort", help="Order of the rows.")] = SortKey.variant,
    format: Annotated[SweepFormat, typer.Option("--format", "-f", help="Output format.")] = SweepFormat.table,
    convention: ConventionOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.float32,
    optimizer: OptimizerOpt = Optimizer.momentum,
    count_bias: CountBiasOpt = False,
) -> None:
    """Analyse every combination of the variables' values (-D N=0..3 -D M=1,2,4): one row per variant with
    its first error or its parameters, MACs and memory. Exit 0 when a variant is valid (and within the
    budget), 1 when none is."""
    with boundary():
        from cnncalc import conventions
        from cnncalc import report as report_mod
        from cnncalc import sweep as sweep_mod
        from cnncalc.render import sweep as render

        source = _pattern_source(spec, pattern, input, define or [], settings or [])
        if optionals:
            source = _with_optionals(source)
        budget = sweep_mod.Budget(
            sweep_mod.parse_count(max_params) if max_params is not None else None,
            sweep_mod.parse_bytes(max_memory) if max_memory is not None else None,
            memory.value,
        )
        options = report_mod.Options(batch, dtype.value, optimizer.value, count_bias)
        chosen = conventions.get(convention.value if convention else source.convention or conventions.DEFAULT.name)
        every = sweep_mod.run(source, chosen, options)
        shown = sweep_mod.select(every, budget, sort.value)
        if format is SweepFormat.json:
            header = {"convention": chosen.name, "batch": batch, "dtype": dtype.value,
                      "optimizer": optimizer.value}
            sys.stdout.write(render.to_json(source.text, shown, every, budget, header))
        elif format is SweepFormat.csv:
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


def main() -> None:
    app()
