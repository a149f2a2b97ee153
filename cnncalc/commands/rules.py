"""`cnncalc rules`: list the lint rules, or explain one."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cnncalc.errors import Location, UsageError


def rules(
    rule: Annotated[Optional[str], typer.Argument(help="A rule code (CNN201) or name to explain.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the documentation as Markdown.")] = False,
) -> None:
    """List the lint rules, or explain one: what it checks, why, an example, how to fix."""
    from cnncalc.lint.rules import RULES, find

    if rule is None:
        if markdown:
            sys.stdout.write("\n".join(r.markdown() for r in RULES.values()))
            return
        for r in RULES.values():
            print(f"{r.code}  {r.name:<30} {r.severity:<8} {r.summary}")
        return
    found = find(rule)
    if found is None:
        raise UsageError(f"no rule {rule!r}", Location("<command line>"), hint="`cnncalc rules` lists them")
    sys.stdout.write(found.markdown() if markdown else found.text())
