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

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
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
_ENCODE = {str: _string, int: int.__repr__, float: _float, bool: {True: "true", False: "false"}.__getitem__,
           type(None): {None: "null"}.__getitem__}


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
    pad = _pad(depth + 1)
    return "[" + pad + ("," + pad).join(parts) + _pad(depth) + "]"


#: "\n" and the indent of each depth, made once
_PADS = ["\n" + INDENT * depth for depth in range(64)]
#: str keys as encoded, made once each (a million layer dicts repeat the same sixteen keys); bounded,
#: since a spec's own names can be keys
_KEYS: dict[str, str] = {}
_KEYS_KEPT = 4096


def _pad(depth: int) -> str:
    return _PADS[depth] if depth < 64 else "\n" + INDENT * depth


def _key_text(key: Any) -> str:
    if type(key) is not str:
        return _key(key)
    text = _KEYS.get(key)
    if text is None:
        text = _string(key)
        if len(_KEYS) < _KEYS_KEPT:
            _KEYS[key] = text
    return text


def _encode_dict(value: dict, depth: int) -> str:
    form = _form_of(value, depth)
    if form is not None:
        template, encoders = form
        return template % tuple(map(_call, encoders, value.values()))
    encoders = _ENCODE
    keys = _KEYS
    parts = []
    append = parts.append
    for key, item in value.items():
        text = keys.get(key) if type(key) is str else None
        if text is None:
            text = _key_text(key)
        encode = encoders.get(type(item))
        append(text + ": " + (encode(item) if encode is not None else _encode(item, depth + 1)))
    pad = _pad(depth + 1)
    return "{" + pad + ("," + pad).join(parts) + _pad(depth) + "}"


# Forms: why. A million layer dicts have the same keys and the same value types, item for item: each such
# dict is one `%` of a template made once (the keys and the indentation written in) over its values, each
# encoded by the C function of its type through `map` (no bytecode per value). The template is the text
# `_encode` would write, so the output is the same byte for byte.

#: (keys, value types, depth) -> (template, an encoder per value); None where a type has none
_FORMS: dict[tuple, tuple[str, tuple] | None] = {}
_FORMS_KEPT = 256
#: exact types with a one-argument encoder of their own (containers: `_encode` at the item's depth)
_SCALAR_ENCODERS = _ENCODE
_CONTAINERS = (list, tuple, dict)


def _call(function, argument):  # operator.call, which Python 3.10 lacks
    return function(argument)


try:
    from operator import call as _call  # type: ignore[attr-defined,no-redef]  # noqa: F811
except ImportError:  # Python 3.10
    pass


#: the signature and form `_form_of` found last: a list of layer dicts has one form, checked here before
#: hashing the signature (the tuples are compared item by item, identical keys and types at once)
_LAST: list = [None, None]


def _form_of(value: dict, depth: int) -> tuple[str, tuple] | None:
    if len(value) < 4:
        return None  # small dicts gain nothing
    keys = tuple(value)
    # keys compare as values (True == 1), but a str never equals another type: the forms of dicts with
    # other keys, which `_make_form` refuses, can only be taken for one another's
    signature = (keys, tuple(map(type, value.values())), depth)
    last = _LAST
    if signature == last[0]:
        return last[1]
    try:
        form = _FORMS[signature]
        last[0], last[1] = signature, form
        return form
    except KeyError:
        pass
    form = _make_form(keys, signature[1], depth)
    if len(_FORMS) < _FORMS_KEPT:
        _FORMS[signature] = form
    return form


def _make_form(keys: tuple[str, ...], types: tuple[type, ...], depth: int) -> tuple[str, tuple] | None:
    if any(type(key) is not str for key in keys):
        return None  # other keys are converted by `_key`
    encoders = []
    for kind in types:
        encoder = _SCALAR_ENCODERS.get(kind)
        if encoder is None:
            if kind not in _CONTAINERS:
                return None  # subclasses and unusual types take `_encode`'s path
            encoder = _tuple_encoder(depth + 1) if kind is tuple else _nested(depth + 1)
        encoders.append(encoder)
    pad = _pad(depth + 1)
    parts = [_key_text(key).replace("%", "%%") + ": %s" for key in keys]
    return "{" + pad + ("," + pad).join(parts) + _pad(depth) + "}", tuple(encoders)


#: the text of tuples at a depth, by the tuple's identity (a report's rows share one dims tuple per shape,
#: given as tuples by `Report.to_dict(lazy=True)`): made once each. By identity, not equality, since
#: (1,) == (True,) == (1.0,) are written differently; the entry keeps its tuple alive, so its id is not
#: reused. Bounded.
_TUPLES: dict[tuple[int, int], tuple[tuple, str]] = {}
_TUPLES_KEPT = 4096


def _tuple_encoder(depth: int):
    opened, closed = "[" + _pad(depth + 1), _pad(depth) + "]"

    def encode(item: tuple) -> str:
        if len(item) == 1 and type(item[0]) is str:  # a layer's one input, by name: no two rows share it
            return opened + _string(item[0]) + closed
        key = (id(item), depth)
        entry = _TUPLES.get(key)
        if entry is not None and entry[0] is item:
            return entry[1]
        text = _flat_list(item, depth) if item else "[]"
        if text is None:  # holds containers, which could change: not kept
            return _encode(item, depth)
        if len(_TUPLES) < _TUPLES_KEPT:
            _TUPLES[key] = (item, text)
        return text
    return encode


def _nested(depth: int):
    def encode(item: Any) -> str:
        return _encode(item, depth)
    return encode


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
        pad = _pad(depth + 1)
        return "[" + pad + ("," + pad).join([_encode(item, depth + 1) for item in value]) + _pad(depth) + "]"
    if isinstance(value, dict):
        return _encode_dict(value, depth) if value else "{}"
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
        if depth >= 1:  # the items are encoded whole (`_pieces` of a dict this deep is its `_encode`)
            for item in value:
                yield ("[" if first else ",") + pad + _encode(item, depth + 1)
                first = False
        else:
            for item in value:
                yield ("[" if first else ",") + pad
                yield from _pieces(item, depth + 1) if isinstance(item, dict) else (_encode(item, depth + 1),)
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
