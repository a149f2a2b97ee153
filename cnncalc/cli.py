"""The `cnncalc` command line: the app, its error boundary and `main`. Each command is a module of
cnncalc/commands/ (one per command; the options they share are cnncalc/commands/options.py), and
cnncalc/pipeline.py resolves what they are given (the source, the convention, the options).

Errors are turned into located diagnostics once, by the boundary of cnncalc/commands/boundary.py
(which cnncalc/commands/fast.py, the runs made without typer, shares), and mapped to exit statuses:

0 success; 1 the model is invalid (or lint found problems); 2 the input cannot be read or
parsed, the command line is wrong (click's own usage errors included, in cnncalc's one-paragraph
style), or cnncalc failed internally; 74 the output could not be written (`> /dev/full`, a closed
standard output); 141 standard output was closed by its reader.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

try:  # typer 0.2x raises the exceptions of its own copy of click
    from typer._click import exceptions as errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as errors

from cnncalc import __version__
from cnncalc.commands.boundary import ClosedOutput, run_main, too_deep  # noqa: F401  (cnncalc.cli's names before)
from cnncalc.commands.boundary import boundary as failures
from cnncalc.commands.invocation import Invocation, stderr
from cnncalc.errors import EXIT_USAGE, Location, UsageError

#: The commands, in the order `cnncalc --help` lists them (each is cnncalc/commands/<name>.py).
COMMANDS = ("analyze", "verify", "expand", "sweep", "fit", "lint", "rules", "schema", "diff", "rf", "zoo", "report",
            "graph", "export", "import")


@contextmanager
def boundary(run: Invocation) -> Iterator[None]:
    """cnncalc/commands/boundary.py's, inside click: click's Exit ends the run, click's errors pass."""
    with failures(run, stop=typer.Exit, passing=(typer.Exit, typer.Abort, errors.ClickException)):
        yield


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
    run_main(lambda: _app_for(sys.argv[1:])())
