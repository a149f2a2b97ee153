"""The messages for a misspelt word and an unknown key, shared by every part of the spec.

`spec` (layers, input, repeat, residual, merges) and `blocks` (block arguments) refuse an
unknown key in the same words and suggest the nearest allowed one; the helper lives here,
below both, so neither has to import the other for it.
"""

from __future__ import annotations

from cnncalc.errors import Location, SpecError


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    import difflib  # imported here: only a misspelt key needs it

    close = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def unknown_key(key: str, loc: Location, allowed: tuple[str, ...], where: str) -> SpecError:
    return SpecError(
        f"unknown key '{key}' in {where}",
        loc,
        hint=did_you_mean(key, allowed) + f"allowed keys: {', '.join(allowed)}",
        code="CNN102",
    )
