"""cnncalc/diagnostics.py: the `# cnncalc: ignore[...]` comments of a spec, found as the pattern finds them,
whether or not a text is first screened for the word, and without compiling it."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from cnncalc import diagnostics
from cnncalc.diagnostics import WHOLE_FILE, suppressions


def _by_pattern_alone(text: str) -> dict[int, frozenset[str]]:
    found: dict[int, frozenset[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.search(diagnostics.SUPPRESS, line, re.IGNORECASE)
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
                                 "-file", "[CNN303, CNN1]", "]", "\n", "x", "İ", "ı", "K", "#", "ıgnore", "-fİle"]), max_size=12).map("".join))
def test_the_screen_for_the_word_changes_nothing(text):
    assert suppressions(text) == _by_pattern_alone(text)


COMMENTS = st.lists(st.sampled_from(["#", "# ", " ", "\t", "\u2003", "cnncalc", "CNNCALC", "cnnCalc", "cnncalc:", ":",
                                     "ignore", "IGNORE", "ıgnore", "İGNORE", "-file", "-fıle", "-fil", "[", "]", "[CNN303, CNN1]",
                                     "[ ]", "x", "İ", "ı", "K", "c", "#cnncalc:ignore"]), max_size=10).map("".join)


@given(COMMENTS | st.sampled_from(["# cnncalc: ıgnore[CNN1]", "#CNNCALC:İGNORE-FİLE[x]", "# cnncalc: ignore-fıle",
                                   "#\u2003cnncalc:\tignore[", "# x # cnncalc: ignore]", "## cnncalc: ignore [a]"]))
def test_a_line_s_comment_is_what_the_pattern_finds(line):
    match = re.search(diagnostics.SUPPRESS, line, re.IGNORECASE)
    expected = None if match is None else (match.group("file") is not None, match.group("codes"))
    assert diagnostics._comment(line) == expected, line


def test_suppressions_compile_no_pattern():
    fresh = diagnostics.LazyPattern(diagnostics.SUPPRESS, re.IGNORECASE)
    saved, diagnostics._SUPPRESS = diagnostics._SUPPRESS, fresh
    try:
        assert suppressions("input: 8x8x3  # cnncalc: ignore[CNN303]\nlayers: [relu]\n") == {1: {"CNN303"}}
        assert "search" not in vars(fresh)
    finally:
        diagnostics._SUPPRESS = saved
