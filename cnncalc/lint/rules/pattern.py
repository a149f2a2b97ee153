"""Rules for the pattern DSL (`pattern:` specs and `--pattern`, cnncalc/pattern/; docs/pattern.md):
reported while the pattern is read and expanded."""

from __future__ import annotations

from cnncalc.lint.rule import Rule

_WHY = "The pattern cannot be expanded into layers, so the model cannot be analysed."


def _rule(code: str, name: str, summary: str, what: str, example: str, fix: str, why: str = _WHY) -> Rule:
    return Rule(code, name, "error", summary, what=what, why=why, example=example, fix=fix)


RULES = (
    _rule("CNN110", "pattern-bad-character", "a character that cannot start a pattern token",
          "Reports characters such as `$`, `=>` or `{` where a pattern token must start.",
          "pattern: INPUT -> CONV => RELU", "Use `->` between layers and the documented words and brackets."),
    _rule("CNN111", "pattern-syntax", "a pattern syntax error",
          "Reports a pattern that expected `->`, a layer, a value or a repeat count at the marked column.",
          "pattern: INPUT -> CONV -> -> FC(10)", "Write the missing part at the marked column."),
    _rule("CNN112", "pattern-unbalanced", "unbalanced brackets or parentheses in a pattern",
          "Reports a bracket or parenthesis without its partner, naming where the open one is.",
          "pattern: INPUT -> [CONV -> RELU*2 -> FC(10)", "Close every `[` and `(` (or remove the extra one)."),
    _rule("CNN113", "pattern-unknown-word", "an unknown layer word in a pattern",
          "Reports a layer word that is not a layer type, with the nearest known word.",
          "pattern: INPUT -> CONV(16) -> RELUU -> FC(10)", "Use the suggested word (`RELU`)."),
    _rule("CNN114", "pattern-unbound-variable", "a pattern variable without a value",
          "Reports a variable (`N` in `*N`) that neither `vars:` nor `-D` gives.",
          "pattern: INPUT -> [CONV(16) -> RELU]*N -> FC(10)", "Bind it: `vars: {N: 2}` or `-D N=2`."),
    _rule("CNN115", "pattern-bad-repeat", "a repeat count that is not a whole number or is too large",
          "Reports `*N` counts that are fractional, negative or above the repeat limit.",
          "pattern: INPUT -> [CONV(16)]*2.5 -> FC(10)", "Use a whole number within the limit."),
    _rule("CNN116", "pattern-bad-argument", "a layer argument the layer does not take, given twice, or unnamed",
          "Reports arguments a layer word does not accept, repeated arguments and positional arguments where "
          "a name is needed.", "pattern: INPUT -> CONV(16, q=3) -> FC(10)",
          "Use the layer's keys (`cnncalc schema`) or the short names k, f, s, p, d, g."),
    _rule("CNN117", "pattern-bad-size", "a size or -N count on a word that takes none",
          "Reports sizes such as `RELU-3` or `FC3` on words that have no size.",
          "pattern: INPUT -> CONV3-16 -> RELU-3 -> FC(10)", "Remove the size, or give it as an argument."),
    _rule("CNN118", "pattern-input", "INPUT misplaced, with arguments, missing, or in conflict with --input",
          "Reports a pattern whose INPUT is not first, takes arguments, is missing, or contradicts `--input`.",
          "pattern: CONV(16) -> INPUT -> FC(10)", "Start the pattern with INPUT and give its size in `input:`."),
    _rule("CNN119", "pattern-bad-binding", "a -D or vars: binding that cannot be read or is unused",
          "Reports bindings whose value is not a whole number or range, and bindings of variables the "
          "pattern does not use.", "vars: {N: two}", "Bind used variables to whole numbers (or ranges for sweep)."),
    _rule("CNN120", "pattern-too-large", "a pattern that expands past the layer limit",
          "Reports patterns whose expansion exceeds cnncalc's limit on layers.",
          "pattern: INPUT -> [[CONV(8)]*1000]*1000 -> FC(10)", "Lower the repeat counts.",
          why="An expansion that large is a mistake or an attack; analysing it would take unbounded time."),
    _rule("CNN121", "pattern-too-deep", "pattern nesting or operator limits exceeded",
          "Reports patterns nested deeper, or with more operators, than cnncalc's limits.",
          "pattern: INPUT -> [[[[[[[[CONV(8)]*2]*2]*2]*2]*2]*2]*2]*2", "Flatten the pattern."),
    _rule("CNN122", "pattern-spec-shape", "`pattern:` with `layers:`, or a malformed pattern entry",
          "Reports a spec that gives both `pattern:` and `layers:`, a `pattern:` that is not text, and "
          "per-word defaults (`CONV: {...}`) that are not mappings.",
          "pattern: INPUT -> CONV(16) -> FC(10)\nlayers: [relu]", "Give either `pattern:` or `layers:`."),
    _rule("CNN123", "sweep-too-large", "a sweep with too many variants",
          "Reports `cnncalc sweep` ranges whose combinations exceed the sweep limit.",
          "cnncalc sweep --pattern '...' -D N=0..1000 -D M=0..1000", "Sweep smaller ranges.",
          why="Every variant is analysed; an enormous sweep would run for hours."),
)
