"""One run of the command line: its --debug flag and the texts its diagnostics may quote.

cnncalc/cli.py makes one `Invocation` per run and hands it to the command as click's `ctx.obj`;
nothing is kept between runs (the tests run hundreds in one process).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from cnncalc.records import dataclass, field

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    from cnncalc.diagnostics import Diagnostic
    from cnncalc.errors import CnnCalcError


def stderr(text: str) -> None:
    sys.stderr.write(text + "\n")


@dataclass
class Invocation:
    debug: bool = False
    #: source texts by display path, so diagnostics can show the offending line
    texts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, ctx) -> Invocation:
        """The run a click context belongs to (a fresh one when a command is called outside cnncalc.cli)."""
        root = ctx.find_root()
        if not isinstance(root.obj, Invocation):
            root.obj = cls()
        return root.obj

    def source(self, request):
        """The request's source (cnncalc/pipeline.py), saying so on stderr when it is the zoo's model."""
        from cnncalc import pipeline

        found = pipeline.resolve_source(request, self.texts)
        if found.zoo is not None:
            stderr(f"cnncalc: {found.given} is no file here: using the zoo's {found.zoo} ({found.path})")
        return found

    def analysis(self, request, convention: str | None = None):
        """The request's source analysed (`convention`: the command line's), its diagnostics shown;
        exit 1 when the model is invalid. What every command that computes shapes starts with.
        (SystemExit, not click's Exit: the same status inside click's app, and no typer to import for
        the runs cnncalc/commands/fast.py makes without it.)"""
        from cnncalc import pipeline
        from cnncalc.errors import EXIT_INVALID

        analysis = pipeline.analyze_source(self.source(request), convention)
        self.emit(analysis.diagnostics)
        if not analysis.ok:
            raise SystemExit(EXIT_INVALID)
        return analysis

    def print_error(self, error: CnnCalcError) -> None:
        from cnncalc.diagnostics import Diagnostic
        from cnncalc.render.diagnostics import full

        stderr(full(Diagnostic.from_error(error), self.texts.get(error.loc.path)))

    def emit(self, diagnostics: Iterable[Diagnostic]) -> None:
        """Errors in full (source line, caret, help); warnings one line each, repeats of a line counted once."""
        shown = sorted(diagnostics, key=lambda d: d.sort_key())
        if not shown:  # most runs: nothing to read the spec's comments for, nor to render
            return
        from cnncalc.diagnostics import ignored_codes, suppressions

        seen: dict[tuple, int] = {}
        ignored = {path: suppressions(text) for path, text in self.texts.items()}
        for diagnostic in shown:
            if diagnostic.severity == "error":
                from cnncalc.render.diagnostics import full  # where one is shown (~1 ms of imports)

                stderr(full(diagnostic, self.texts.get(diagnostic.loc.path)))
                continue
            codes = ignored_codes(diagnostic, ignored.get(diagnostic.loc.path, {}))
            if "*" in codes or diagnostic.code in codes:
                continue  # the spec's `# cnncalc: ignore[...]` comments hold for analyze too
            key = (diagnostic.loc.path, diagnostic.loc.line, diagnostic.loc.col, diagnostic.code)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] == 1:
                from cnncalc.render.diagnostics import concise

                stderr(concise(diagnostic))
        repeats = sum(n - 1 for n in seen.values())
        if repeats:
            stderr(f"({repeats} more warning(s) from the same lines, used again by repeats or blocks; "
                   "`cnncalc lint` lists them all)")
