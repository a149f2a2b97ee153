"""Variable bindings: `-D NAME=VALUE` on the command line and `vars:` in a YAML spec.

A binding gives a repeat count (`*N`), a setting (`CONV(f=F)`) or a switch (`POOL?`, `OPT2`)
one value, or several for a sweep (`0..3`, `1,2,4`, on/off). This module reads the values,
names the variables a pattern has, and decides which '?' are on; a mistake on the command line
is a usage error (exit 2), one in a spec file a spec error (exit 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from cnncalc.records import dataclass

from cnncalc.errors import CnnCalcError, LimitError, Location, SpecError, UsageError
from cnncalc.pattern.syntax import MAX_DIGITS
from cnncalc.pattern.tree import Chain, Layer, Repeat, Word, leaves, optionals, switch_word, walk
from cnncalc.pattern.vocabulary import SWITCH_WORDS, is_variable_word
from cnncalc.yamlsource import YNode


@dataclass(frozen=True, slots=True)
class Binding:
    """A variable's value(s): one for `analyze`/`expand`, several for `sweep` (`-D N=0..3`)."""

    name: str
    values: tuple[int, ...]
    loc: Location
    #: given on the command line (-D): its mistakes are usage errors (exit 2), not spec errors
    usage: bool = False

    def error(self, message: str, hint: str, code: str = "CNN119") -> CnnCalcError:
        return (UsageError if self.usage else SpecError)(message, self.loc, hint=hint, code=code)


_BINDING = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
#: The most values one binding may take in a sweep.
MAX_RANGE = 1000


def parse_values(text: str, loc: Location, name: str) -> tuple[int, ...]:
    """`2`, `0..3` (inclusive), `1,2,4`, or on/off/true/false for switches."""
    word = text.strip().lower()
    if word in SWITCH_WORDS:
        return (SWITCH_WORDS[word],)
    values: list[int] = []
    for part in word.split(","):
        low, dots, high = part.partition("..")
        for number in (low, high):
            if len(number.strip()) > MAX_DIGITS:
                raise SpecError(f"the value of {name} has a number of more than {MAX_DIGITS} digits "
                                f"({number.strip()[:12]}..., {len(number.strip())} digits)", loc,
                                hint="use a realistic value", code="CNN119")
        try:
            first = int(low)
            last = int(high) if dots else first
        except ValueError:
            first = last = None
        if first is None or last is None or first < 0 or last < first:
            raise SpecError(f"cannot read the value {text.strip()!r} of {name}", loc,
                            hint="write a whole number (N=2), an inclusive range (N=0..3), a list (N=1,2,4) "
                            "or on/off", code="CNN119")
        if last - first + 1 > MAX_RANGE:
            raise LimitError(f"the range {part.strip()} of {name} has more than {MAX_RANGE:,} values", loc,
                             hint="sweep a smaller range", code="CNN123")
        values.extend(range(first, last + 1))
    return tuple(dict.fromkeys(values))


def parse_define(text: str, index: int = 1) -> Binding:
    """A command-line `-D NAME=VALUE`."""
    loc = Location(f"-D #{index}", 1, 1, 1, 1 + max(len(text), 1))
    match = _BINDING.match(text)
    if match is None:
        raise UsageError(f"cannot read the definition {text!r}", loc,
                         hint="write -D NAME=VALUE, e.g. -D N=2 or -D N=0..3 or -D POOL=0", code="CNN119")
    try:
        values = parse_values(match[2], loc, match[1])
    except SpecError as error:
        raise UsageError(error.message, loc, hint=error.hint, code=error.code) from None
    return Binding(match[1], values, loc, usage=True)


def yaml_bindings(node: YNode | None) -> dict[str, Binding]:
    """`vars: {N: 2, M: 1..3, POOL: off}` from a YAML spec."""
    if node is None or node.value is None:
        return {}
    if not node.is_mapping:
        raise SpecError("vars must be a mapping of names to values", node.loc, hint="write vars: {N: 2, M: 3}",
                        code="CNN122")
    result = {}
    for name, value in node.value.items():
        if not value.is_scalar or value.value is None:
            raise SpecError(f"the value of {name} must be a number, a range or on/off", value.loc, code="CNN119")
        text = value.text if not isinstance(value.value, bool) else ("on" if value.value else "off")
        result[name] = Binding(name, parse_values(text, value.loc, name), value.loc)
    return result


def parse_defines(defines: list[str] | tuple[str, ...]) -> dict[str, Binding]:
    result: dict[str, Binding] = {}
    for index, text in enumerate(defines, start=1):
        binding = parse_define(text, index)
        result[binding.name] = binding
    return result


# ---------------------------------------------------------------------------------------------
# what a pattern's names do


def variable_names(chain: Chain) -> dict[str, str]:
    """Every name a binding may set, and what it does: 'repeat count', 'setting', 'switch'."""
    names: dict[str, str] = {}
    for node in walk(chain):
        if isinstance(node, Repeat) and isinstance(node.times, str):
            names[node.times] = "repeat count"
        elif isinstance(node, Layer):
            for arg in node.args or ():
                for value in leaves(arg.value):
                    if isinstance(value, Word) and is_variable_word(value.name):
                        names.setdefault(value.name, "setting")
    for index, node in enumerate(optionals(chain), start=1):
        names[f"OPT{index}"] = "switch"
        word = switch_word(node)
        if word is not None:
            names.setdefault(word, "switch")
    return names


def switches(chain: Chain, bindings: Mapping[str, int]) -> dict[int, bool]:
    """Whether each '?' (by its offset) is on: OPTk first, then its word, else on."""
    result = {}
    for index, node in enumerate(optionals(chain), start=1):
        word = switch_word(node)
        value = bindings.get(f"OPT{index}", bindings.get(word, 1) if word else 1)
        result[node.span[0]] = bool(value)
    return result
