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


#: `# cnncalc: ignore[CNN303, CNN305]` (or bare `# cnncalc: ignore` for every rule) on a line: the pattern
#: `SUPPRESS` (ignoring case), read by `_comment` without compiling it (~0.45 ms of a run whose spec has one).
SUPPRESS = r"#\s*cnncalc:\s*ignore(?P<file>-file)?(?:\[(?P<codes>[^\]]*)\])?"
#: the pattern itself, for lint's check of the codes named (their columns); compiled on first use
_SUPPRESS = LazyPattern(SUPPRESS, re.IGNORECASE)
#: the key under which `# cnncalc: ignore-file[...]` codes are kept: they hold on every line.
WHOLE_FILE = 0
_ALL = frozenset({"*"})
#: the characters other than a letter's own two cases that `re` matches to it ignoring case (the dotless
#: and the dotted capital i); no other character matches the letters of these words
_OTHER_CASES = {"i": "\u0130\u0131"}


def _word_at(line: str, at: int, word: str) -> int:
    """Where `word` ends if `line` has it at `at`, ignoring case as `re` does; -1 if not."""
    if len(line) - at < len(word):
        return -1
    for char, letter in zip(line[at:at + len(word)], word):
        if char != letter and char.lower() != letter and char not in _OTHER_CASES.get(letter, ""):
            return -1
    return at + len(word)


def _after_spaces(line: str, at: int) -> int:
    while at < len(line) and line[at].isspace():  # `\s`: str.isspace's characters
        at += 1
    return at


def _comment(line: str) -> tuple[bool, str | None] | None:
    """`re.search(SUPPRESS, line, re.IGNORECASE)`: (whether it is `ignore-file`, the text between the
    brackets or None) of the first comment on the line, None if it has none."""
    at = line.find("#")
    while at != -1:
        end = _word_at(line, _after_spaces(line, at + 1), "cnncalc:")
        end = _word_at(line, _after_spaces(line, end), "ignore") if end != -1 else -1
        if end != -1:
            after = _word_at(line, end, "-file")
            whole_file = after != -1
            end = after if whole_file else end
            close = line.find("]", end + 1) if line.startswith("[", end) else -1
            return whole_file, (line[end + 1:close] if close != -1 else None)
        at = line.find("#", at + 1)
    return None


def suppressions(text: str) -> dict[int, frozenset[str]]:
    """Line -> codes ignored on it. A comment alone on a line also covers the next line;
    `# cnncalc: ignore-file[...]` covers every line (key WHOLE_FILE)."""
    found: dict[int, frozenset[str]] = {}
    if "cnncalc" not in text.lower():  # no comment can be there (no other character matches these letters
        return found  # ignoring case)
    for number, line in enumerate(text.splitlines(), start=1):
        comment = _comment(line) if "#" in line else None
        if comment is None:
            continue
        whole_file, codes = comment
        words = _ALL if codes is None else frozenset(c.strip() for c in codes.split(",") if c.strip())
        if whole_file:
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
