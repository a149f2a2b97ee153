"""The one-way pipeline as functions: text -> spec -> graph -> analysis -> report.

It is also the one place where what a command was given is resolved, for every command alike:

- `resolve_source`: the network to work on, from a spec file, `-` (standard input) or `--pattern`,
  with `-D`, `--set` and `-i/--input` (which overrides a spec's own input, as torchinfo's input_size does);
- `resolve_convention`: the shape convention, command line > the spec's `convention:` > the
  configured one (lint's [tool.cnncalc]) > strict;
- `report_options`: the counting and memory options (batch, dtype, optimizer, memory model, device,
  mixed precision, CPU) as `report.Options`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from cnncalc import collector, conventions, graph, inputs, report, spec, yamlsource
from cnncalc.analysis import Analysis, analyze
from cnncalc.errors import Location, ReadError, UsageError
from cnncalc.records import dataclass, replace

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    from pathlib import Path  # a spec is read with os and open(): pathlib's import is ~6 ms of a start-up

    from cnncalc.pattern import PatternSource
    from cnncalc.shapes import Shape


def read_stdin(shown: str = "<stdin>") -> str:
    """Standard input's text; a closed one (`cnncalc analyze - <&-`) is a read error, not a crash."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise ReadError("standard input is closed", Location(shown), hint="pipe a spec in (`cnncalc analyze - < m.yaml`)"
                        " or name the file")
    try:
        data = stream.read(yamlsource.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ReadError(f"cannot read standard input: {exc.strerror}", Location(shown)) from None
    return yamlsource.decode(data, shown)


def _regular_file(path: str) -> None:
    """Refuse what is no regular file before opening it: opening a FIFO blocks until a writer comes, and
    a device never ends (`/dev/zero`, `/dev/tty`). Standard input (`-`) is the way to pipe a spec in."""
    import stat

    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise ReadError(f"{path} is a directory", Location(path), hint="name a spec file")
    if not stat.S_ISREG(mode):
        what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise ReadError(f"{path} is {what}, not a regular file", Location(path),
                        hint=f"pipe it through standard input: `cnncalc analyze - < {path}`")


def read_text(path: str) -> str:
    """The spec's text; `-` reads standard input. Only regular files are read (never a FIFO or a device)."""
    if path == "-":
        return read_stdin()
    try:
        _regular_file(path)
        with open(path, "rb") as handle:
            data = handle.read(yamlsource.MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ReadError(f"no such file: {path}", Location(path), hint="check the path") from None
    except OSError as exc:
        raise ReadError(f"cannot read {path}: {exc.strerror}", Location(path)) from None
    return yamlsource.decode(data, path)


def display_path(path: str, stdin_name: str = "<stdin>") -> str:
    return stdin_name if path == "-" else path


def parse(text: str, path: str) -> spec.Spec:
    """A YAML spec with `layers:`, or with `pattern:` (the text lets a multi-line pattern report exact columns)."""
    with collector.paused():  # positioned nodes and items, no cycles among them (cnncalc/collector.py)
        root = yamlsource.load(text, path)
        if root.is_mapping and "pattern" in root.value:
            from cnncalc import pattern  # the pattern DSL builds the same items; a `layers:` spec never imports it

            return pattern.spec_from_yaml(root, path, text)
        return spec.parse_spec(root, path)


# ---------------------------------------------------------------------------------------------
# conventions


def resolve_convention(command_line: str | None, spec_convention: str | None = None,
                       configured: str | None = None) -> conventions.Convention:
    """The convention a command uses: `--convention` > the spec's `convention:` > the configured one
    ([tool.cnncalc], lint only) > strict. Every command resolves it here."""
    return conventions.get(command_line or spec_convention or configured or conventions.DEFAULT.name)


def analyze_spec(parsed: spec.Spec, convention: str | None = None) -> Analysis:
    """`convention` None means the spec's own `convention:`, or strict."""
    resolved = resolve_convention(convention, parsed.convention)
    # built for the convention it is analysed under: a block that reads `$in` sees its input's size under it
    with collector.paused():  # per-layer objects, no cycles among them (cnncalc/collector.py)
        return analyze(graph.build(parsed, resolved), resolved)


def analyze_text(text: str, path: str, convention: str | None = None) -> Analysis:
    """`convention` None means the spec's own `convention:`, or strict."""
    return analyze_spec(parse(text, path), convention)


def analyze_file(path: str, convention: str | None = None) -> Analysis:
    return analyze_text(read_text(path), display_path(path), convention)


def report_file(path: str, convention: str | None = None, options: report.Options | None = None) -> report.Report:
    return report.build(analyze_file(path, convention), options or report.Options())


# ---------------------------------------------------------------------------------------------
# options


def report_options(batch: int = 1, dtype: str = "float32", optimizer: str | None = None, count_bias: bool = False,
                   memory_model: str | None = None, device: str = "cpu", amp: str | None = None,
                   cpu: str | None = "auto", threads: int | None = None, gpu: str | None = None,
                   **more) -> report.Options:
    """The counting and memory options every command shares, with one default each (momentum: the cs231n
    notes' optimizer; the memory model follows the convention; the CPU is this machine's). A GPU named
    (--gpu, cnncalc/cuda/gpus.py) implies the cuda device."""
    from cnncalc import cpu as cpu_mod
    from cnncalc.memory import DEFAULT_OPTIMIZER

    board = None
    if gpu is not None:
        from cnncalc.cuda.gpus import gpu as named

        board, device = named(gpu), "cuda"
    return report.Options(batch, dtype, optimizer or DEFAULT_OPTIMIZER, count_bias, memory_model, device, amp,
                          cpu_mod.resolve(cpu, threads), gpu=board, **more)


# ---------------------------------------------------------------------------------------------
# sources


@dataclass(frozen=True, slots=True)
class Request:
    """What the command line names: a SPEC path (`-` for standard input) or --pattern, and its refinements."""

    spec: str | None = None
    pattern: str | None = None
    input: str | None = None
    defines: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    #: the name standard input is reported under (lint --stdin-filename)
    stdin_name: str = "<stdin>"

    @classmethod
    def of(cls, spec: str | None = None, pattern: str | None = None, input: str | None = None,
           defines: Sequence[str] | None = None, settings: Sequence[str] | None = None,
           stdin_name: str | None = None) -> Request:
        return cls(spec, pattern, input, tuple(defines or ()), tuple(settings or ()), stdin_name or "<stdin>")

    @property
    def refines_a_pattern(self) -> bool:
        return self.pattern is not None or bool(self.defines) or bool(self.settings)


@dataclass(frozen=True)
class Source:
    """A resolved source: where it came from, its text and its spec."""

    #: the path diagnostics name: the file, "<stdin>" or "<pattern>"
    path: str
    #: the spec's YAML, or the pattern's text
    text: str
    #: the pattern with its bindings and settings, when there is one to refine or sweep
    pattern: PatternSource | None = None
    #: -i/--input, overriding the spec's own input
    input: tuple[Shape, Location] | None = None
    #: what the source was given as: the file's path or the --pattern text
    given: str = ""
    #: the zoo's model this source is, when the name given was no file here
    zoo: str | None = None

    @property
    def convention(self) -> str | None:
        """The spec's own `convention:` (what `resolve_convention` ranks below the command line)."""
        if self.pattern is not None:
            return self.pattern.convention
        return self.spec().convention

    def spec(self) -> spec.Spec:
        """The spec, expanded for single values of the bindings and with -i/--input applied."""
        if self.pattern is not None:
            return self.pattern.spec()
        parsed = parse(self.text, self.path)
        if self.input is not None:
            parsed = replace(parsed, input=self.input[0], input_loc=self.input[1])
        return parsed


def _input(text: str) -> tuple[Shape, Location]:
    loc = Location("--input", 1, 1, 1, 1 + len(text))
    return inputs.parse_input(yamlsource.YNode(text, loc, text)), loc


def read_source(path: str, stdin_name: str = "<stdin>") -> tuple[str, str]:
    """(text, display path) of a spec file, of standard input, or of the zoo's model of that name
    when no such file exists (a file always wins)."""
    zoo = zoo_file(path)
    if zoo is not None:
        return read_text(str(zoo)), str(zoo)
    return read_text(path), display_path(path, stdin_name)


def zoo_file(path: str) -> Path | None:
    """The zoo's spec for a bare name such as `vgg16` or `vgg16.yaml` that names no file here."""
    if path == "-" or os.path.exists(path):
        return None
    from cnncalc import catalog

    return catalog.find(path)


def resolve_source(request: Request, texts: dict[str, str] | None = None) -> Source:
    """The source every command reads, resolved the same way for all of them: a spec file, `-`, or
    --pattern; -D and --set refine a pattern (given, or a spec's `pattern:`); -i/--input gives or
    overrides the input size. `texts` (the run's, for diagnostics) receives each text as soon as it is
    known, so that an error in it can be shown with its line."""
    texts = {} if texts is None else texts
    for index, text in enumerate(request.defines, start=1):
        texts[f"-D #{index}"] = text
    for index, text in enumerate(request.settings, start=1):
        texts[f"--set #{index}"] = text
    if request.input is not None:
        texts["--input"] = request.input
    if request.pattern is not None:
        if request.spec is not None:
            raise UsageError("give a SPEC file or --pattern, not both", Location(request.spec))
        texts["<pattern>"] = request.pattern
        source = Source("<pattern>", request.pattern, given=request.pattern)
        from cnncalc import pattern

        built = pattern.from_text(request.pattern, input=request.input, settings=request.settings,
                                  defines=request.defines)
        return replace(source, pattern=built)
    if request.spec is None:
        raise UsageError("give a SPEC file or --pattern", Location("cnncalc"),
                         hint='e.g. cnncalc analyze --pattern "INPUT[32x32x3] -> CONV3-16 -> RELU -> FC-10"')
    text, shown = read_source(request.spec, request.stdin_name)
    texts[shown] = text
    zoo = zoo_file(request.spec)
    source = Source(shown, text, given=request.spec, zoo=zoo.stem if zoo is not None else None)
    shape = _input(request.input) if request.input is not None else None
    if not request.refines_a_pattern and shape is None:
        return source
    root = yamlsource.load(text, shown)
    has_pattern = root.is_mapping and "pattern" in root.value
    if not request.refines_a_pattern and not has_pattern:
        return replace(source, input=shape)
    if not has_pattern:
        raise UsageError(f"{shown} has no `pattern:`; -D and --set apply to patterns", Location(shown),
                         hint="analyze it without -D/--set, or give the network as `pattern:`")
    from cnncalc import pattern

    built = pattern.from_yaml(root, shown, text)
    if shape is not None:
        built = replace(built, input=shape[0], input_loc=shape[1])
    return replace(source, pattern=built.with_settings(request.settings).with_bindings(
        pattern.parse_defines(request.defines)))


def analyze_source(source: Source, convention: str | None = None) -> Analysis:
    """The analysis of a resolved source; `convention` (the command line's) None means the spec's own, or strict."""
    if source.pattern is None and source.input is None:
        return analyze_text(source.text, source.path, convention)
    return analyze_spec(source.spec(), convention)


def sweepable(source: Source) -> PatternSource:
    """The pattern a sweep varies: the source's own, or the pattern of a spec file with `pattern:`."""
    if source.pattern is not None:
        return source.pattern
    root = yamlsource.load(source.text, source.path)
    if not root.is_mapping or "pattern" not in root.value:
        raise UsageError(f"{source.path} has no `pattern:`: there is nothing to sweep", Location(source.path),
                         hint="sweep a pattern (--pattern, or a spec with `pattern:` and -D N=0..3)")
    from cnncalc import pattern

    built = pattern.from_yaml(root, source.path, source.text)
    if source.input is not None:
        built = replace(built, input=source.input[0], input_loc=source.input[1])
    return built
