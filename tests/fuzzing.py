"""Hypothesis strategies for hostile and broken specs, shared by the test suite and the long fuzz run
(benchmarks/fuzz.py)."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import strategies as st

from cnncalc.layers import KINDS

SPEC_TEXTS = [p.read_text() for p in sorted(Path(__file__).parent.parent.joinpath("specs").glob("*.yaml"))]
KEYS = sorted({p.name for kind in KINDS.values() for p in kind.params} | {"name", "times", "layers", "input",
                                                                           "defaults", "channels", "height", "width"})
YAML_NOISE = list(":-[]{},#&*!|>'\"%@`\t\n ") + ["!!python/object:os.system", "&a", "*a", "<<", "~", "null", "1e9",
                                                   "-1", "0", "99999999999999999999", ".nan", "yes", "\ufeff", "\r\n"]

scalars = st.one_of(
    st.integers(-3, 300),
    st.sampled_from([0, -1, 10**7, 10**12, 2**63, 1.5, 0.5, float("inf"), float("nan")]),
    st.booleans(),
    st.none(),
    st.sampled_from(["same", "valid", "max", "avg", "3x3x3", "224x224x3", "0x1x1", "relu", "conv", "", "x" * 300]),
    st.text(max_size=8),
)


def _layer_items(children):
    kind = st.sampled_from(sorted(KINDS) + ["repeat", "bogus"])
    settings = st.dictionaries(st.sampled_from(KEYS), st.one_of(scalars, st.lists(scalars, max_size=5)), max_size=5)
    return st.one_of(kind, st.dictionaries(kind, st.one_of(settings, scalars, children), min_size=1, max_size=2))


random_layers = st.recursive(_layer_items(st.nothing()), lambda children: st.lists(_layer_items(children), max_size=6),
                             max_leaves=30)

random_specs = st.builds(
    lambda inp, layers, extra: yaml.safe_dump({"input": inp, "layers": layers, **extra}, sort_keys=False),
    st.one_of(st.sampled_from(["32x32x3", "7x7x1", "224x224x3", "1x1x1"]), scalars,
              st.dictionaries(st.sampled_from(["channels", "height", "width", "length", "depth", "units"]), scalars,
                              max_size=4)),
    st.one_of(st.lists(random_layers, max_size=8), scalars),
    st.dictionaries(st.sampled_from(["name", "defaults", "vars", "pattern", "convention", "extra"]), scalars, max_size=2),
)


@st.composite
def mutated_specs(draw):
    """A shipped spec with a few random character- and line-level edits."""
    text = draw(st.sampled_from(SPEC_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["insert", "delete", "replace_line", "duplicate_line", "number"]))
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        if operation == "insert":
            text = text[:at] + draw(st.sampled_from(YAML_NOISE)) + text[at:]
        elif operation == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)):]
        elif operation == "number":
            digits = [i for i, c in enumerate(text) if c.isdigit()]
            if digits:
                i = draw(st.sampled_from(digits))
                text = text[:i] + str(draw(st.sampled_from([0, -1, 7, 10**9, 10**20]))) + text[i + 1:]
        else:
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, len(lines) - 1))
            if operation == "duplicate_line":
                lines.insert(i, lines[i])
            else:
                lines[i] = draw(st.sampled_from(["  - relu\n", "- conv: {}\n", "    times: 0\n", "layers: 5\n",
                                                 "  - repeat: {times: 100000, layers: [relu]}\n", "\t\n", "a: *b\n"]))
            text = "".join(lines)
    return text


hostile_texts = st.one_of(
    st.just("a: &a [" + ",".join(["*a"] * 10) + "]\n"),
    st.builds(lambda n: "[" * n + "]" * n, st.integers(1, 3000)),
    st.builds(lambda n: "input: 8x8x1\nlayers:\n" + "  - repeat: {times: 100000, layers: [\n" * n + "relu" + "]}" * n,
              st.integers(1, 6)),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
)


SEED_PATTERNS = [
    "INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC",
    "INPUT -> FC",
    "INPUT -> CONV -> RELU -> FC",
    "INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC",
    "INPUT -> [CONV -> RELU -> CONV -> RELU -> POOL]*3 -> [FC -> RELU]*2 -> FC",
    "INPUT[224x224x3] -> [CONV3-64]*2 -> POOL2 -> FC-4096 -> DROPOUT(0.5) -> FC(1000)",
    "CONV(k=3, f=64, s=1, p=same) -> POOL(k=3, s=2, mode=avg) -> BN -> FLATTEN -> SOFTMAX",
]
PATTERN_NOISE = list("[]()*?-,=>x ") + ["->", "*N", "*99999999", "?", "CONVV", "RELU", "(k=0)", "[[", "]]", "f=-1"]


@st.composite
def mutated_patterns(draw):
    """A YAML spec whose `pattern:` is a seed pattern with random edits."""
    text = draw(st.sampled_from(SEED_PATTERNS))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(PATTERN_NOISE)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 6)):]
    variables = draw(st.dictionaries(st.sampled_from(["N", "M", "K", "X"]), st.integers(-2, 5), max_size=4))
    defaults = "CONV: {filters: 8}\nFC: {units: 10}\n"
    return yaml.safe_dump({"input": "32x32x3", "pattern": text, "vars": variables}) + defaults


# ---------------------------------------------------------------------------------------------
# issue #19's shapes of hostile input: control characters in names, huge numbers, deep nesting,
# blocks that double at every level

#: characters that act on a terminal or split a line (ESC, BEL, NUL, CSI, RLO, LRI, ZWJ, NEL, LS, BOM...)
CONTROL_CHARACTERS = ["\x1b", "\x07", "\x00", "\x9b", "\u202e", "\u2066", "\u200d", "\x85", "\u2028", "\ufeff",
                      "\r", "\n", "\t", "\x7f", "\x1b]0;title\x07", "\x1b[2J"]

hostile_names = st.lists(st.one_of(st.sampled_from(CONTROL_CHARACTERS), st.text(max_size=3)), min_size=1,
                         max_size=4).map("".join).filter(lambda name: name.strip() != "")


@st.composite
def control_character_specs(draw):
    """A valid spec whose model and layer names carry control, bidi and line-break characters."""
    names = draw(st.lists(hostile_names, min_size=1, max_size=3, unique=True))
    layers = [{"conv": {"filters": 4, "kernel": 3, "padding": 1, "name": f"c{i}{name}"}} for i, name in enumerate(names)]
    if draw(st.booleans()):
        layers.append({"conv": {"filters": 4, "kernel": 99, "name": "bad" + names[0]}})  # an error naming it
    return yaml.safe_dump({"name": draw(hostile_names), "input": "8x8x3", "layers": layers}, allow_unicode=False)


HUGE_NUMBERS = [10**18, 10**18 + 1, 2**63, 10**30, int("9" * 31), int("9" * 40), 10**100, -(10**19)]


@st.composite
def huge_number_specs(draw):
    """Block arguments, expressions and repeat counts far beyond any limit, in YAML or a pattern."""
    number = draw(st.sampled_from(HUGE_NUMBERS))
    kind = draw(st.sampled_from(["argument", "expression", "squares", "repeat", "pattern", "vars"]))
    if kind == "pattern":
        return yaml.safe_dump({"input": "8x8x3", "pattern": f"INPUT -> [RELU]*{number}"})
    if kind == "vars":
        return yaml.safe_dump({"input": "8x8x3", "pattern": "INPUT -> [RELU]*N", "vars": {"N": f"2..{number}"}})
    if kind == "repeat":
        return f"input: 8x8x3\nlayers:\n  - repeat: {{times: {number}, layers: [relu]}}\n"
    power = "*".join(["$x"] * draw(st.integers(2, 40)))
    body = {"argument": "$x", "expression": f"$x * {number}", "squares": power}[kind]
    levels = draw(st.integers(1, 3))
    lines = ["input: 8x8x3", "blocks:", "  b0:", "    params: [x]", "    layers: [{conv: {filters: $x, kernel: 1}}]"]
    for i in range(1, levels + 1):
        lines += [f"  b{i}:", "    params: [x]", f"    layers: [{{b{i - 1}: {{x: '{body}'}}}}]"]
    lines += ["layers:", f"  - b{levels}: {{x: {draw(st.sampled_from([2, 99, number]))}}}"]
    return "\n".join(lines) + "\n"


@st.composite
def deeply_nested_specs(draw):
    """Blocks that each wrap the one before, in residuals or concats, up to 300 levels."""
    levels = draw(st.integers(1, 300))
    wrap = draw(st.sampled_from(["b{}", "{{residual: [b{}]}}", "{{concat: [[b{}], []]}}"]))
    lines = ["input: 8x8x3", "blocks:", "  b0:", "    layers: [relu]"]
    for i in range(1, levels + 1):
        lines += [f"  b{i}:", f"    layers: [{wrap.format(i - 1)}]"]
    lines += ["layers:", f"  - residual: [b{levels}]"]
    return "\n".join(lines) + "\n"


@st.composite
def doubling_block_specs(draw):
    """Block i uses block i-1 twice (with the same or different arguments): 2^levels layers, times the
    repeat. Either small (at most ~40,000 layers) or far past the 1,000,000-layer limit (refused while
    expanding): the hundreds of thousands of layers in between are a speed question (benchmarks/), whose
    seconds on a shared CI machine would only make this test flaky."""
    repeat = draw(st.sampled_from([0, 1, 7, 100_000]))
    levels = draw(st.integers(1, 22).filter(lambda n: 2**n * max(repeat, 1) <= 20_000
                                            or 2**n * max(repeat, 1) > 2_000_000))
    distinct = draw(st.booleans())
    leaf = draw(st.sampled_from(["[relu]", "[]", "[{residual: [relu]}]"]))
    first, second = ("'$x * 2'", "'$x * 2 + 1'") if distinct else ("$x", "$x")
    lines = ["input: 8x8x3", "blocks:", "  b0:", "    params: [x]", f"    layers: {leaf}"]
    for i in range(1, levels + 1):
        lines += [f"  b{i}:", "    params: [x]", "    layers:", f"      - b{i - 1}: {{x: {first}}}",
                  f"      - b{i - 1}: {{x: {second}}}"]
    lines += ["layers:", f"  - repeat: {{times: {repeat}, layers: [b{levels}: {{x: 1}}]}}"]
    return "\n".join(lines) + "\n"


issue19_texts = st.one_of(control_character_specs(), huge_number_specs(), deeply_nested_specs(),
                          doubling_block_specs())


# ---------------------------------------------------------------------------------------------
# issue #19, round two: lone surrogates, nesting through blocks and constructs, files that are no
# regular files, several errors in one file, selectors with typos

#: lone surrogates (from `"\ud800"` escapes, or undecodable file names), next to other hostile text
SURROGATES = ["\ud800", "\udc80", "\udcff", "\udfff", "\ud83d", "a\udc80b", "\ud800\udc00"]


@st.composite
def surrogate_specs(draw):
    """A spec whose names hold lone surrogates (written by YAML as \\u escapes), valid or with one error."""
    names = draw(st.lists(st.one_of(st.sampled_from(SURROGATES), hostile_names), min_size=1, max_size=3, unique=True))
    layers = [{"conv": {"filters": 4, "kernel": 3, "padding": 1, "name": f"c{i}{name}"}} for i, name in enumerate(names)]
    if draw(st.booleans()):
        layers.append({"conv": {"filters": 4, "kernel": 99, "name": "bad" + names[0]}})
    return yaml.safe_dump({"name": draw(st.sampled_from(SURROGATES)), "input": "8x8x3", "layers": layers},
                          allow_unicode=False)


@st.composite
def construct_nesting_specs(draw):
    """Blocks each wrapping the previous one in several residuals/concats: nesting that grows through
    blocks and constructs together, below and above the limit of 100 levels."""
    levels = draw(st.integers(1, 120))
    wraps = draw(st.integers(1, 12))
    construct = draw(st.sampled_from(["residual", "concat"]))
    lines = ["input: 8x8x3", "blocks:", "  b0:", "    layers: [relu]"]
    for i in range(1, levels + 1):
        if construct == "residual":
            body = "{residual: [" * wraps + f"b{i - 1}" + "]}" * wraps
        else:
            body = "{concat: [[" * wraps + f"b{i - 1}" + "], [relu]]}" * wraps
        lines += [f"  b{i}:", f"    layers: [{body}]"]
    lines += ["layers:", f"  - b{levels}"]
    return "\n".join(lines) + "\n"


#: layer items that are valid alone, and items each with one spec error of its own
GOOD_ITEMS = ["relu", "{conv: {filters: 4, kernel: 1}}", "{pool: {kernel: 1}}", "{repeat: {times: 2, layers: [relu]}}",
              "{residual: [relu]}"]
BAD_ITEMS = ["{conv: {filters: -4, kernel: 3}}", "{conv: {filtres: 4, kernel: 3}}", "{bogus: 3}", "{fc: 0}",
             "{repeat: {times: 2, layers: [{bogus: 1}]}}", "{residual: [{conv: {kernel: 3}}]}",
             "{pool: {kernel: 2, mode: mean}}", "{repeat: {times: 0.5, layers: [relu]}}",
             "{repeat: {times: 2, layers: [relu, {fc: -1}]}}", "{conv: {filters: 4, kernel: 3, padding: bogus}}"]


def items_spec(items: list[str]) -> str:
    return "input: 8x8x3\nlayers:\n" + "".join(f"  - {item}\n" for item in items)


#: a spec of up to 12 items, good and bad mixed (each bad item's error is found alone: the oracle)
multi_error_items = st.lists(st.sampled_from(GOOD_ITEMS + BAD_ITEMS), min_size=1, max_size=12)

#: words given to --select/--ignore or written in `# cnncalc: ignore[...]`: codes, prefixes, names, typos
selector_words = st.one_of(
    st.sampled_from(["CNN201", "CNN3", "cnn2", "huge-first-fc", "*", "CNN20l", "CNN9", "huge-first-fx", "ALL", "E501",
                     "CNN", "cnn3O1", "", " ", "CNN201 ", "even-conv-kernal"]),
    st.text(alphabet="CNNcnn0123456789lO-abcdefghijk", min_size=1, max_size=12),
)

#: what a path may be instead of a regular file (tests/test_fuzz.py makes each in a temporary folder)
PATH_SHAPES = ["fifo", "directory", "dangling link", "link loop", "self link", "missing", "device", "empty file",
               "regular"]
