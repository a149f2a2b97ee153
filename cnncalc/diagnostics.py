"""Findings as data: what `analyze` prints and what `lint` reports in every format."""

from __future__ import annotations

import re

from cnncalc.errors import CnnCalcError, Location
from cnncalc.patterns import LazyPattern
from cnncalc.records import dataclass

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Literal

    Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    code: str
    message: str
    loc: Location
    hint: str = ""

    @classmethod
    def from_error(cls, error: CnnCalcError) -> Diagnostic:
        return cls("error", error.code, error.message, error.loc, error.hint)

    def sort_key(self) -> tuple:
        return (self.loc.path, self.loc.line, self.loc.col, self.code)


#: `# cnncalc: ignore[CNN303, CNN305]` (or bare `# cnncalc: ignore` for every rule) on a line.
_SUPPRESS = LazyPattern(r"#\s*cnncalc:\s*ignore(?P<file>-file)?(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
#: the key under which `# cnncalc: ignore-file[...]` codes are kept: they hold on every line.
WHOLE_FILE = 0
_ALL = frozenset({"*"})


def suppressions(text: str) -> dict[int, frozenset[str]]:
    """Line -> codes ignored on it. A comment alone on a line also covers the next line;
    `# cnncalc: ignore-file[...]` covers every line (key WHOLE_FILE)."""
    found: dict[int, frozenset[str]] = {}
    if "cnncalc" not in text.lower():  # no comment can match (no other character matches these letters
        return found  # ignoring case), and the pattern stays uncompiled
    for number, line in enumerate(text.splitlines(), start=1):
        match = _SUPPRESS.search(line)
        if match is None:
            continue
        codes = match.group("codes")
        words = _ALL if codes is None else frozenset(c.strip() for c in codes.split(",") if c.strip())
        if match.group("file"):
            targets: tuple[int, ...] = (WHOLE_FILE,)
        elif line.lstrip().startswith("#"):
            targets = (number, number + 1)
        else:
            targets = (number,)
        for target in targets:
            found[target] = found.get(target, frozenset()) | words
    return found


def ignored_codes(diagnostic: Diagnostic, ignored: dict[int, frozenset[str]]) -> frozenset[str]:
    return ignored.get(diagnostic.loc.line, frozenset()) | ignored.get(WHOLE_FILE, frozenset())
