"""Safe YAML reading that keeps every value's source position.

PyYAML's composer gives a node graph with marks; this module turns it into `YNode`s (value +
location) and refuses what a spec never needs and an attacker would use: aliases (the
"billion laughs" bomb), non-standard tags (`!!python/object`), duplicate keys (which PyYAML
silently collapses), absurd nesting and absurd file sizes.

Plain scalars are resolved closer to YAML 1.2 than PyYAML's 1.1 defaults, so a spec means what
its author meant: `1e-3` and `1e3` are numbers, `010` is ten, `2:30` is a string; `yes`/`no`/
`on`/`off` are still booleans, but every node keeps its source text so string-valued keys get
back exactly what was typed.
"""

from __future__ import annotations

from cnncalc import bulk
from cnncalc.records import dataclass

from cnncalc.pyyaml import yaml  # PyYAML, the patterns its modules define compiled on first use
from yaml.events import (AliasEvent, DocumentEndEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent,
                         ScalarEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent, StreamStartEvent)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from cnncalc.errors import Location, ParseError, ReadError, SpecError, UnsafeYamlError
from cnncalc.patterns import LazyPattern

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Any

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64

_STANDARD_TAGS = {
    "tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "map", "seq")
}
#: longer integers are no size of any network (and Python refuses to read past 4,300 digits)
MAX_DIGITS = 100
_SPECIAL_FLOATS = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_NULLS = {"", "~", "null"}


class _NoKeys(dict):
    """The key positions of a node that is no mapping: none, one shared read-only dict (equal to {}). A
    plain default, where a factory made the records module compile YNode's `__init__` in every run
    (~0.25 ms) and call the factory for every scalar."""

    __slots__ = ()
    __hash__ = object.__hash__  # a default must be hashable; there is only the one

    def _read_only(self, *args, **kwargs):
        raise TypeError("a YAML node's key positions are read-only")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only


NO_KEYS = _NoKeys()


@dataclass(frozen=True, slots=True)
class YNode:
    """One YAML value with its position.

    `value` is a scalar (str, int, float, bool, None), a tuple of YNodes (sequence) or a dict of
    str -> YNode (mapping, in document order). `text` is the scalar exactly as written.
    """

    value: Any
    loc: Location
    text: str = ""
    key_locs: dict[str, Location] = NO_KEYS

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.value, tuple)

    @property
    def is_scalar(self) -> bool:
        return not (self.is_mapping or self.is_sequence)

    def plain(self) -> Any:
        """The value as plain Python data (dicts, lists, scalars), positions dropped."""
        if self.is_mapping:
            return {k: v.plain() for k, v in self.value.items()}
        if self.is_sequence:
            return [v.plain() for v in self.value]
        return self.value


#: `YNode(value, loc, text, key_locs)` a third of a frozen `__init__`'s time (cnncalc/bulk.py): a read makes
#: one per value, and a block's use copies its layers
make_node = bulk.maker(YNode)


def _location(path: str, mark: Any, end: Any = None) -> Location:
    if end is not None and end.line == mark.line:
        return Location(path, mark.line + 1, mark.column + 1, end.line + 1, end.column + 1)
    return Location(path, mark.line + 1, mark.column + 1)


class _TooLong(ValueError):
    pass


# The numbers of a spec, read without `re` (its compiler took ~0.9 ms of every run for three patterns):
# each function is the `match` of the pattern in its docstring, `$` included (the end, or a last "\n"),
# held to it by tests/test_yamlsource.py.
_DIGITS = frozenset("0123456789")
_DIGITS_OR_UNDERSCORE = _DIGITS | {"_"}
_HEX_OR_UNDERSCORE = _DIGITS_OR_UNDERSCORE | frozenset("abcdefABCDEF")


def _unsigned(text: str) -> str:
    """`text` without the one final newline `$` lets a pattern end before, and without a leading sign."""
    if text.endswith("\n"):
        text = text[:-1]
    return text[1:] if text[:1] in ("-", "+") else text


def _is_int(text: str) -> bool:
    """`[-+]?(0|[1-9][0-9_]*|0[0-9_]+)$`: an ASCII digit, then ASCII digits and underscores."""
    body = _unsigned(text)
    return body[:1] in _DIGITS and _DIGITS_OR_UNDERSCORE.issuperset(body[1:])


def _is_hex(text: str) -> bool:
    """`[-+]?0x_*[0-9a-fA-F][0-9a-fA-F_]*$`: `0x`, then hex digits and underscores, one digit at least."""
    body = _unsigned(text)
    digits = body[2:]
    return body[:2] == "0x" and _HEX_OR_UNDERSCORE.issuperset(digits) and bool(digits.strip("_"))


def _decimals_end(text: str, start: int) -> int:
    r"""Where the run of decimal digits (`\d`: any script's, as `str.isdecimal`) from `start` ends."""
    end = start
    while end < len(text) and text[end].isdecimal():
        end += 1
    return end


def _is_float(text: str) -> bool:
    r"""`[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?$`: a mantissa, then an optional exponent."""
    body = _unsigned(text)
    if body[:1] == ".":
        end = _decimals_end(body, 1)
        if end == 1:
            return False
    elif body[:1].isdecimal():
        end = 1
        while end < len(body) and (body[end].isdecimal() or body[end] == "_"):
            end += 1
        end = _decimals_end(body, end + 1 if body[end:end + 1] == "." else end)
    else:
        return False
    if body[end:end + 1] in ("e", "E"):
        start = end + 2 if body[end + 1:end + 2] in ("-", "+") else end + 1
        end = _decimals_end(body, start)
        if end == start:
            return False
    return end == len(body)


def _resolve_plain(text: str) -> Any:
    if len(text) > MAX_DIGITS and (_is_int(text) or _is_hex(text) or _is_float(text)):
        raise _TooLong(text)
    lowered = text.lower()
    if lowered in _NULLS:
        return None
    if lowered in _BOOLS:
        return _BOOLS[lowered]
    first = text[0]  # not empty: '' is null
    if first not in "+-." and not first.isdigit():
        return text  # every number below, special floats included, starts so: a name needs no pattern
    if _is_int(text):
        return int(text.replace("_", ""), 10)
    if _is_hex(text):
        return int(text.replace("_", ""), 16)
    if _is_float(text):
        return float(text.replace("_", ""))
    if lowered in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[lowered]
    return text


def _scalar(node: ScalarNode, loc: Location) -> Any:
    try:
        return _typed_scalar(node, loc)
    except _TooLong:
        raise SpecError(f"a number of {len(node.value):,} characters is beyond cnncalc's limits", loc,
                        hint="use a realistic size (at most 10,000,000 per dimension)", code="CNN003") from None


def _typed_scalar(node: ScalarNode, loc: Location) -> Any:
    if getattr(node, "explicit_tag", False):
        if node.tag.endswith(":str"):
            return node.value
        if node.tag.endswith(":null"):
            return None
        value = _resolve_plain(node.value)
        wanted = {":int": int, ":float": (int, float), ":bool": bool}
        for suffix, kind in wanted.items():
            if node.tag.endswith(suffix):
                if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                    raise SpecError(f"'{node.value}' is not a valid {suffix[1:]}", loc)
                return float(value) if suffix == ":float" else value
    if node.style is None:
        return _resolve_plain(node.value)
    return node.value


def _convert(node: Any, path: str) -> YNode:
    loc = _location(path, node.start_mark, node.end_mark)
    if node.tag not in _STANDARD_TAGS:
        raise UnsafeYamlError(
            f"the YAML tag '{node.tag.replace('tag:yaml.org,2002:', '!!')}' is not allowed in a spec",
            loc,
            hint="remove the tag; specs hold plain strings, numbers, lists and mappings only",
        )
    if isinstance(node, ScalarNode):
        return make_node(_scalar(node, loc), loc, node.value)
    if isinstance(node, SequenceNode):
        return make_node(tuple([_convert(item, path) for item in node.value]), loc)
    assert isinstance(node, MappingNode)
    values: dict[str, YNode] = {}
    key_locs: dict[str, Location] = {}
    for key_node, value_node in node.value:
        key_loc = _location(path, key_node.start_mark, key_node.end_mark)
        if not isinstance(key_node, ScalarNode) or key_node.tag not in _STANDARD_TAGS:
            raise SpecError("mapping keys must be plain names", key_loc, code="CNN102")
        key = key_node.value
        if key in values:
            first = key_locs[key]
            raise SpecError(
                f"duplicate key '{key}' (first given at line {first.line}, column {first.col})",
                key_loc,
                hint="YAML keeps only one of them; remove or rename one, or start a new list item",
                code="CNN103",
            )
        key_locs[key] = key_loc
        values[key] = _convert(value_node, path)
    return make_node(values, loc, "", key_locs)


def _reader_location(path: str, text: str, position: int) -> Location:
    before = text[:position]
    line = before.count("\n") + 1
    return Location(path, line, position - (before.rfind("\n") + 1) + 1)


_BOM = b"\xef\xbb\xbf"


def decode(data: bytes, path: str) -> str:
    """Bytes of a spec file -> text, refusing what is too large or not UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        raise UnsafeYamlError(
            f"the file is {len(data):,} bytes; specs are limited to {MAX_FILE_BYTES:,} bytes",
            Location(path),
            hint="split the model into smaller specs, or use `repeat:` for repeated blocks",
        )
    if data.startswith(_BOM):  # what the utf-8-sig codec does, without importing it (~0.7 ms)
        data = data[len(_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"the file is not valid UTF-8 (byte {exc.start})",
            _reader_location(path, data[: exc.start].decode("utf-8", "replace"), exc.start),
            hint="save the spec as UTF-8 text",
        ) from None


#: A tab before a comment is legal YAML that PyYAML's scanner rejects; one space keeps every column.
#: (Compiled on first use, cnncalc/patterns.py: a spec without tabs never needs it.)
_TAB_BEFORE_COMMENT = LazyPattern(r"\t(?=[ \t]*#)")


def load(text: str, path: str = "<spec>") -> YNode:
    """Parse one YAML document into positioned nodes: libyaml's C parser where PyYAML has it (the
    Python scanner is most of the time of a large spec), PyYAML's own parser elsewhere and to word
    the message of any syntax error the same way on every machine."""
    if len(text) > MAX_FILE_BYTES:
        return load(decode(text.encode("utf-8"), path), path)
    if "\t" in text:
        text = _TAB_BEFORE_COMMENT.sub(" ", text)
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            node = _Composer(path).compose(yaml.parse(text, Loader=fast))
        except yaml.YAMLError:
            node = _parse_slowly(text, path)
    else:
        node = _parse_slowly(text, path)
    if node is None or (isinstance(node, ScalarNode) and node.value == "" and not node.style):
        raise SpecError("the spec is empty", Location(path, 1, 1), hint="start with `input:` and `layers:`")
    return _convert(node, path)


def _parse_slowly(text: str, path: str) -> Any:
    """The pure-Python parser, whose error messages the tests and docs quote."""
    try:
        return _Composer(path).compose(yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.reader.ReaderError as exc:
        raise ParseError(
            f"the file contains a character YAML does not allow ({exc.reason})",
            _reader_location(path, text, exc.position),
            hint="remove control characters from the file",
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        context = f" {exc.context}" if exc.context else ""
        loc = _location(path, mark) if mark is not None else Location(path)
        hint = "check the indentation and the brackets around this point"
        if "'\\t'" in problem:
            hint = "YAML does not allow tabs for indentation; indent with spaces"
        raise ParseError(f"invalid YAML: {problem}{context}", loc, hint=hint) from None


#: the tag of an untagged scalar that no resolver could make one `_convert` refuses (`_Composer.scalar_tag`)
_PLAIN = "tag:yaml.org,2002:str"


def _refusable_starts() -> frozenset[str | None]:
    """The first characters after which PyYAML's implicit resolvers can tag a plain scalar with a tag
    outside `_STANDARD_TAGS` (timestamps after a digit, merge `<<`, value `=`; None: a resolver for
    any first character), read from the resolvers' table, not from their patterns, so none is compiled."""
    return frozenset(first for first, resolvers in Resolver.yaml_implicit_resolvers.items()
                     if any(tag not in _STANDARD_TAGS for tag, _ in resolvers))


class _Composer:
    """PyYAML's node graph built from parser events, refusing aliases, bounding depth, and marking
    scalars whose tag was written out (PyYAML's own composer forgets that)."""

    def __init__(self, path: str):
        self._path = path
        self._resolver = Resolver()
        self._refusable = _refusable_starts()

    def scalar_tag(self, value: str, implicit: tuple[bool, bool]) -> str:
        """The tag of an untagged scalar where `_convert` could refuse it: PyYAML's resolver's, asked only
        after a first character that may give a refused tag (most scalars are names, and each question
        is a loop of pattern matches in Python: a tenth of reading a large spec). Any other gets `_PLAIN`:
        a tag `_convert` accepts, which is all that matters, since `_typed_scalar` reads no tag that was
        not written out."""
        first = value[:1]
        if implicit[0] and (None in self._refusable or (
                first in self._refusable and (not first.isdigit() or "-" in value))):
            # after a digit the refused tag is the timestamp's, whose every form has a '-' after the year
            return self._resolver.resolve(ScalarNode, value, implicit)
        return _PLAIN

    def compose(self, events) -> Any:
        stream = iter(events)
        assert isinstance(next(stream), StreamStartEvent)
        event = next(stream)
        if isinstance(event, StreamEndEvent):
            return None
        assert isinstance(event, DocumentStartEvent)
        root = self._node(next(stream), stream, 1)
        assert isinstance(next(stream), DocumentEndEvent)
        event = next(stream)
        if not isinstance(event, StreamEndEvent):
            raise ParseError("invalid YAML: expected a single document in the stream, but found another document",
                             _location(self._path, event.start_mark),
                             hint="a spec is one document: remove the second `---` and what follows")
        return root

    def _node(self, event, stream, depth: int) -> Any:
        if isinstance(event, AliasEvent):
            raise UnsafeYamlError(
                f"YAML aliases (*{event.anchor}) are not allowed in a spec",
                _location(self._path, event.start_mark),
                hint="write the values out, or use `defaults:` and `repeat:` to avoid repetition",
            )
        if depth > MAX_DEPTH:
            raise UnsafeYamlError(
                f"the document nests deeper than {MAX_DEPTH} levels",
                _location(self._path, event.start_mark),
                hint="flatten the structure; `repeat:` blocks rarely need more than a few levels",
            )
        explicit = event.tag not in (None, "!")
        if isinstance(event, ScalarEvent):
            tag = event.tag if explicit else self.scalar_tag(event.value, event.implicit)
            # libyaml marks plain scalars with style '', PyYAML with None
            node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style or None)
            node.explicit_tag = explicit
            return node
        start = event.start_mark
        if isinstance(event, SequenceStartEvent):
            tag = event.tag if explicit else self._resolver.resolve(SequenceNode, None, event.implicit)
            items = []
            while not isinstance(event := next(stream), SequenceEndEvent):
                items.append(self._node(event, stream, depth + 1))
            return SequenceNode(tag, items, start, event.end_mark)
        assert isinstance(event, MappingStartEvent)
        tag = event.tag if explicit else self._resolver.resolve(MappingNode, None, event.implicit)
        pairs = []
        while not isinstance(event := next(stream), MappingEndEvent):
            key = self._node(event, stream, depth + 1)
            pairs.append((key, self._node(next(stream), stream, depth + 1)))
        return MappingNode(tag, pairs, start, event.end_mark)
