"""cnncalc/diagnostics.py: the `# cnncalc: ignore[...]` comments of a spec, found by the same pattern
whether or not a text is first screened for the word (a text without it compiles no pattern)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cnncalc import diagnostics
from cnncalc.diagnostics import WHOLE_FILE, suppressions


def _by_pattern_alone(text: str) -> dict[int, frozenset[str]]:
    found: dict[int, frozenset[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.search(diagnostics._SUPPRESS.pattern, line, re.IGNORECASE)
        if match is not None:
            codes = match.group("codes")
            words = frozenset({"*"}) if codes is None else frozenset(c.strip() for c in codes.split(",") if c.strip())
            targets = ((WHOLE_FILE,) if match.group("file") else (number, number + 1)
                       if line.lstrip().startswith("#") else (number,))
            for target in targets:
                found[target] = found.get(target, frozenset()) | words
    return found


def test_comments_in_any_case_are_found():
    text = "input: 8x8x3  # CnnCalc: Ignore[CNN303]\n# CNNCALC: IGNORE-FILE\nlayers: []\n"
    assert suppressions(text) == {1: frozenset({"CNN303"}), WHOLE_FILE: frozenset({"*"})}


@given(st.lists(st.sampled_from(["# ", "cnncalc", "CNNCALC", "cnnCalc", "cnncalc:", ": ", "ignore", "IGNORE",
                                 "-file", "[CNN303, CNN1]", "]", "\n", "x", "İ", "ı", "K"]), max_size=12).map("".join))
def test_the_screen_for_the_word_changes_nothing(text):
    assert suppressions(text) == _by_pattern_alone(text)


def test_a_text_without_the_word_compiles_no_pattern():
    fresh = diagnostics.LazyPattern(diagnostics._SUPPRESS.pattern, re.IGNORECASE)
    saved, diagnostics._SUPPRESS = diagnostics._SUPPRESS, fresh
    try:
        assert suppressions("input: 8x8x3\nlayers: [relu]\n") == {} and "search" not in vars(fresh)
    finally:
        diagnostics._SUPPRESS = saved
