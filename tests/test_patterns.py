"""cnncalc.patterns.LazyPattern: compiled on first use, then the compiled pattern's answers."""

from __future__ import annotations

import copy
import pickle
import re

from cnncalc.patterns import LazyPattern


def test_a_lazy_pattern_answers_as_the_compiled_one():
    lazy = LazyPattern(r"^(?:[0-9]+ | 0x[0-9a-f]+)$", re.X)
    real = re.compile(r"^(?:[0-9]+ | 0x[0-9a-f]+)$", re.X)
    assert "match" not in vars(lazy)
    for text in ("12", "0x1f", "1.5", "", "0x"):
        assert bool(lazy.match(text)) == bool(real.match(text)), text
    assert "match" in vars(lazy)  # kept: the next call is an instance lookup
    assert (lazy.pattern, lazy.flags, lazy.groups) == (real.pattern, real.flags, real.groups)
    assert lazy.sub("n", "12") == "n" and lazy.search("x 12") is None
    assert repr(lazy) == repr(real)
    assert copy.deepcopy(lazy).pattern == real.pattern
    assert pickle.loads(pickle.dumps(lazy)).match("7")


def test_a_lazy_pattern_compiles_only_when_used():
    lazy = LazyPattern("(unbalanced")
    assert repr(lazy._lazy_source) == "('(unbalanced', 0)"  # made without complaint: nothing compiled
    try:
        lazy.match("x")
    except re.error:
        pass
    else:
        raise AssertionError("the pattern was not compiled at its first use")
