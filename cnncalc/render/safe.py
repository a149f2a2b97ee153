"""Text from a spec (names, paths, values) on its way to a terminal, a CI log or a YAML comment.

A layer named with ESC can retitle or clear a terminal, one with U+202E reverse what follows it, a
newline split a table row or inject a line into a written spec. `escape` writes every control,
format (bidi, zero-width), line- or paragraph-separator and lone-surrogate character as a Python-
style escape (`\\x1b`, `\\u202e`, `\\n`), and leaves everything else, backslashes included, as it is.
"""

from __future__ import annotations

import re

from cnncalc.patterns import LazyPattern

#: C0 and C1 controls and DEL; Unicode's format characters (category Cf: soft hyphen, Arabic marks,
#: zero-width and bidi controls, word joiners, BOM, interlinear annotation, tag characters); the line
#: and paragraph separators; lone surrogates (from undecodable file names).
#: Compiled on first use (cnncalc/patterns.py): ~1.5 ms of `re`'s compiler that a run whose texts are all
#: printable (`str.isprintable`, which no unsafe character is) never needs.
UNSAFE = LazyPattern(
    "[\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: object) -> str:
    """`text` with every character that could act on a terminal or break a line written as an escape."""
    text = str(text)
    if text.isprintable():  # nothing to escape, tested in C: every unsafe character is one Python calls unprintable
        return text
    return UNSAFE.sub(_escaped, text) if UNSAFE.search(text) else text


def is_safe(text: str) -> bool:
    return text.isprintable() or UNSAFE.search(text) is None


def unicode_output(stream=None) -> bool:
    """Whether `stream` (standard output by default) encodes any character: a UTF encoding."""
    import sys

    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None) or "utf-8"
    return encoding.lower().replace("-", "").replace("_", "").startswith("utf")


def encodable(text: str, stream=None) -> str:
    """`text` with what `stream` (standard output by default) cannot encode written as backslash escapes
    (`PYTHONIOENCODING=ascii`, a latin-1 terminal): never a UnicodeEncodeError halfway through."""
    import sys

    stream = stream if stream is not None else sys.stdout
    if unicode_output(stream):
        return text
    encoding = getattr(stream, "encoding", None) or "ascii"
    return text.encode(encoding, "backslashreplace").decode(encoding)


class EncodableFile:
    """A text stream whose writes are made `encodable` first; everything else is the stream's own
    (its `encoding` too, so rich draws ASCII boxes for it)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(encodable(text, self._stream))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
