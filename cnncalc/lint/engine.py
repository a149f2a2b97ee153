"""Lint one spec text: read, analyse, run the rules, then drop what the run or the file ignores."""

from __future__ import annotations

from collections.abc import Callable
from cnncalc.records import dataclass, replace

from cnncalc import graph, yamlsource
from cnncalc.analysis import analyze
from cnncalc.diagnostics import _SUPPRESS as SUPPRESSION
from cnncalc.diagnostics import WHOLE_FILE, Diagnostic, ignored_codes, suppressions  # noqa: F401  (re-exported)
from cnncalc.errors import CnnCalcError, Location, SpecError
from cnncalc.lint import recover, selectors
from cnncalc.lint.options import LintOptions, enabled, matches
from cnncalc.lint.rules import RULES, fallback
from cnncalc.lint.subject import Subject
from cnncalc.spec import Spec
from cnncalc.pipeline import Source, parse, resolve_convention

@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    source: str
    diagnostics: tuple[Diagnostic, ...]


def _suppressed(diagnostic: Diagnostic, ignored: dict[int, frozenset[str]]) -> bool:
    words = ignored_codes(diagnostic, ignored)
    name = fallback(diagnostic.code).name
    return "*" in words or any(matches(w, diagnostic.code, name) for w in words)


def _located(diagnostic: Diagnostic, path: str) -> Diagnostic:
    """Findings without a position (whole-file problems) still name the file."""
    if diagnostic.loc.path == path:
        return diagnostic
    loc = diagnostic.loc
    return Diagnostic(diagnostic.severity, diagnostic.code, diagnostic.message,
                      Location(path, loc.line, loc.col, loc.end_line, loc.end_col), diagnostic.hint)


def findings(text: str, path: str, options: LintOptions, build: Callable[[], Spec] | None = None) -> list[Diagnostic]:
    """Everything the analysis and the rules report, before selection and suppression. `build` makes the
    spec (a pattern's, or one with -i/--input); by default the text is parsed."""
    try:
        parsed = build() if build is not None else parse(text, path)
    except SpecError as error:
        return [Diagnostic.from_error(e) for e in _every_spec_error(text, path, error, build is None)]
    except CnnCalcError as error:
        return [Diagnostic.from_error(error)]
    try:
        # --convention > the spec's own `convention:` > [tool.cnncalc] > strict, as for every command
        convention = resolve_convention(options.convention, parsed.convention, options.configured_convention)
        model = graph.build(parsed, convention)
        analysis = analyze(model, convention)
    except CnnCalcError as error:
        return [Diagnostic.from_error(error)]
    subject = Subject(analysis, replace(options, convention=convention.name))
    # a non-integral size (strict) already says that rows are lost: no dropped-rows warning beside it
    fractional = {(d.loc.line, d.loc.col) for d in analysis.diagnostics if d.code == "CNN201"}
    found = [d for d in analysis.diagnostics if not (d.code == "CNN301" and (d.loc.line, d.loc.col) in fractional)]
    found.extend(recover.independent_shape_errors(model, convention, analysis))
    for rule in RULES.values():
        if rule.check is not None and enabled(options, rule.code, rule.name, rule.default):
            found.extend(rule.check(subject))
    return found


def _every_spec_error(text: str, path: str, first: SpecError, from_text: bool) -> list[CnnCalcError]:
    """The spec errors of every layer item of a `layers:` spec (a pattern stops at its first error)."""
    if not from_text:
        return [first]
    try:
        root = yamlsource.load(text, path)
    except CnnCalcError:  # the text itself does not read (a duplicate key): one error, as YAML errors
        return [first]
    if not root.is_mapping or "pattern" in root.value:
        return [first]
    return recover.spec_errors(root, path, first)


def unknown_suppressions(text: str, path: str) -> list[Diagnostic]:
    """CNN006 for each word of a `# cnncalc: ignore[...]` comment that names no rule, at its column."""
    rule = RULES["CNN006"]
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = SUPPRESSION.search(line)
        if match is None or match.group("codes") is None:
            continue
        offset = match.start("codes")
        for word in match.group("codes").split(","):
            stripped = word.strip()
            if stripped and not selectors.known(stripped):
                col = offset + word.index(stripped) + 1
                loc = Location(path, number, col, number, col + len(stripped))
                found.append(rule.at(loc, f"`# cnncalc: ignore[...]` names no rule: {stripped!r}",
                                     selectors.did_you_mean(stripped) + "`cnncalc rules` lists the codes and names"))
            offset += len(word) + 1  # the next word starts after this one and its comma
    return found


def lint_source(source: Source, options: LintOptions = LintOptions()) -> FileResult:
    """Lint a source the pipeline resolved (a pattern, or a spec with -D, --set or -i/--input)."""
    return lint_text(source.text, source.path, options, source.spec)


def lint_text(text: str, path: str, options: LintOptions = LintOptions(),
              build: Callable[[], Spec] | None = None) -> FileResult:
    ignored = suppressions(text)
    seen: set[tuple] = set()
    kept = []
    for diagnostic in [*findings(text, path, options, build), *unknown_suppressions(text, path)]:
        diagnostic = _located(diagnostic, path)
        key = (diagnostic.code, diagnostic.loc.line, diagnostic.loc.col)
        # a layer inside `repeat:` is analysed once per copy; report its source line once
        if key in seen:
            continue
        seen.add(key)
        if enabled(options, diagnostic.code, fallback(diagnostic.code).name) and not _suppressed(diagnostic, ignored):
            kept.append(diagnostic)
    return FileResult(path, text, tuple(sorted(kept, key=lambda d: d.sort_key())))
