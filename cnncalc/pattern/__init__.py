"""The pattern DSL: a whole network on one line, as the cs231n notes write it.

    INPUT[32x32x3] -> [[CONV3-32 -> RELU]*N -> POOL?]*M -> [FC-128 -> RELU]*K -> FC-10

The text becomes an AST of frozen nodes whose spans point into the text; bindings (`-D N=2`,
`vars:`) give its variables values; the expansion turns the AST into the very `LayerSpec` and
`RepeatSpec` items a YAML `layers:` list gives, built through `spec.SpecBuilder`, so every later
stage sees no difference. See docs/pattern.md. One module per job, each importing only those
above it in this list:

    vocabulary  the words: layer words, short argument names, built-in settings
    positions   offsets in the pattern text -> locations in the file or command line
    tree        the AST, its printer (`format_pattern`) and walkers
    syntax      tokens and the parser (`parse`)
    bindings    -D / vars: values, ranges and switches; which names a pattern has
    expansion   AST + values -> spec items
    source      `PatternSource`, `from_text`, `from_yaml`: the front door the CLI and sweep use

This package re-exports what the rest of cnncalc and the tests use, so `cnncalc.pattern.X`
keeps working. Nothing below `pipeline` (spec, graph, ...) imports it: the DSL sits upstream.
"""

from cnncalc.errors import CnnCalcError  # noqa: F401  (in __all__ since before the package split)
from cnncalc.pattern.bindings import Binding, parse_defines, variable_names
from cnncalc.pattern.expansion import layer_count
from cnncalc.pattern.positions import Locator
from cnncalc.pattern.source import PatternSource, from_text, from_yaml, spec_from_yaml
from cnncalc.pattern.syntax import MAX_NESTING, MAX_POSTFIX, parse
from cnncalc.pattern.tree import (
    Arg,
    Chain,
    Group,
    Layer,
    Num,
    Optional,
    Repeat,
    Tup,
    Word,
    format_pattern,
    optionals,
    switch_word,
)

__all__ = [
    "Arg", "Binding", "Chain", "CnnCalcError", "Group", "Layer", "Locator", "MAX_NESTING", "MAX_POSTFIX", "Num",
    "Optional", "PatternSource", "Repeat", "Tup", "Word", "format_pattern", "from_text", "from_yaml", "layer_count",
    "optionals", "parse", "parse_defines", "spec_from_yaml", "switch_word", "variable_names",
]
