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


class CpuName(str, Enum):
    """`auto` and the instruction sets of cnncalc/cpu.py's CHOICES."""

    auto = "auto"
    avx2 = "avx2"
    avx512_core = "avx512_core"


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

    from cnncalc.diagnostics import ignored_codes, suppressions

    seen: dict[tuple, int] = {}
    ignored = {path: suppressions(text) for path, text in State.sources.items()}
    for diagnostic in sorted(diagnostics, key=lambda d: d.sort_key()):
        if diagnostic.severity == "error":
            _stderr(full(diagnostic, State.sources.get(diagnostic.loc.path)))
            continue
        codes = ignored_codes(diagnostic, ignored.get(diagnostic.loc.path, {}))
        if "*" in codes or diagnostic.code in codes:
            continue  # the spec's `# cnncalc: ignore[...]` comments hold for analyze too
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
#: Shared by every command that computes shapes (analyze, lint, verify): reuse it, do not redefine it.
ConventionOpt = Annotated[
    Optional[ConventionName],
    typer.Option(
        "--convention",
        "-c",
        help="Shape rules: strict (cs231n: sizes must work out), or a framework's: pytorch, tensorflow, keras, "
        "onnx, caffe, sas ('same' vocabulary, where the odd padding pixel goes, floor/ceil pooling). "
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
DeviceOpt = Annotated[Device, typer.Option("--device", help="cuda follows CUDA's rules and adds a labelled estimate "
                                            "of GPU-only overheads (pytorch memory model).")]
AmpOpt = Annotated[
    Optional[Amp],
    typer.Option("--amp", help="Mixed precision: activations in this dtype, fp32 weights and optimizer state "
                 "(pytorch memory model)."),
]

CpuOpt = Annotated[
    CpuName,
    typer.Option("--cpu", help="The CPU whose kernels' scratch the pytorch memory model includes: its instruction "
                 "set as oneDNN names it (auto: this machine)."),
]
ThreadsOpt = Annotated[
    Optional[int],
    typer.Option("--threads", min=1, max=1024, help="PyTorch's CPU threads for the pytorch memory model "
                 "(default: this machine's cores, or OMP_NUM_THREADS)."),
]


def _cpu(isa: CpuName, threads: int | None):
    from cnncalc import cpu

    return cpu.resolve(isa.value, threads)


def _warn_about_cpu(report) -> None:
    modelled = report.memory.cpu
    if modelled is not None and modelled.warning():
        _stderr(f"warning: {modelled.warning()}")


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
    memory_model: MemoryModelOpt = None,
    device: DeviceOpt = Device.cpu,
    amp: AmpOpt = None,
    cpu: CpuOpt = CpuName.auto,
    threads: ThreadsOpt = None,
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
        options = report_mod.Options(batch, dtype.value, optimizer.value, count_bias,
                                     memory_model.value if memory_model else None, device.value,
                                     amp.value if amp else None, _cpu(cpu, threads))
        built = report_mod.build(analysis, options)
        _warn_about_cpu(built)
        _render(built, format)


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
    convention: ConventionOpt = None,
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
        analysis = analyze_text(text, shown, convention.value if convention else None)
        _emit_diagnostics(analysis.diagnostics)
        if not analysis.ok:
            raise typer.Exit(EXIT_INVALID)
        # the prediction verify shows is the textbook model's, whatever memory model the convention implies
        report = report_mod.build(analysis, report_mod.Options(batch, "float32", memory_model="textbook"))
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
    size = parse_bytes(text)
    if size is None or size <= 0:
        raise UsageError(f"--max-memory: cannot read the size {text!r}", Location("cnncalc"),
                         hint="write a positive size such as 4GiB, 512MiB or 2GB", code="CNN601")
    return size


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
    _app_for(sys.argv[1:])()


def _app_for(args: list[str]) -> typer.Typer:
    """The app with only the command the arguments name (the whole app without one, e.g. for --help).

    typer builds every command's options from its signature on each run, a few milliseconds a command;
    building only the one that runs keeps `cnncalc analyze` quick. Only `--debug` may come before it:
    anything else there (--help, --version) is about the whole app."""
    import copy

    position = next((i for i, arg in enumerate(args) if arg != "--debug"), None)
    if position is None:
        return app
    chosen = [c for c in app.registered_commands if (c.name or c.callback.__name__) == args[position]]
    if not chosen:
        return app
    trimmed = copy.copy(app)
    trimmed.registered_commands = chosen
    return trimmed


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
    cpu: CpuOpt = CpuName.auto,
    threads: ThreadsOpt = None,
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
                                     amp.value if amp else None, _cpu(cpu, threads))
        result = fit_mod.fit(analysis, options, budget, mode.value, None if resolution else batch, resolution)
        label = amp.value + " amp" if amp else dtype.value
        if format is Format.json:
            sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
        elif format is Format.csv:
            sys.stdout.write(fit_mod.to_csv(result))
        elif format is Format.markdown:
            sys.stdout.write(fit_mod.to_markdown(result, label))
        else:
            sys.stdout.write("\n".join(fit_mod.describe(result, label)) + "\n")
        if not result.fits:
            raise typer.Exit(EXIT_INVALID)


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


# ---------------------------------------------------------------------------------------------
# report (HTML) and graph (dot, svg, mermaid): the work is in cnncalc/render/html.py and render/graph.py


class GraphFormat(str, Enum):
    svg = "svg"
    dot = "dot"
    mermaid = "mermaid"


class ColourBy(str, Enum):
    macs = "macs"
    memory = "memory"
    none = "none"


OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", help="Write to this file (default: standard "
                                                  "output).", metavar="FILE")]


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}", Location(output)) from None


def _analysed(spec: str, convention):
    from cnncalc.pipeline import analyze_text

    text, shown = _load_source(spec)
    analysis = analyze_text(text, shown, convention.value if convention else None)
    _emit_diagnostics(analysis.diagnostics)
    if not analysis.ok:
        raise typer.Exit(EXIT_INVALID)
    return analysis


@app.command()
def report(
    spec: SpecArg,
    output: OutputOpt = None,
    convention: ConventionOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.float32,
    optimizer: OptimizerOpt = Optimizer.momentum,
    count_bias: CountBiasOpt = False,
    memory_model: MemoryModelOpt = None,
    device: DeviceOpt = Device.cpu,
    amp: AmpOpt = None,
    cpu: CpuOpt = CpuName.auto,
    threads: ThreadsOpt = None,
) -> None:
    """Write one self-contained HTML page (no network): the graph, the sortable layer table, live memory
    over a training step and the totals."""
    with boundary():
        from cnncalc import report as report_mod
        from cnncalc.render import html

        analysis = _analysed(spec, convention)
        options = report_mod.Options(batch, dtype.value, optimizer.value, count_bias,
                                     memory_model.value if memory_model else None, device.value,
                                     amp.value if amp else None, _cpu(cpu, threads))
        built = report_mod.build(analysis, options)
        _warn_about_cpu(built)
        _write(html.render(analysis, built), output)


@app.command()
def graph(
    spec: SpecArg,
    format: Annotated[GraphFormat, typer.Option("--format", "-f", help="Output format.")] = GraphFormat.svg,
    output: OutputOpt = None,
    depth: Annotated[Optional[int], typer.Option("--depth", min=0, help="Draw blocks nested deeper than this "
                                                 "as one node each (default: every layer).")] = None,
    colour: Annotated[ColourBy, typer.Option("--color", "--colour", help="SVG: fill nodes by their share of "
                                             "MACs or memory.")] = ColourBy.macs,
    convention: ConventionOpt = None,
    batch: BatchOpt = 1,
    dtype: DtypeOpt = Dtype.float32,
) -> None:
    """The layer graph alone, for docs and READMEs: nodes with name, kind and output shape, blocks as clusters."""
    with boundary():
        from cnncalc import report as report_mod
        from cnncalc.render.diagram import Diagram
        from cnncalc.render.graph import render

        analysis = _analysed(spec, convention)
        built = report_mod.build(analysis, report_mod.Options(batch, dtype.value))
        diagram = Diagram(built)
        level = None if depth is None else min(depth, diagram.full_level)
        _write(render(diagram, format.value, level, colour.value), output)
