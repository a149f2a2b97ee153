"""Diagnostics for people: `path:line:col: severity: message [CODE]`, the source line and a caret."""

from __future__ import annotations

from cnncalc.diagnostics import Diagnostic
from cnncalc.render.safe import escape


#: the most characters of a source line an excerpt shows: a 1 MiB flow list on one line is cut around
#: the caret (`...` at the cut ends), not echoed whole
MAX_EXCERPT = 160


def _window(text: str, start: int, width: int) -> tuple[str, int, int, str, str]:
    """(the part of `text` shown, the caret's start and width in it, the `...` before and after it)."""
    if len(text) <= MAX_EXCERPT:
        return text, start, width, "", ""
    low = min(max(0, start - MAX_EXCERPT // 3), max(0, len(text) - MAX_EXCERPT))
    high = min(len(text), low + MAX_EXCERPT)
    return (text[low:high], start - low, max(1, min(width, high - start)), "..." if low else "",
            "..." if high < len(text) else "")


def source_excerpt(source: str | None, line: int, col: int, width: int = 1) -> list[str]:
    if not source or line <= 0:
        return []
    lines = source.splitlines()
    if line > len(lines):
        return []
    text, start, width, before_cut, after_cut = _window(lines[line - 1].replace("\t", " "), max(col - 1, 0), width)
    gutter = f"{line:>4} | " + before_cut
    # control and bidi characters of the line are shown escaped, the caret moved past their escapes
    before, marked = escape(text[:start]), escape(text[start:start + max(width, 1)])
    caret = max(len(marked), 1) if marked else max(width, 1)
    return [gutter + escape(text) + after_cut, " " * (len(gutter) + len(before)) + "^" * caret]


def full(diagnostic: Diagnostic, source: str | None = None) -> str:
    loc = diagnostic.loc
    head = concise(diagnostic)
    width = (loc.end_col - loc.col) if loc.end_col and loc.end_line == loc.line else 1
    out = [head, *source_excerpt(source, loc.line, loc.col, width)]
    if diagnostic.hint:
        # hints may span lines on purpose; each line is escaped
        out.append("  help: " + "\n".join(escape(part) for part in diagnostic.hint.split("\n")))
    return "\n".join(out)


def concise(diagnostic: Diagnostic) -> str:
    loc = diagnostic.loc
    return f"{escape(loc)}: {diagnostic.severity}: {escape(diagnostic.message)} [{diagnostic.code}]"
