"""Every lint rule, by code. `cnncalc rules`, docs/lint.md and SARIF's rule list read this table.

The codes a layer kind raises are documented with the kind (`LayerKind.rules`) and collected here
from the registry; the rest live in the modules below."""

from __future__ import annotations

from cnncalc.layers import kind_rules
from cnncalc.lint.rule import Rule
from cnncalc.lint.rules import autograd, budgets, design, importing, pattern, receptive, reported

RULES: dict[str, Rule] = {r.code: r for r in sorted((*reported.RULES, *kind_rules(), *pattern.RULES, *design.RULES,
                                                                   *autograd.RULES, *receptive.RULES, *budgets.RULES,
                                                                   *importing.RULES),
                                                    key=lambda r: r.code)}


def find(word: str) -> Rule | None:
    """A rule by code (CNN201) or name (non-integral-size)."""
    return RULES.get(word.upper()) or next((r for r in RULES.values() if r.name == word.lower()), None)


def fallback(code: str) -> Rule:
    """For a code some newer part of cnncalc reports before it is documented here."""
    return RULES.get(code) or Rule(code, code.lower(), "error", "see the message", "", "", "", "")
