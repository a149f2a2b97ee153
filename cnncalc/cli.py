"""The `cnncalc` command line: the app, its error boundary and `main`. Each command is a module of
cnncalc/commands/ (one per command; the options they share are cnncalc/commands/options.py), and
cnncalc/pipeline.py resolves what they are given (the source, the convention, the options).

Errors are turned into located diagnostics here, once, and mapped to exit statuses:

0 success; 1 the model is invalid (or lint found problems); 2 the input cannot be read or
parsed, the command line is wrong (click's own usage errors included, in cnncalc's one-paragraph
style), or cnncalc failed internally; 74 the output could not be written (`> /dev/full`, a closed
standard output); 141 standard output was closed by its reader.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn, Optional

import typer
from typer.core import TyperGroup

try:  # typer 0.2x raises the exceptions of its own copy of click
    from typer._click import exceptions as errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as errors

from cnncalc import __version__
from cnncalc.commands.invocation import Invocation, stderr
from cnncalc.errors import EXIT_BROKEN_PIPE, EXIT_OUTPUT, EXIT_USAGE, CnnCalcError, Location, UsageError

#: The commands, in the order `cnncalc --help` lists them (each is cnncalc/commands/<name>.py).
COMMANDS = ("analyze", "verify", "expand", "sweep", "fit", "lint", "rules", "schema", "diff", "rf", "zoo", "report",
            "graph", "export", "import")


def _discard_unwritable_output() -> None:
    """Point a stream that cannot be written at the null device, so that nothing written later, nor the
    flush at interpreter exit, raises again; see https://docs.python.org/3/library/signal.html#note-on-sigpipe."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError, AttributeError):
                pass


def _output_closed() -> NoReturn:
    """The reader of standard output went away (`cnncalc rules | head -5`): end quietly, as cat or grep do."""
    _discard_unwritable_output()
    raise SystemExit(EXIT_BROKEN_PIPE)


def _output_failed(error: OSError) -> NoReturn:
    """Writing failed (`> /dev/full`: no space left; a closed standard output; `report -o` on a read-only
    disk): an output error with its own status, not a bug of cnncalc's."""
    where = f" {error.filename}" if error.filename else ""
    reason = error.strerror or str(error)
    _discard_unwritable_output()
    try:
        stderr(f"cnncalc: error: cannot write the output{where}: {reason}")
    except (OSError, ValueError, AttributeError):
        pass  # standard error is gone too: the status says it
    raise SystemExit(EXIT_OUTPUT)


class ClosedOutput:
    """Stands for a standard output the shell closed (`cnncalc analyze m.yaml >&-`): writing to it is an
    output error (as for `ls >&-`), and a run that writes nothing there (`report -o FILE`) still works."""

    encoding = "utf-8"
    errors = "backslashreplace"

    def write(self, text: str) -> int:
        if not text:
            return 0
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _prepare_streams() -> None:
    """Standard streams that never raise UnicodeEncodeError: a lone surrogate (an undecodable file name)
    or a character a non-UTF-8 console cannot encode is written as a backslash escape. A closed stream
    (`>&-`, `2>&-`) is replaced: writing to a closed standard output is an output error."""
    if sys.stdout is None:
        sys.stdout = ClosedOutput()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (OSError, ValueError):
                pass


@contextmanager
def boundary(run: Invocation) -> Iterator[None]:
    """Turn every failure of a command into a message and an exit status; tracebacks only with --debug."""
    try:
        yield
    except (typer.Exit, typer.Abort, errors.ClickException):
        raise
    except BrokenPipeError:
        _output_closed()
    except OSError as error:  # what reading raises is a located ReadError already: this is the output
        if run.debug:
            raise
        _output_failed(error)
    except CnnCalcError as error:
        if run.debug:
            raise
        run.print_error(error)
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        stderr("cnncalc: interrupted")
        raise typer.Exit(130) from None
    except RecursionError:
        if run.debug:
            raise
        run.print_error(too_deep(run))
        raise typer.Exit(too_deep(run).exit_code) from None
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if run.debug:
            raise
        stderr(
            f"cnncalc: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in cnncalc. Please report it with the spec and command that caused it "
            "(run again with --debug for the traceback)."
        )
        raise typer.Exit(EXIT_USAGE) from None


def too_deep(run: Invocation) -> CnnCalcError:
    """A RecursionError the guards did not turn into a located error first (each nesting of the input is
    bounded: YAML, blocks, patterns): still an error about the input, naming its file and the limits."""
    from cnncalc.errors import LimitError
    from cnncalc.limits import MAX_NESTING
    from cnncalc.yamlsource import MAX_DEPTH

    sources = [path for path in run.texts if not path.startswith(("-D #", "--set #", "--input"))]
    return LimitError(f"the input nests too deeply to analyse (the limits: YAML {MAX_DEPTH} levels, block uses "
                      f"and constructs {MAX_NESTING} levels)", Location(sources[-1] if sources else "cnncalc"),
                      hint="flatten the nesting, e.g. with `repeat:` instead of blocks wrapping blocks")


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:]


def _did_you_mean(word: str, candidates) -> str:
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.5)
    return f"did you mean {close[0]}? " if close else ""


def from_click(error: errors.ClickException) -> UsageError:
    """click's usage errors ("Usage: ... Error: Invalid value for '--dtype'") as cnncalc's own: one
    paragraph, `cnncalc: error: ... [CNN004]`, and a help line with the valid values."""
    ctx = getattr(error, "ctx", None)
    named = ctx is not None and ctx.command is not None and not isinstance(ctx.command, TyperGroup)
    command = "cnncalc" + (f" {ctx.command.name}" if named else "")
    hint = f"`{command} --help` lists the options"
    message = _sentence(error.format_message().split(". Did you mean")[0])
    param = getattr(error, "param", None)
    bad_value = isinstance(error, errors.BadParameter) and not isinstance(error, errors.MissingParameter)
    if bad_value and param is not None:
        name = max(param.opts, key=len) if param.opts else param.human_readable_name
        message = f"{name}: {_sentence(error.message)}"
        valid = getattr(param.type, "choices", None)
        if valid:
            given = message.split("'")[1] if message.count("'") >= 2 else ""
            hint = _did_you_mean(given, valid) + "valid values: " + ", ".join(str(c) for c in valid)
    elif isinstance(error, errors.NoSuchOption):
        message = _sentence(error.message)
        hint = (f"did you mean {sorted(error.possibilities)[0]}? " if error.possibilities else "") + hint
    elif message.startswith("no such command"):
        word = message.split("'")[1] if message.count("'") >= 2 else ""
        hint = _did_you_mean(word, COMMANDS) + "commands: " + ", ".join(COMMANDS)
    return UsageError(message, Location("cnncalc"), hint=hint)


class Group(TyperGroup):
    """The app's click group: one `Invocation` per run, the error boundary around the command, and
    click's own errors in cnncalc's style (exit 2)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        run = extra.pop("obj", None) or Invocation()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, obj=run, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, obj=run, **extra)
        except errors.ClickException as error:
            if type(error).__name__ == "NoArgsIsHelpError":
                error.show()  # `cnncalc` alone prints the help, as before
                sys.exit(error.exit_code)
            run.print_error(from_click(error))
            sys.exit(EXIT_USAGE)
        except typer.Abort:
            stderr("cnncalc: interrupted")
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        with boundary(Invocation.of(ctx)):
            return super().invoke(ctx)


def _version(value: bool) -> None:
    if value:
        print(f"cnncalc {__version__}")
        raise typer.Exit()


def _callback(
    ctx: typer.Context,
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.")] = False,
) -> None:
    Invocation.of(ctx).debug = debug


def _typer() -> typer.Typer:
    made = typer.Typer(
        name="cnncalc",
        help="Layer-by-layer shapes, parameters, MACs and memory of convolutional networks, from a text spec.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        cls=Group,
    )
    made.callback()(_callback)
    return made


def _command(name: str):
    """The command function of cnncalc/commands/<name>.py; only the module of the command being run is
    imported (typer builds every command's options from its signature, a few milliseconds each).
    Written out, not computed, so the import walker of tests/test_imports.py sees every edge."""
    if name == "analyze":
        from cnncalc.commands.analyze import analyze as command
    elif name == "verify":
        from cnncalc.commands.verify import verify as command
    elif name == "expand":
        from cnncalc.commands.expand import expand as command
    elif name == "sweep":
        from cnncalc.commands.sweep import sweep as command
    elif name == "fit":
        from cnncalc.commands.fit import fit as command
    elif name == "lint":
        from cnncalc.commands.lint import lint as command
    elif name == "rules":
        from cnncalc.commands.rules import rules as command
    elif name == "schema":
        from cnncalc.commands.schema import schema as command
    elif name == "diff":
        from cnncalc.commands.diff import diff as command
    elif name == "rf":
        from cnncalc.commands.rf import rf as command
    elif name == "zoo":
        from cnncalc.commands.zoo import zoo as command
    elif name == "report":
        from cnncalc.commands.report import report as command
    elif name == "graph":
        from cnncalc.commands.graph import graph as command
    elif name == "export":
        from cnncalc.commands.export import export as command
    elif name == "import":
        from cnncalc.commands.import_ import import_ as command
    else:
        raise KeyError(name)
    return command


_whole: list[typer.Typer] = []


def whole_app() -> typer.Typer:
    """The app with every command (for --help, and for tests that invoke `app`)."""
    if not _whole:
        made = _typer()
        for name in COMMANDS:
            made.command(name=name)(_command(name))
        _whole.append(made)
    return _whole[0]


def __getattr__(name: str):
    if name == "app":  # `from cnncalc.cli import app`: built on first use, not by `cnncalc analyze`
        return whole_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _app_for(args: list[str]) -> typer.Typer:
    """The app with only the command the arguments name (the whole app without one, e.g. for --help).

    Only `--debug` may come before it: anything else there (--help, --version) is about the whole app."""
    position = next((i for i, arg in enumerate(args) if arg != "--debug"), None)
    if position is None or args[position] not in COMMANDS:
        return whole_app()
    if _whole:
        import copy

        trimmed = copy.copy(_whole[0])
        trimmed.registered_commands = [c for c in _whole[0].registered_commands if c.name == args[position]]
        return trimmed
    alone = _typer()
    alone.command(name=args[position])(_command(args[position]))
    return alone


def main() -> None:
    _prepare_streams()
    try:
        try:
            _app_for(sys.argv[1:])()
        finally:
            sys.stdout.flush()  # what is still buffered, here where a closed pipe can be caught
    except BrokenPipeError:
        _output_closed()
    except OSError as error:  # the last buffered output did not fit (`> /dev/full`)
        _output_failed(error)
    except SystemExit as done:
        # click (help, --version) and rich (tables) end a run on a closed pipe themselves, with status 1,
        # from inside their `except BrokenPipeError:`; give such runs the same status as cnncalc's own.
        if isinstance(done.__context__, BrokenPipeError) and done.code != EXIT_BROKEN_PIPE:
            _output_closed()
        if isinstance(done.__context__, OSError) and done.code not in (EXIT_OUTPUT, EXIT_BROKEN_PIPE):
            _output_failed(done.__context__)  # click's own output (--help) to a full disk
        raise
