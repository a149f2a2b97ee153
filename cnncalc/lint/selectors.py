"""Rule selectors (`--select`, `--ignore`, `[tool.cnncalc]`, `# cnncalc: ignore[...]`): codes, code
prefixes (CNN3) or rule names. One that names no rule selects nothing, so a typo (`--select CNN20l`)
would pass every spec silently: on the command line and in the configuration it is an error, in a
spec's comment a warning (CNN006), each with the nearest code or name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from cnncalc.errors import Location, UsageError
from cnncalc.lint.rules import RULES


def known(selector: str) -> bool:
    """Whether a selector names at least one rule (`*` in a comment names them all)."""
    word = selector.strip()
    return word == "*" or any(code.startswith(word.upper()) for code in RULES) or any(
        rule.name == word.lower() for rule in RULES.values())


_LOOKALIKES = str.maketrans({"L": "1", "I": "1", "O": "0", "S": "5", "B": "8", "Z": "2"})


def _common_prefix(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def nearest(selector: str) -> str | None:
    """The code or name a typo most likely meant: for a code the longest common prefix first (CNN20l ->
    CNN201, not CNN220), then difflib's similarity."""
    word = selector.strip()
    if word[:3].upper() == "CNN":
        word = word.upper()
        digits = word[:3] + word[3:].translate(_LOOKALIKES)  # CNN20l, CNN3O1: a letter for a digit
        if digits != word and known(digits):
            return digits
        close = sorted(difflib.get_close_matches(word, list(RULES), n=8, cutoff=0.6))
        return max(close, key=lambda code: (_common_prefix(word, code), difflib.SequenceMatcher(None, word, code)
                                            .ratio()), default=None)
    close = difflib.get_close_matches(word.lower(), [rule.name for rule in RULES.values()], n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(selector: str) -> str:
    close = nearest(selector)
    return f"did you mean {close}? " if close else ""


def check(selectors: Iterable[str], option: str, where: str | None = None) -> None:
    """Refuse the first selector that names no rule (`option`: --select, --ignore, or the config key)."""
    for selector in selectors:
        if not known(selector):
            raise UsageError(f"{option}: {selector!r} names no rule", Location(where or "cnncalc"),
                             hint=did_you_mean(selector) + "`cnncalc rules` lists the codes and names")
