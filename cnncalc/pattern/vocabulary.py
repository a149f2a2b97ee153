"""The pattern DSL's words: which layer words exist, their short forms and built-in settings.

Tables only, read by the parser (which words are layers, which take a size or a count), by the
bindings (which argument words are variables, which are on/off) and by the expansion (what a
shorthand such as CONV3-64 or k=3 means). A new layer kind with one input becomes a pattern word
here, from the kind registry, with no other change.
"""

from __future__ import annotations

from typing import Any

from cnncalc.layers import KINDS


INPUT_WORD = "INPUT"
#: Layer words: every one-input kind and alias, upper-cased (CONV, POOL, FC, RELU, BN, DROPOUT, ...);
#: merges (add, concat) need branches, which a chain cannot express.
LAYER_WORDS: dict[str, str] = {word.upper(): kind.name for word, kind in KINDS.items() if kind.arity == 1}
#: The words the cs231n notes use, offered first when a word is misspelt.
CORE_WORDS = ("INPUT", "CONV", "POOL", "FC", "RELU", "SIGMOID", "TANH", "SOFTMAX", "BN", "DROPOUT", "FLATTEN")
#: Short argument names: CONV(k=3, f=64, s=1, p=same).
ARG_ALIASES = {"k": "kernel", "f": "filters", "s": "stride", "p": "padding", "d": "dilation", "g": "groups"}
#: The setting a lone positional argument gives: CONV(64), FC(1000), POOL(3), DROPOUT(0.5).
POSITIONAL = {"conv": "filters", "conv1d": "filters", "conv2d": "filters", "conv3d": "filters"}
#: Words an argument value may be without being a variable.
LITERAL_WORDS = frozenset({"same", "valid", "max", "avg", "true", "false", "yes", "no", "on", "off"})
#: Settings of plain CONV and POOL when nothing else gives them (cs231n: 3x3 stride 1 size-preserving
#: convs; 2x2 max pools, whose stride defaults to the window). Filters and FC units have no default.
BUILTIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "conv": {"kernel": 3, "stride": 1, "padding": "same"},
    "pool": {"kernel": 2},
}
#: Which layer words accept a glued size (CONV3, POOL2) and a "-N" count (CONV3-64, FC-4096).
SIZE_KEY = {"conv": "kernel", "conv1d": "kernel", "conv2d": "kernel", "conv3d": "kernel", "pool": "kernel"}
COUNT_KEY = {"conv": "filters", "conv1d": "filters", "conv2d": "filters", "conv3d": "filters", "fc": "units"}

#: Words that switch a '?' (and a boolean setting) on or off: -D POOL=off, CONV(bias=false).
SWITCH_WORDS = {"on": 1, "off": 0, "true": 1, "false": 0, "yes": 1, "no": 0}


def is_variable_word(name: str) -> bool:
    """In arguments an upper-case word is a variable (F, WIDTH); other words are values (same, avg)."""
    return name == name.upper() and name.lower() not in LITERAL_WORDS
