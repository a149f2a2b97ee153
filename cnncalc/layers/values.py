"""The values a layer kind's keys accept: `Param`, the parsers (each takes the YAML node and returns a
Python value or raises at its location, and carries the JSON-schema fragment of what it accepts),
and the small helpers the kinds share (`per_axis`, `need_spatial`, `product_formula`).
"""

from __future__ import annotations

from collections.abc import Callable
from cnncalc.records import dataclass

from cnncalc.errors import ShapeError, SpecError
from cnncalc.shapes import Shape
from cnncalc.yamlsource import YNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Any

REQUIRED = object()


def any_case(words) -> str:
    """A JSON Schema pattern matching these words in any letter case (no inline flags: editors use
    JavaScript regexes), for the `schema` each value parser carries (see cnncalc/schema.py)."""
    def letters(word: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in word)

    return "^(" + "|".join(letters(w) for w in words) + ")$"


@dataclass(frozen=True, slots=True)
class Param:
    """One key a layer accepts: its parser, its default (or REQUIRED) and a line of documentation."""

    name: str
    parse: Callable[[YNode], Any]
    default: Any = REQUIRED
    doc: str = ""

    def schema(self) -> dict[str, Any]:
        """The key's JSON-schema fragment: its parser's schema and its documentation with the default."""
        schema = dict(getattr(self.parse, "schema", {}))
        description = self.doc or self.name
        if self.default is REQUIRED:
            description += " (required)"
        elif self.default is not None:
            import json  # the schema's and the docs' only: not imported by analyze

            description += f" (default: {json.dumps(self.default)})"
        return {"description": description, **schema}


# ---------------------------------------------------------------------------------------------
# value parsers: each takes the YAML node and returns a Python value or raises at its location


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 2**63)


MAX_DIM = 10**7


def integer(minimum: int = 1, maximum: int = MAX_DIM) -> Callable[[YNode], int]:
    def parse(node: YNode) -> int:
        if not _is_int(node.value):
            raise SpecError(f"expected a whole number, got {node.text or type(node.value).__name__!r}", node.loc,
                            hint=f"write a whole number of at least {minimum}")
        value = int(node.value)
        if value < minimum:
            word = "positive" if minimum == 1 else f"at least {minimum}"
            raise SpecError(f"{value} is not allowed here: the value must be {word}", node.loc,
                            hint=f"use a whole number of at least {minimum}")
        if value > maximum:
            raise SpecError(f"{value:,} is larger than cnncalc's limit of {maximum:,}", node.loc,
                            hint="use a realistic size", code="CNN003")
        return value

    parse.schema = {"type": "integer", "minimum": minimum, "maximum": maximum}
    return parse


def integers(minimum: int = 1, lengths: tuple[int, ...] = (1, 2, 3)) -> Callable[[YNode], int | tuple[int, ...]]:
    """A whole number, or a list of them (one per spatial axis)."""
    one = integer(minimum)

    def parse(node: YNode) -> int | tuple[int, ...]:
        if node.is_sequence:
            if len(node.value) not in lengths:
                allowed = " or ".join(str(n) for n in lengths)
                raise SpecError(f"expected a list of {allowed} numbers, got {len(node.value)}", node.loc)
            return tuple(one(item) for item in node.value)
        return one(node)

    parse.schema = {
        "anyOf": [one.schema, {"type": "array", "items": one.schema, "minItems": min(lengths), "maxItems": max(lengths)}]
    }
    return parse


#: the padding words the spec format knows; each convention accepts a subset (conventions.py).
PADDING_WORDS = ("same", "valid", "same_upper", "same_lower", "causal")


def padding(node: YNode) -> int | str | tuple[int, ...]:
    """An int, [h, w], [top, bottom, left, right] (any rank: per-axis or before/after pairs), 'same', 'valid'."""
    if isinstance(node.value, str):
        word = node.value.lower()
        if word in PADDING_WORDS:
            return word
        raise SpecError(f"unknown padding {node.value!r}", node.loc,
                        hint="use a number, a list, or one of " + ", ".join(f"'{w}'" for w in PADDING_WORDS))
    return _padding_numbers(node)


_padding_numbers = integers(0, (1, 2, 3, 4, 6))
padding.schema = {
    "anyOf": [
        *_padding_numbers.schema["anyOf"],
        {"type": "string", "pattern": any_case(PADDING_WORDS)},
    ]
}


def boolean(node: YNode) -> bool:
    if isinstance(node.value, bool):
        return node.value
    raise SpecError(f"expected true or false, got {node.text!r}", node.loc, hint="write true or false")


boolean.schema = {"type": "boolean"}


def fraction(node: YNode) -> float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise SpecError(f"expected a number in [0, 1), got {node.text!r}", node.loc, hint="e.g. 0.5")
    return float(value)


fraction.schema = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}


def number(minimum: float | None = 0.0) -> Callable[[YNode], float]:
    """A real number of at least `minimum`; None: any finite number (a slope that may be negative)."""
    def parse(node: YNode) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                value >= minimum if minimum is not None else abs(value) < float("inf")):
            wanted = f"a number of at least {minimum}" if minimum is not None else "a finite number"
            raise SpecError(f"expected {wanted}, got {node.text!r}", node.loc)
        return float(value)

    parse.schema = {"type": "number"} if minimum is None else {"type": "number", "minimum": minimum}
    return parse


def choice(*options: str) -> Callable[[YNode], str]:
    def parse(node: YNode) -> str:
        value = node.text if node.is_scalar else None
        if isinstance(value, str) and value.lower() in options:
            return value.lower()
        raise SpecError(f"expected one of {', '.join(options)}; got {node.text or 'a collection'!r}", node.loc,
                        hint=f"use {' or '.join(options)}")

    parse.schema = {"type": "string", "pattern": any_case(options)}
    return parse


def text(node: YNode) -> str:
    if not node.is_scalar or node.value is None or node.text == "":
        raise SpecError("expected a name", node.loc)
    return node.text


text.schema = {"type": ["string", "number"]}


def per_axis(value: int | tuple[int, ...], rank: int, key: str, label: str) -> tuple[int, ...]:
    """Broadcast an int to every spatial axis, or check that a list has one entry per axis."""
    if isinstance(value, int):
        return (value,) * rank
    if len(value) == rank:
        return tuple(value)
    if len(value) == 1:
        return (value[0],) * rank
    raise ShapeError(f"{label}: `{key}` has {len(value)} values but the input has {rank} spatial axes",
                     hint=f"give one value or {rank}", code="CNN206")


def need_spatial(shape: Shape, label: str) -> None:
    if shape.is_vector:
        raise ShapeError(f"{label}: needs a feature map but its input is a vector of {shape.channels}",
                         hint="move this layer before the first fc/flatten", code="CNN206")


def product_formula(factors: tuple[int, ...]) -> str:
    return "*".join(str(f) for f in factors)


#: A layer PyTorch runs as a function call (`F.relu`, `F.adaptive_avg_pool2d`) rather than a module:
#: it computes the same, but counters that hook modules (thop, torchscan, ptflops' hooks) do not see it,
#: so the counting presets (cnncalc/counting.py) need to know. Declared by the kinds torchvision calls so.
FUNCTIONAL = Param("functional", boolean, False,
                   "PyTorch runs it as a function call (F.relu, F.adaptive_avg_pool2d), not a module: "
                   "counters that hook modules do not see it (see --count)")

