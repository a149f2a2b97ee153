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
    """The shape conventions of cnncalc/conventions.py (one data row each)."""

    strict = "strict"
    pytorch = "pytorch"
    tensorflow = "tensorflow"
    keras = "keras"
    onnx = "onnx"
    caffe = "caffe"
    sas = "sas"


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
#: Shared by every command that computes shapes (analyze, lint, verify): reuse it, do not redefine it.
ConventionOpt = Annotated[
    ConventionName,
    typer.Option(
        "--convention",
        "-c",
        help="Shape rules: strict (cs231n: sizes must work out), or a framework's: pytorch, tensorflow, keras, "
        "onnx, caffe, sas ('same' vocabulary, where the odd padding pixel goes, floor/ceil pooling).",
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


def main() -> None:
    app()


# ---------------------------------------------------------------------------------------------
# lint, rules, schema


class LintFormat(str, Enum):
    text = "text"
    concise = "concise"
    json = "json"
    github = "github"
    sarif = "sarif"


class Mode(str, Enum):
    infer = "infer"
    train = "train"


def _codes(values: Optional[list[str]]) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(code.strip() for value in values for code in value.split(",") if code.strip())


def _lint_options(config_path: Optional[str], no_config: bool, cli: dict) -> tuple[object, tuple[str, ...]]:
    """Options from [tool.cnncalc] (the nearest pyproject.toml, or --config) overridden by the command line."""
    from pathlib import Path

    from cnncalc.lint import LintOptions
    from cnncalc.lint.config import budget, find_pyproject, read

    settings: dict = {}
    if not no_config:
        path = Path(config_path) if config_path else find_pyproject(Path.cwd())
        if config_path and not path.is_file():
            from cnncalc.errors import Location, UsageError

            raise UsageError(f"no such configuration file: {config_path}", Location(config_path))
        if path is not None:
            settings = read(path)
    for key, value in cli.items():
        if value is not None:
            settings[key] = budget(key.replace("_", "-"), value) if key.startswith("max_") else value
    exclude = tuple(settings.pop("exclude", ()))
    return LintOptions(**settings), exclude


def _lint_format(format: Optional[LintFormat]) -> LintFormat:
    import os

    if format is not None:
        return format
    return LintFormat.github if os.environ.get("GITHUB_ACTIONS") == "true" else LintFormat.text


@app.command()
def lint(
    paths: Annotated[
        list[str],
        typer.Argument(help="Spec files, directories (every .yaml/.yml inside), globs, or - for standard input.",
                       metavar="PATH..."),
    ],
    format: Annotated[
        Optional[LintFormat],
        typer.Option("--format", "-f", help="Output format (default: github under GitHub Actions, else text)."),
    ] = None,
    convention: Annotated[
        Optional[ConventionName], typer.Option("--convention", "-c", help=ConventionOpt.__metadata__[0].help)
    ] = None,
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
    max_params: Annotated[Optional[str], typer.Option("--max-params", help="Parameter budget, e.g. 25M.")] = None,
    max_macs: Annotated[Optional[str], typer.Option("--max-macs", help="MAC budget at --batch, e.g. 4G.")] = None,
    max_memory: Annotated[
        Optional[str], typer.Option("--max-memory", help="Memory budget for --mode, e.g. 8GiB or 512MB.")
    ] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", "-b", min=1, max=10**9, help="Batch size.")] = None,
    dtype: Annotated[Optional[Dtype], typer.Option("--dtype", help="Element type for --max-memory.")] = None,
    mode: Annotated[Optional[Mode], typer.Option("--mode", help="Memory that --max-memory limits.")] = None,
    optimizer: Annotated[
        Optional[Optimizer], typer.Option("--optimizer", help="Optimizer state in training memory.")
    ] = None,
    stdin_filename: Annotated[
        Optional[str], typer.Option("--stdin-filename", help="The name to report for standard input.")
    ] = None,
    config: Annotated[
        Optional[str], typer.Option("--config", help="A pyproject.toml to read [tool.cnncalc] from.")
    ] = None,
    no_config: Annotated[bool, typer.Option("--no-config", help="Ignore [tool.cnncalc].")] = False,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are findings.")] = False,
) -> None:
    """Check specs for CI, editors and pre-commit: exit 0 clean, 1 findings, 2 usage or unreadable input."""
    with boundary():
        import dataclasses

        from cnncalc.diagnostics import Diagnostic
        from cnncalc.lint.discover import expand_one
        from cnncalc.lint.engine import FileResult, lint_text
        from cnncalc.pipeline import read_text
        from cnncalc.render.lint import FORMATS

        cli_values = {
            "convention": convention.value if convention else None,
            "select": _codes(select),
            "ignore": _codes(ignore),
            "exclude": _codes(exclude),
            "max_params": max_params,
            "max_macs": max_macs,
            "max_memory": max_memory,
            "batch": batch,
            "dtype": dtype.value if dtype else None,
            "mode": mode.value if mode else None,
            "optimizer": optimizer.value if optimizer else None,
        }
        options, excluded = _lint_options(config, no_config, cli_values)
        if convention is not None:  # an explicit --convention outranks the files' own comments
            options = dataclasses.replace(options, file_conventions=False)
        results, unreadable, files = [], False, []
        for given in paths:
            try:
                files += expand_one(given, excluded)
            except CnnCalcError as error:
                _print_error(error)
                unreadable = True
        for path in dict.fromkeys(files):
            shown = (stdin_filename or "<stdin>") if path == "-" else path
            try:
                text = read_text(path)
            except CnnCalcError as error:
                if error.exit_code != EXIT_USAGE:  # a file over the size limit: a finding about it
                    results.append(FileResult(shown, "", (Diagnostic.from_error(error),)))
                else:
                    _print_error(error)
                    unreadable = True
                continue
            results.append(lint_text(text, shown, options))
        sys.stdout.write(FORMATS[_lint_format(format).value](results))
        if unreadable:
            raise typer.Exit(EXIT_USAGE)
        if any(r.diagnostics for r in results) and not exit_zero:
            raise typer.Exit(EXIT_INVALID)


@app.command()
def rules(
    rule: Annotated[Optional[str], typer.Argument(help="A rule code (CNN201) or name to explain.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the documentation as Markdown.")] = False,
) -> None:
    """List the lint rules, or explain one: what it checks, why, an example, how to fix."""
    with boundary():
        from cnncalc.errors import Location, UsageError
        from cnncalc.lint.rules import RULES, find

        if rule is None:
            if markdown:
                sys.stdout.write("\n".join(r.markdown() for r in RULES.values()))
                return
            for r in RULES.values():
                print(f"{r.code}  {r.name:<30} {r.severity:<8} {r.summary}")
            return
        found = find(rule)
        if found is None:
            raise UsageError(f"no rule {rule!r}", Location("<command line>"), hint="`cnncalc rules` lists them")
        sys.stdout.write(found.markdown() if markdown else found.text())


@app.command()
def schema() -> None:
    """Print the JSON Schema (draft-07) of the spec format, for editors and validators."""
    with boundary():
        from cnncalc.schema import schema_text

        sys.stdout.write(schema_text())
