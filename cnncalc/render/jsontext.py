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
from itertools import chain, islice, repeat
from operator import itemgetter
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


# Records: why. A report's per-layer lists hold thousands of dicts with the same keys, in the same order, and
# values of the same types, key for key. Such a list is written a column at a time, with no bytecode run per
# row or per value (a row took ~20 us of Python, dict by dict: 60 % of a 10,000-layer `analyze --format json`):
# - the columns whose values repeat (a chain's layers differ in their names and inputs, not in their type,
#   shape or counts) are written into a row's fixed text once per distinct combination of their values,
#   found through one dict of the combinations (tuples made by `zip`, in C);
# - the other columns' values are encoded by the C function of their type through `map` (a column of
#   tuples, the shapes the rows share, once per distinct tuple);
# - the whole list is one `str.join` of the rows' fixed pieces and their values' texts, interleaved by `zip`.
# The fixed pieces are the text `_encode_dict` writes for the row, so the output is the same byte for byte.

#: lists of fewer dicts are encoded dict by dict (the column checks would cost more)
_RECORDS_MIN = 8
#: the types a column may hold: the exact scalars and the containers `_encode` writes (anything else, an
#: iterator or a subclass, takes the dict-by-dict path, which streams or refuses it as before)
_PLAIN = frozenset(_ENCODE) | {list, tuple, dict}
#: the types whose values, equal in one column of one type, are written alike (tuples: by identity; not
#: floats, since 0.0 == -0.0, nor lists and dicts)
_REPEATABLE = frozenset((str, int, bool, type(None), tuple))
#: a column repeats, and the rows share fixed texts, where there are at most 1/_REPEATS as many distinct
#: values (combinations) as rows
_REPEATS = 4


def _records(items: list | tuple, depth: int) -> str | None:
    """The text of the items of `items` at `depth`, joined as a list's items are (by "," and the indent),
    when all are dicts with the same str keys in the same order and plain values (`_PLAIN`); else None."""
    if len(items) < _RECORDS_MIN or set(map(type, items)) != {dict}:
        return None
    keys = tuple(items[0])
    # a str key equals only a str: a dict whose key tuple equals `keys` has these keys
    if not keys or any(type(key) is not str for key in keys) or not all(map(keys.__eq__, map(tuple, items))):
        return None
    columns = list(zip(*map(dict.values, items)))
    kinds = [set(map(type, values)) for values in columns]
    if not all(kind <= _PLAIN for kind in kinds):
        return None
    rows = len(items)
    repeating, combinations = _combinations(columns, kinds)
    row_of = dict(zip(combinations, range(rows)))  # a row of each combination (its tuples alive in `columns`)
    if len(row_of) * _REPEATS > rows:  # the rows differ: every value is written through its column
        repeating, combinations, row_of = set(), [()] * rows, {(): 0}
    separator = "," + _pad(depth)
    fixed = {combination: _fixed_pieces(keys, depth, {i: _encode(columns[i][row], depth + 1) for i in repeating},
                                        separator)
             for combination, row in row_of.items()}
    values = [_column(columns[i], kinds[i], depth + 1) for i in range(len(keys)) if i not in repeating]
    per_row = list(map(fixed.__getitem__, combinations))
    interleaved = [map(itemgetter(0), per_row)]
    for piece, texts in enumerate(values, 1):
        interleaved += [texts, map(itemgetter(piece), per_row)]
    pieces = list(chain.from_iterable(zip(*interleaved)))
    pieces[-1] = pieces[-1][:-len(separator)]  # the last row has no separator after it
    return "".join(pieces)


def _combinations(columns: list[tuple], kinds: list[set]) -> tuple[set[int], list[tuple]]:
    """The columns whose values repeat (by index), and per row the combination of those of them that vary
    (tuples by identity): rows of one combination have the same text in every repeating column."""
    rows = len(columns[0])
    repeating = set()
    varying = []
    for index, (values, kind) in enumerate(zip(columns, kinds)):
        if len(kind) == 1 and (only := next(iter(kind))) in _REPEATABLE:
            identities = tuple(map(id, values)) if only is tuple else values
            distinct = len(set(identities))
            if distinct * _REPEATS <= rows:
                repeating.add(index)
                if distinct > 1:
                    varying.append(identities)
    return repeating, list(zip(*varying)) if varying else [()] * rows


def _fixed_pieces(keys: tuple[str, ...], depth: int, written: dict[int, str], separator: str) -> tuple[str, ...]:
    """A dict of these keys at `depth` as `_encode_dict` writes it, then `separator`, with the `written`
    values' texts (by the key's index) in it: cut where each other value goes."""
    pad = _pad(depth + 1)
    pieces = []
    text = "{"
    for index, key in enumerate(keys):
        text += (pad if index == 0 else "," + pad) + _key_text(key) + ": "
        if index in written:
            text += written[index]
        else:
            pieces.append(text)
            text = ""
    pieces.append(text + _pad(depth) + "}" + separator)
    return tuple(pieces)


def _column(values: tuple, kinds: set[type], depth: int) -> Iterator[str]:
    """The texts of one key's values (of `kinds`, all `_PLAIN`) at `depth`, in order."""
    if len(kinds) == 1:
        kind = next(iter(kinds))
        encode = _ENCODE.get(kind)
        if encode is not None:
            return map(encode, values)
        if kind is tuple:
            return _tuples(values, depth)
    return map(_encode, values, repeat(depth))


def _tuples(values: tuple, depth: int) -> Iterator[str]:
    """The texts of a column of tuples. Those the rows share (shapes) once per distinct tuple, looked up by
    identity (not equality: (1,), (True,) and (1.0,) are equal and written differently; the column holds
    every tuple alive, so no id is reused); tuples of strs (a layer's inputs, by name) by one template."""
    distinct = dict(zip(map(id, values), values))
    if len(distinct) * _REPEATS > len(values):
        names = list(chain.from_iterable(values))
        if set(map(type, names)) <= {str}:
            return _names(values, names, depth)
    texts = {key: _encode(value, depth) for key, value in distinct.items()}
    return map(texts.__getitem__, map(id, values))


def _names(values: tuple, names: list[str], depth: int) -> Iterator[str]:
    """The texts of tuples of strs, `names` all their items in order."""
    opened, separator, closed = "[" + _pad(depth + 1), "," + _pad(depth + 1), _pad(depth) + "]"
    if set(map(len, values)) == {1}:  # one each: their texts in one template
        return map((opened + "%s" + closed).__mod__, map(_string, names))
    return (opened + separator.join(map(_string, names)) + closed if names else "[]" for names in values)




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
        text = _records(value, depth + 1)
        if text is None:
            text = ("," + pad).join([_encode(item, depth + 1) for item in value])
        return "[" + pad + text + _pad(depth) + "]"
    if isinstance(value, dict):
        return _encode_dict(value, depth) if value else "{}"
    return _scalar(value)


def dumps(value: Any) -> str:
    """Exactly `json.dumps(value, indent=2)`."""
    try:
        return _encode(value, 0)
    except (_Unusual, RecursionError):
        return json.dumps(value, indent=2)


#: lists shorter than this are encoded whole; longer ones (the layer rows) are written a chunk at a time
_STREAMED = 256
#: the items of a streamed list taken at a time: a chunk of records is written through `_records`
_CHUNK = 1024


def _streams(value: Any) -> bool:
    return isinstance(value, Iterator) or (isinstance(value, (list, tuple)) and len(value) >= _STREAMED)


def _pieces(value: Any, depth: int) -> Iterator[str]:
    """The text of `value` in pieces: long lists a chunk of items at a time, dicts that hold one key by key,
    the rest whole."""
    if _streams(value):
        yield from _streamed_list(value, depth)
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


def _streamed_list(value: Any, depth: int) -> Iterator[str]:
    pad = _pad(depth + 1)
    opening = "["
    items = iter(value)
    while chunk := list(islice(items, _CHUNK)):
        text = _records(chunk, depth + 1)
        if text is not None:
            yield opening + pad + text
            opening = ","
            continue
        for item in chunk:
            if depth == 0 and isinstance(item, dict):  # deeper, `_pieces` of a dict is its `_encode`
                yield opening + pad
                yield from _pieces(item, depth + 1)
            else:
                yield opening + pad + _encode(item, depth + 1)
            opening = ","
    yield "[]" if opening == "[" else _pad(depth) + "]"


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
