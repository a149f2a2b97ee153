"""Diagnostics for people: `path:line:col: severity: message [CODE]`, the source line and a caret."""

from __future__ import annotations

from cnncalc.diagnostics import Diagnostic


def source_excerpt(source: str | None, line: int, col: int, width: int = 1) -> list[str]:
    if not source or line <= 0:
        return []
    lines = source.splitlines()
    if line > len(lines):
        return []
    text = lines[line - 1].replace("\t", " ")
    gutter = f"{line:>4} | "
    return [gutter + text, " " * (len(gutter) + max(col - 1, 0)) + "^" * max(width, 1)]


def full(diagnostic: Diagnostic, source: str | None = None) -> str:
    loc = diagnostic.loc
    head = f"{loc}: {diagnostic.severity}: {diagnostic.message} [{diagnostic.code}]"
    width = (loc.end_col - loc.col) if loc.end_col and loc.end_line == loc.line else 1
    out = [head, *source_excerpt(source, loc.line, loc.col, width)]
    if diagnostic.hint:
        out.append(f"  help: {diagnostic.hint}")
    return "\n".join(out)


def concise(diagnostic: Diagnostic) -> str:
    loc = diagnostic.loc
    return f"{loc}: {diagnostic.severity}: {diagnostic.message} [{diagnostic.code}]"
