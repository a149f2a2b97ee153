"""The pattern DSL's words: which layer words exist, their short forms and built-in settings.

Tables only, read by the parser (which words are layers, which take a size or a count), by the
bindings (which argument words are variables, which are on/off) and by the expansion (what a
shorthand such as CONV3-64 or k=3 means). The layer tables are derived from the kind registry
(`LayerKind.pattern_words`, `pattern_positional`, `pattern_size`, `pattern_count`,
`pattern_defaults`): a new layer kind with one input becomes a pattern word with no change here.
"""

from __future__ import annotations

from typing import Any

from cnncalc.layers import kinds


INPUT_WORD = "INPUT"
#: Layer words: every one-input kind and alias, upper-cased (CONV, POOL, FC, RELU, BN, DROPOUT, ...);
#: merges (add, concat) need branches, which a chain cannot express.
LAYER_WORDS: dict[str, str] = {word: kind.name for kind in kinds() for word in kind.pattern_words()}
#: The words the cs231n notes use, offered first when a word is misspelt.
CORE_WORDS = ("INPUT", "CONV", "POOL", "FC", "RELU", "SIGMOID", "TANH", "SOFTMAX", "BN", "DROPOUT", "FLATTEN")
#: Short argument names: CONV(k=3, f=64, s=1, p=same).
ARG_ALIASES = {"k": "kernel", "f": "filters", "s": "stride", "p": "padding", "d": "dilation", "g": "groups"}
#: The setting a lone positional argument gives: CONV(64), FC(1000), POOL(3), DROPOUT(0.5).
#: (Kinds without an entry take their shorthand key.)
POSITIONAL = {kind.name: kind.pattern_positional for kind in kinds() if kind.pattern_positional is not None}
#: Words an argument value may be without being a variable.
LITERAL_WORDS = frozenset({"same", "valid", "max", "avg", "true", "false", "yes", "no", "on", "off"})
#: Settings of plain CONV and POOL when nothing else gives them (cs231n: 3x3 stride 1 size-preserving
#: convs; 2x2 max pools, whose stride defaults to the window). Filters and FC units have no default.
BUILTIN_DEFAULTS: dict[str, dict[str, Any]] = {kind.name: dict(kind.pattern_defaults) for kind in kinds()
                                               if kind.pattern_defaults}
#: Which layer words accept a glued size (CONV3, POOL2) and a "-N" count (CONV3-64, FC-4096).
SIZE_KEY = {kind.name: kind.pattern_size for kind in kinds() if kind.pattern_size is not None}
COUNT_KEY = {kind.name: kind.pattern_count for kind in kinds() if kind.pattern_count is not None}

#: Words that switch a '?' (and a boolean setting) on or off: -D POOL=off, CONV(bias=false).
SWITCH_WORDS = {"on": 1, "off": 0, "true": 1, "false": 0, "yes": 1, "no": 0}


def is_variable_word(name: str) -> bool:
    """In arguments an upper-case word is a variable (F, WIDTH); other words are values (same, avg)."""
    return name == name.upper() and name.lower() not in LITERAL_WORDS
