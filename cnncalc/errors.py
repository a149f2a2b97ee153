"""The one exception root of cnncalc and the exit statuses the CLI maps it to.

Every user-facing failure is a `CnnCalcError` that knows where it happened (a `Location`),
what is wrong (`message`) and how to fix it (`hint`). The CLI adds the file context once.
"""

from __future__ import annotations

from cnncalc.records import dataclass

#: The model (or the lint run) has findings: invalid shapes, unknown layers, wrong types...
EXIT_INVALID = 1
#: The input could not be read or parsed, the command line is wrong, or cnncalc itself failed.
EXIT_USAGE = 2
#: Standard output was closed before cnncalc finished writing (`cnncalc rules | head -5`): nothing more
#: is printed, and the status is the shell's for a program ended by SIGPIPE (128 + 13), as for `yes | head`.
EXIT_BROKEN_PIPE = 141
#: The output could not be written (`> /dev/full`, a closed standard output, a full disk): EX_IOERR of
#: sysexits.h, as other tools report an output error.
EXIT_OUTPUT = 74


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a source text. Lines and columns start at 1; `end_col` is exclusive."""

    path: str = "<spec>"
    line: int = 0
    col: int = 0
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{self.col}"

    def shifted(self, columns: int, width: int = 1) -> Location:
        """A location `columns` characters to the right on the same line (for text inside a scalar)."""
        col = self.col + columns
        return Location(self.path, self.line, col, self.line, col + width)


UNKNOWN = Location()


class CnnCalcError(Exception):
    """Root of every error cnncalc reports to a user."""

    exit_code = EXIT_INVALID
    code = "CNN100"

    def __init__(self, message: str, loc: Location = UNKNOWN, hint: str = "", code: str | None = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        text = f"{self.loc}: error: {self.message}"
        return f"{text}\n  help: {self.hint}" if self.hint else text


class ReadError(CnnCalcError):
    """The input cannot be read at all (missing file, not UTF-8, too large)."""

    exit_code = EXIT_USAGE
    code = "CNN001"


class ParseError(CnnCalcError):
    """The text is not valid YAML (or a pattern cannot be tokenized)."""

    exit_code = EXIT_USAGE
    code = "CNN002"


class UnsafeYamlError(ParseError):
    """YAML cnncalc refuses to read: aliases, non-standard tags, absurd nesting or size."""

    code = "CNN005"


class SpecError(CnnCalcError):
    """The YAML is well formed but does not describe a valid spec (unknown keys, wrong types...)."""

    code = "CNN101"


class ShapeError(CnnCalcError):
    """The layers do not fit together: non-integral sizes, kernels larger than their input..."""

    code = "CNN201"


class LimitError(CnnCalcError):
    """The input exceeds one of cnncalc's documented safety limits."""

    code = "CNN003"


class UsageError(CnnCalcError):
    """A command-line option has a value cnncalc cannot use."""

    exit_code = EXIT_USAGE
    code = "CNN004"
