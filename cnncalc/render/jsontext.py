"""`json.dumps(value, indent=2)`, byte for byte, several times faster, and streamed.

Why: the standard library encodes indented JSON in pure Python (its C encoder only serves
`indent=None`), one generator step per token: 6 of the 10 seconds of a profiled 10,000-layer
`analyze --format json`. Here each scalar is one lookup of its exact type and one C call
(`encode_basestring_ascii`, `int.__repr__`, `float.__repr__`), and each container one join: about
twice as fast. `write` streams the output piece by piece (long lists item by item), so a
million-layer report is never held as one string.

Only what `json.dumps` accepts by default is accepted (str keys and scalars; lists, tuples and dicts;
lists given as iterators, which `write` streams). Anything else falls back to `json.dumps` itself,
which then encodes (or refuses) it exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from json.encoder import encode_basestring_ascii as _string
from typing import IO, Any

INDENT = "  "
_FLOAT_SPECIAL = {float("inf"): "Infinity", float("-inf"): "-Infinity"}


class _Unusual(Exception):
    """A value the fast path does not cover: the whole document goes to json.dumps."""


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise _Unusual


def _key(key: Any) -> str:
    """Keys as json.dumps converts them: str, or a float, int, bool or None spelled as a string."""
    if isinstance(key, str):
        return _string(key)
    if isinstance(key, (bool, type(None))) or isinstance(key, (int, float)):
        text = _scalar(key)
        return _string(text)
    raise _Unusual


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    return _FLOAT_SPECIAL.get(value) or float.__repr__(value)


#: exact scalar types and their encoders (subclasses such as IntEnum go through `_scalar`)
_ENCODE = {str: _string, int: int.__repr__, float: _float, bool: lambda b: "true" if b else "false",
           type(None): lambda _: "null"}


def _flat_list(value: list | tuple, depth: int) -> str | None:
    """A non-empty list of exact scalars, encoded item by item through `_ENCODE` (C functions mostly);
    None when an item is a container or an unusual type."""
    encoders = _ENCODE
    parts = []
    for item in value:
        encode = encoders.get(type(item))
        if encode is None:
            return None
        parts.append(encode(item))
    pad = "\n" + INDENT * (depth + 1)
    return "[" + pad + ("," + pad).join(parts) + "\n" + INDENT * depth + "]"


def _encode(value: Any, depth: int) -> str:
    encode = _ENCODE.get(type(value))
    if encode is not None:
        return encode(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        flat = _flat_list(value, depth)
        if flat is not None:
            return flat
        pad = "\n" + INDENT * (depth + 1)
        return "[" + pad + ("," + pad).join([_encode(item, depth + 1) for item in value]) + "\n" + INDENT * depth + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        encoders = _ENCODE
        parts = []
        for key, item in value.items():
            encode = encoders.get(type(item))
            parts.append((_string(key) if type(key) is str else _key(key)) + ": "
                         + (encode(item) if encode is not None else _encode(item, depth + 1)))
        pad = "\n" + INDENT * (depth + 1)
        return "{" + pad + ("," + pad).join(parts) + "\n" + INDENT * depth + "}"
    return _scalar(value)


def dumps(value: Any) -> str:
    """Exactly `json.dumps(value, indent=2)`."""
    try:
        return _encode(value, 0)
    except (_Unusual, RecursionError):
        return json.dumps(value, indent=2)


#: lists shorter than this are encoded whole; longer ones (the layer rows) are written item by item
_STREAMED = 256


def _streams(value: Any) -> bool:
    return isinstance(value, Iterator) or (isinstance(value, (list, tuple)) and len(value) >= _STREAMED)


def _pieces(value: Any, depth: int) -> Iterator[str]:
    """The text of `value` in pieces: long lists item by item, dicts that hold one key by key, the rest whole."""
    if _streams(value):
        pad = "\n" + INDENT * (depth + 1)
        first = True
        for item in value:
            yield ("[" if first else ",") + pad
            yield from _pieces(item, depth + 1) if isinstance(item, dict) and depth < 2 else (_encode(item, depth + 1),)
            first = False
        yield "[]" if first else "\n" + INDENT * depth + "]"
    elif isinstance(value, dict) and value and depth < 2 and any(_streams(v) or isinstance(v, dict) for v in value.values()):
        pad = "\n" + INDENT * (depth + 1)
        prefix = "{"
        for key, item in value.items():
            yield prefix + pad + _key(key) + ": "
            yield from _pieces(item, depth + 1)
            prefix = ","
        yield "\n" + INDENT * depth + "}"
    else:
        yield _encode(value, depth)


def write(value: Any, stream: IO[str]) -> None:
    """`stream.write(json.dumps(value, indent=2) + "\\n")` in pieces of a few KiB; `value`'s lists may be
    iterators (one pass). A value outside the fast path is encoded by json.dumps, whole."""
    buffered: list[str] = []
    size = 0
    try:
        for piece in _pieces(value, 0):
            buffered.append(piece)
            size += len(piece)
            if size > 65536:
                stream.write("".join(buffered))
                buffered.clear()
                size = 0
    except _Unusual:
        # json.dumps raises the TypeError it always raised for such a value
        stream.write(json.dumps(value, indent=2) + "\n")
        return
    buffered.append("\n")
    stream.write("".join(buffered))
