"""Spec-provided strings (layer, block and model names) made safe for XML, HTML, scripts, DOT and Mermaid.

Names may hold anything YAML can write: `<`, `&`, quotes, newlines, control characters, even lone
surrogates from a `"\\ud800"` escape. `visible` first rewrites what no output may contain (C0 and C1
controls, DEL, surrogates, U+FFFE/U+FFFF: XML 1.0 forbids most of them even as character
references) as `\\xNN` / `\\uNNNN`, so the name still reads as written; each format then escapes its
own special characters.
"""

from __future__ import annotations

import json
import re

_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _code(match: re.Match) -> str:
    point = ord(match.group())
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def visible(text: str) -> str:
    """Control characters, surrogates and non-characters as `\\x..`/`\\u....` escapes."""
    return _INVISIBLE.sub(_code, text)


def xml(text: str) -> str:
    """Text or an attribute value (either quote) in XML, SVG and HTML."""
    return (visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def script_json(value: object) -> str:
    """JSON safe inside an HTML <script> element: no `</script>`, `<!--` or `&` can appear."""
    return (json.dumps(value, ensure_ascii=True, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def dot(text: str) -> str:
    """The inside of a DOT double-quoted string (backslashes are label escapes there: doubled)."""
    return visible(text).replace("\\", "\\\\").replace('"', '\\"')


_MERMAID = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;",
            "\\": "#92;", "|": "#124;", "[": "#91;", "]": "#93;", "{": "#123;", "}": "#125;",
            "(": "#40;", ")": "#41;", ";": "#59;"}
_MERMAID_RE = re.compile("[" + re.escape("".join(_MERMAID)) + "]")


def mermaid(text: str) -> str:
    """The inside of a Mermaid `["..."]` label: specials as Mermaid's `#code;` entities."""
    return _MERMAID_RE.sub(lambda m: _MERMAID[m.group()], visible(text))
