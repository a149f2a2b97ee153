"""The command line's error boundary and standard streams, without typer: cnncalc/cli.py's app and
cnncalc/commands/fast.py (the runs that need no command-line parser) end every run the same way.

Exit statuses (cnncalc/cli.py lists them all): 74 the output could not be written (`> /dev/full`, a
closed standard output); 141 standard output was closed by its reader; 130 interrupted.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cnncalc.commands.invocation import Invocation, stderr
from cnncalc.errors import EXIT_BROKEN_PIPE, EXIT_OUTPUT, EXIT_USAGE, CnnCalcError, Location

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import NoReturn


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
def boundary(run: Invocation, stop: Callable[[int], BaseException] = SystemExit,
             passing: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Turn every failure of a command into a message and an exit status; tracebacks only with --debug.

    `stop(status)`: the exception that ends the run with that status (click's Exit inside the app, where
    click turns it into the status; SystemExit outside it); `passing`: exceptions that are no failure
    (click's own, which the app reports itself)."""
    try:
        yield
    except passing:
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
        raise stop(error.exit_code) from None
    except KeyboardInterrupt:
        stderr("cnncalc: interrupted")
        raise stop(130) from None
    except RecursionError:
        if run.debug:
            raise
        run.print_error(too_deep(run))
        raise stop(too_deep(run).exit_code) from None
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if run.debug:
            raise
        stderr(
            f"cnncalc: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in cnncalc. Please report it with the spec and command that caused it "
            "(run again with --debug for the traceback)."
        )
        raise stop(EXIT_USAGE) from None


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


def run_main(command: Callable[[], object]) -> None:
    """Run `command` (the whole command line) with standard streams that never raise UnicodeEncodeError,
    its last buffered output flushed where a closed pipe or a full disk can still be reported."""
    _prepare_streams()
    try:
        try:
            command()
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
