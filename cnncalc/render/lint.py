"""`cnncalc lint` output formats, each a pure function of the lint results."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from cnncalc import __version__
from cnncalc.diagnostics import Diagnostic
from cnncalc.lint.engine import FileResult
from cnncalc.lint.rules import RULES, fallback
from cnncalc.render.diagnostics import concise as concise_line
from cnncalc.render.diagnostics import full
from cnncalc.render.safe import encodable, escape

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _all(results: Sequence[FileResult]) -> list[tuple[FileResult, Diagnostic]]:
    return [(r, d) for r in results for d in r.diagnostics]


def summary(results: Sequence[FileResult]) -> str:
    found = [d for _, d in _all(results)]
    if not found:
        return f"All checks passed! ({len(results)} file(s))"
    errors = sum(d.severity == "error" for d in found)
    return (f"Found {len(found)} problem(s) ({errors} error(s), {len(found) - errors} warning(s)) "
            f"in {len({d.loc.path for d in found})} of {len(results)} file(s).")


def text(results: Sequence[FileResult]) -> str:
    """(Any character standard output cannot encode, e.g. under PYTHONIOENCODING=ascii, as an escape.)"""
    blocks = [full(d, r.source) for r, d in _all(results)]
    return encodable("\n\n".join([*blocks, summary(results)]) + "\n")


def concise(results: Sequence[FileResult]) -> str:
    return encodable("".join(concise_line(d) + "\n" for _, d in _all(results)) + summary(results) + "\n")


def _counts(results: Sequence[FileResult]) -> list[tuple[str, int]]:
    """(code, count) of every finding, the most frequent first, then by code."""
    from collections import Counter

    counted = Counter(d.code for _, d in _all(results))
    return sorted(counted.items(), key=lambda item: (-item[1], item[0]))


def statistics(results: Sequence[FileResult]) -> str:
    """`--statistics`: one line per code, `count  code  severity  name`, as ruff's, then the summary."""
    lines = [f"{count:>5}  {code}  {fallback(code).severity:<7}  {fallback(code).name}"
             for code, count in _counts(results)]
    return encodable("".join(line + "\n" for line in lines) + summary(results) + "\n")


def statistics_json(results: Sequence[FileResult]) -> str:
    """`--statistics --format json`: `[{code, name, severity, count}]`, the most frequent first."""
    items = [{"code": code, "name": fallback(code).name, "severity": fallback(code).severity, "count": count}
             for code, count in _counts(results)]
    return json.dumps(items, indent=2) + "\n"


def _json_item(d: Diagnostic) -> dict:
    return {
        "path": d.loc.path,
        "line": d.loc.line,
        "column": d.loc.col,
        "end_line": d.loc.end_line,
        "end_column": d.loc.end_col,
        "severity": d.severity,
        "code": d.code,
        "name": fallback(d.code).name,
        "message": d.message,
        "hint": d.hint,
    }


def to_json(results: Sequence[FileResult]) -> str:
    return json.dumps([_json_item(d) for _, d in _all(results)], indent=2) + "\n"


# GitHub workflow commands, escaped as actions/toolkit's command.ts does
def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _lines(text: str) -> str:
    return "\n".join(escape(part) for part in text.split("\n"))


def github_line(d: Diagnostic) -> str:
    loc = d.loc
    # text from the spec is escaped (control and bidi characters) before GitHub's own %-escaping
    props = [("title", f"cnncalc {d.code} ({fallback(d.code).name})"), ("file", escape(loc.path))]
    if loc.line > 0:
        props += [("line", str(loc.line)), ("col", str(loc.col))]
        if loc.end_line and loc.end_col:
            props += [("endLine", str(loc.end_line)), ("endColumn", str(loc.end_col))]
    message = f"{d.code} {_lines(d.message)}" + (f"\nhelp: {_lines(d.hint)}" if d.hint else "")
    head = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{d.severity} {head}::{escape_data(message)}"


def github(results: Sequence[FileResult]) -> str:
    return encodable("".join(github_line(d) + "\n" for _, d in _all(results)))


def _sarif_rule(code: str) -> dict:
    rule = fallback(code)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.what or rule.summary},
        "help": {"text": rule.text(), "markdown": rule.markdown()},
        "defaultConfiguration": {"level": rule.severity},
    }


def _region(d: Diagnostic) -> dict:
    loc = d.loc
    region = {"startLine": loc.line, "startColumn": max(loc.col, 1)}
    if loc.end_line and loc.end_col and (loc.end_line, loc.end_col) > (loc.line, loc.col):
        region.update(endLine=loc.end_line, endColumn=loc.end_col)
    return region


def _uri(path: str) -> str:
    """A relative URI of a path; an undecodable file name (its bytes as lone surrogates, from the command
    line) gets its own bytes back (`%FF`), any other lone surrogate a backslash escape."""
    posix = Path(path).as_posix()
    try:
        return quote(posix, safe="/", errors="surrogateescape")
    except UnicodeEncodeError:
        return quote(posix, safe="/", errors="backslashreplace")


def _sarif_result(d: Diagnostic, index: dict[str, int]) -> dict:
    physical: dict = {"artifactLocation": {"uri": _uri(d.loc.path)}}
    if d.loc.line > 0:
        physical["region"] = _region(d)
    return {
        "ruleId": d.code,
        "ruleIndex": index[d.code],
        "level": d.severity,
        "message": {"text": d.message + (f"\nhelp: {d.hint}" if d.hint else "")},
        "locations": [{"physicalLocation": physical}],
    }


def sarif(results: Sequence[FileResult]) -> str:
    codes = list(RULES) + sorted({d.code for _, d in _all(results)} - set(RULES))
    index = {code: i for i, code in enumerate(codes)}
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "cnncalc", "version": __version__, "rules": [_sarif_rule(c) for c in codes]}},
            "results": [_sarif_result(d, index) for _, d in _all(results)],
        }],
    }
    return json.dumps(document, indent=2) + "\n"


FORMATS = {"text": text, "concise": concise, "json": to_json, "github": github, "sarif": sarif}
