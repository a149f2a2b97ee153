"""cnncalc.render.safe: escape and is_safe agree with the unsafe-character class on every character."""

from __future__ import annotations

import re
import sys

import pytest

from cnncalc.render import safe

#: every code point of the BMP's first planes and the unsafe ranges beyond it, each alone and inside text
CODE_POINTS = [*range(0x3000), *range(0xD700, 0x10000), 0x110BD, 0x110CD, *range(0x13430, 0x13441),
               *range(0x1D170, 0x1D17C), *range(0xE0000, 0xE0081), 0x10FFFF]


def test_no_unsafe_character_is_printable_so_the_fast_path_changes_nothing():
    compiled = safe.UNSAFE.compiled()
    assert not [hex(c) for c in range(sys.maxunicode + 1) if chr(c).isprintable() and compiled.match(chr(c))]
    assert all(compiled.search(chr(c)) for c in [*range(0x20), 0x7F, 0x202E, 0xFEFF, 0xE0041])


@pytest.mark.parametrize("around", ["", "conv1 "])
def test_escape_is_the_pattern_applied(around):
    compiled = re.compile(safe.UNSAFE.pattern)  # the class compiled the ordinary way
    for code in CODE_POINTS:
        text = around + chr(code) + around
        expected = compiled.sub(safe._escaped, text)
        assert safe.escape(text) == expected, hex(code)
        assert safe.is_safe(text) == (compiled.search(text) is None), hex(code)


def test_escaped_forms():
    assert safe.escape("a\x1bb\u202ec\n\U000e0041") == "a\\x1bb\\u202ec\\n\\U000e0041"
    assert safe.escape(12) == "12" and safe.escape("conv1 (conv)") == "conv1 (conv)"


def test_importing_safe_compiles_nothing():
    import subprocess
    from pathlib import Path

    code = ("import re; real = re.compile; calls = []; re.compile = lambda *a: calls.append(a) or real(*a)\n"
            "from cnncalc.render import safe; assert safe.escape('plain') == 'plain'; assert not calls, calls")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
