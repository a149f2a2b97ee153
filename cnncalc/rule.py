"""A rule: a stable code, a kebab-case name, a default severity, documentation in ruff's shape
(What it does / Why is this bad? / Example / How to fix) and, for rules that are not reported by the
analysis itself, a check over the analysed model.

Outside the lint package because the layer kinds document the codes they raise with these objects
(`LayerKind.rules`); the lint registry (cnncalc/lint/rules/__init__.py) collects them from the kinds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from cnncalc.records import dataclass

from cnncalc.diagnostics import Diagnostic
from cnncalc.errors import Location

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    from cnncalc.diagnostics import Severity
    from cnncalc.lint.subject import Subject


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    what: str
    why: str
    example: str
    fix: str
    #: None: the analysis (spec reader, shape engine) reports this code itself.
    check: Callable[[Subject], Iterable[Diagnostic]] | None = None
    #: False: an opt-in rule, run only when `--select` (or `select` in [tool.cnncalc]) names it
    default: bool = True

    def at(self, loc: Location, message: str, hint: str = "") -> Diagnostic:
        return Diagnostic(self.severity, self.code, message, loc, hint)

    def sections(self) -> tuple[tuple[str, str], ...]:
        return (
            ("What it does", clean(self.what)),
            ("Why is this bad?", clean(self.why)),
            ("Example", clean(self.example)),
            ("How to fix", clean(self.fix)),
        )

    def markdown(self) -> str:
        opt_in = ", opt-in" if not self.default else ""
        head = f"### {self.code} `{self.name}` ({self.severity}{opt_in})\n\n{self.summary}\n"
        body = []
        for title, text in self.sections():
            if title == "Example":
                text = "```yaml\n" + text + "\n```"
            body.append(f"**{title}**\n\n{text}\n")
        return head + "\n" + "\n".join(body)

    def text(self) -> str:
        out = [f"{self.code} {self.name} ({self.severity}): {self.summary}", ""]
        from textwrap import indent

        for title, text in self.sections():
            out += [f"{title}:", indent(text, "    "), ""]
        return "\n".join(out).rstrip() + "\n"


def clean(text: str) -> str:
    # textwrap (~1.5 ms of compiled patterns) only for the documentation: every kind defines its rules at
    # import, on analyze's path, but only `rules`, lint's messages and the docs read them out
    from textwrap import dedent

    return dedent(text).strip("\n").rstrip()
