"""The size limits that more than one stage enforces, in a module that imports nothing.

A YAML `repeat:` and a pattern's `*N` share the repeat limit; a spec's expansion and a pattern's
share the layer limit (documented in the README and docs/pattern.md). Keeping them here lets the
pattern DSL check its expansion without importing the graph builder, and the schema state the
repeat limit without importing the spec parser.
"""

from __future__ import annotations

#: The largest `repeat: {times: N}` or `*N`.
MAX_REPEAT = 100_000
#: The largest graph cnncalc builds (documented in the README's limits section).
MAX_LAYERS = 1_000_000
#: The most distinct block expansions (uses of a block with different arguments) one spec may need:
#: each is parsed separately, so blocks that use the one before with new arguments twice would
#: otherwise take 2^depth expansions before the layer limit could be applied.
MAX_EXPANSIONS = 10_000
#: How deep block uses and constructs (`repeat`, `residual`, `concat`, `add`) may nest in a spec.
MAX_NESTING = 100
#: The largest value of a block expression or of any step while computing it (10^18).
MAX_EXPRESSION_VALUE = 10**18
