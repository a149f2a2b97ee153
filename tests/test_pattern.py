"""The pattern DSL: parsing, printing, expansion into spec items, `?` switches, positions, limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import graph, pattern, pipeline, report
from cnncalc.errors import CnnCalcError, LimitError
from cnncalc.pattern import Chain, Group, Layer, Num, Optional, Repeat, Tup, Word, format_pattern, from_text, parse

ROOT = Path(__file__).resolve().parents[1]

VGG16 = (
    "INPUT[224x224x3] -> [CONV3-64 -> RELU]*2 -> POOL2 -> [CONV3-128 -> RELU]*2 -> POOL2 -> "
    "[CONV3-256 -> RELU]*3 -> POOL2 -> [CONV3-512 -> RELU]*3 -> POOL2 -> [CONV3-512 -> RELU]*3 -> POOL2 -> "
    "[FC-4096 -> RELU -> DROPOUT(0.5)]*2 -> FC-1000"
)
CS231N = "INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC"
#: Plain CONV and FC need a filter / unit count from somewhere; the seeds do not say.
SETTINGS = ("CONV(f=16)", "FC(10)")


def seeds_dir() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "seeds"
        if candidate.is_dir():
            return candidate
    return None


def kinds(text: str, defines=(), input="32x32x3", settings=SETTINGS) -> list[str]:
    source = from_text(text, input=input, settings=settings, defines=defines)
    return [node.type for node in graph.build(source.spec()).nodes[1:]]


def error_of(text: str, **options) -> CnnCalcError:
    with pytest.raises(CnnCalcError) as info:
        from_text(text, **{"input": "32x32x3", **options}).spec()
    return info.value


# ---------------------------------------------------------------------------------------------
# the seeds' patterns


SEED_PATTERNS = {
    "002": [
        "INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC",
        "INPUT -> FC",
        "INPUT -> CONV -> RELU -> FC",
        "INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC]",
        "INPUT -> [CONV -> RELU -> CONV -> RELU -> POOL]*3 -> [FC -> RELU]*2 -> FC",
    ],
}


def test_the_patterns_quoted_here_are_the_seeds_own_text():
    seeds = seeds_dir()
    if seeds is None:
        pytest.skip("shared/seeds is not beside the repository")
    text = next(seeds.glob("002_*.txt")).read_text(encoding="utf-8")
    for quoted in SEED_PATTERNS["002"]:
        assert quoted in text
    slides = next(seeds.glob("004_*.txt")).read_text(encoding="utf-8")
    assert r"\text{POOL?}] * M \rightarrow" in slides


def test_the_general_pattern_expands_as_described():
    assert kinds(CS231N, ["N=2", "M=2", "K=1"]) == [
        "conv", "relu", "conv", "relu", "pool", "conv", "relu", "conv", "relu", "pool", "fc", "relu", "fc"
    ]


def test_n_m_k_zero_is_a_linear_classifier():
    # "INPUT -> FC, implements a linear classifier. Here N = M = K = 0."
    assert kinds(CS231N, ["N=0", "M=0", "K=0"]) == kinds("INPUT -> FC") == ["fc"]


def test_one_conv_without_pool_is_the_second_example():
    assert kinds(CS231N, ["N=1", "M=1", "K=0", "POOL=0"]) == kinds("INPUT -> CONV -> RELU -> FC") == [
        "conv", "relu", "fc"
    ]


def test_the_third_example_has_a_stray_bracket():
    error = error_of("INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC]")
    assert error.code == "CNN112" and error.loc.col == 54 and "unmatched ']'" in error.message
    assert kinds("INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC") == [
        "conv", "relu", "pool", "conv", "relu", "pool", "fc", "relu", "fc"
    ]
    assert kinds("INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC") == kinds(CS231N, ["N=1", "M=2", "K=1"])


def test_the_fourth_example_stacks_two_convs_before_each_pool():
    expected = ["conv", "relu", "conv", "relu", "pool"] * 3 + ["fc", "relu"] * 2 + ["fc"]
    assert kinds("INPUT -> [CONV -> RELU -> CONV -> RELU -> POOL]*3 -> [FC -> RELU]*2 -> FC") == expected
    assert kinds(CS231N, ["N=2", "M=3", "K=2"]) == expected


def test_the_slides_write_the_same_pattern_with_unicode_arrows_and_spaces():
    slides = "INPUT → [ [CONV → RELU] * N → POOL?] * M → [ FC → RELU ] * K → FC"
    assert parse(slides) == parse(CS231N)


def test_vgg16_on_one_line_gives_the_numbers_of_the_shipped_spec():
    analysis = pipeline.analyze_spec(from_text(VGG16).spec())
    totals = report.build(analysis, report.Options()).totals
    assert (totals.params, totals.macs) == (138_357_544, 15_470_264_320)
    shipped = pipeline.report_file(str(ROOT / "specs" / "vgg16.yaml")).to_dict()
    ours = report.build(analysis, report.Options()).to_dict()
    assert strip_positions(ours["layers"]) == strip_positions(shipped["layers"])
    assert ours["totals"] == shipped["totals"] and ours["memory"] == shipped["memory"]


def strip_positions(layers: list[dict]) -> list[dict]:
    return [{k: v for k, v in layer.items() if k not in ("line", "column")} for layer in layers]


# ---------------------------------------------------------------------------------------------
# tokens and their settings


def settings_of(text: str, **options) -> list[dict]:
    spec = from_text(text, input="32x32x3", **options).spec()
    return [node.params for node in graph.build(spec).nodes[1:]]


def test_cs231n_shorthand():
    conv, pool, fc = settings_of("CONV3-64 -> POOL2 -> FC-4096")
    assert (conv["kernel"], conv["filters"], conv["stride"], conv["padding"]) == (3, 64, 1, 1)
    assert (pool["kernel"], pool["stride"], pool["mode"]) == (2, None, "max")  # stride None = the window
    assert fc["units"] == 4096


def test_shorthand_padding_preserves_the_size_for_odd_kernels():
    assert [p["padding"] for p in settings_of("CONV1-8 -> CONV5-8 -> CONV7-8 -> CONV2-8")] == [0, 2, 3, "same"]


def test_general_forms_and_aliases():
    conv, pool, fc, drop = settings_of("CONV(k=5, f=6, s=1, p=valid) -> POOL(k=3, s=2, mode=avg) -> FC(1000) -> "
                                       "DROPOUT(0.3)")
    assert (conv["kernel"], conv["filters"], conv["stride"], conv["padding"]) == (5, 6, 1, "valid")
    assert (pool["kernel"], pool["stride"], pool["mode"]) == (3, 2, "avg")
    assert fc["units"] == 1000 and drop["rate"] == 0.3
    (conv,) = settings_of("CONV(64, kernel=(3, 1), bias=false)")
    assert (conv["filters"], conv["kernel"], conv["bias"]) == (64, (3, 1), False)
    (conv,) = settings_of("CONV(f=8, k=3x1)")
    assert conv["kernel"] == (3, 1)


def test_words_are_case_insensitive_and_every_kind_is_a_word():
    assert kinds("input -> conv3-8 -> Relu -> BN -> BATCHNORM -> GLOBAL_POOL -> FLATTEN -> LINEAR(10) -> SOFTMAX") == [
        "conv", "relu", "batchnorm", "batchnorm", "global_pool", "flatten", "fc", "softmax"
    ]


def test_plain_conv_and_pool_take_the_cs231n_defaults():
    conv, pool = settings_of("CONV(f=8) -> POOL")
    assert (conv["kernel"], conv["stride"], conv["padding"], pool["kernel"]) == (3, 1, "same", 2)


def test_settings_precedence_builtin_then_defaults_then_token_keys_then_set_then_the_token():
    text = """
input: 32x32x3
defaults: {conv: {kernel: 5, filters: 4}}
CONV: {filters: 8, bias: false}
pattern: CONV -> CONV(f=2) -> CONV3-1
"""
    source = pattern.from_yaml(pipeline.yamlsource.load(text, "s.yaml"), "s.yaml", text)
    layers = [n.params for n in graph.build(source.spec()).nodes[1:]]
    assert [(p["kernel"], p["filters"], p["bias"]) for p in layers] == [(5, 8, False), (5, 2, False), (3, 1, False)]
    layers = [n.params for n in graph.build(source.with_settings(["CONV(f=16, k=7)"]).spec()).nodes[1:]]
    assert [(p["kernel"], p["filters"]) for p in layers] == [(7, 16), (7, 2), (3, 1)]


def test_variables_in_settings():
    (conv,) = settings_of("CONV3-8(s=S) -> FC(W)".split(" -> ")[0], defines=["S=2"])
    assert conv["stride"] == 2
    assert settings_of("FC(W)", defines=["W=12"])[0]["units"] == 12
    error = error_of("FC(W)")
    assert error.code == "CNN114" and "unbound variable W" in error.message


# ---------------------------------------------------------------------------------------------
# `?`: on unless switched off, by word or by position


def test_optionals_are_on_by_default():
    assert kinds("CONV -> POOL? -> FC") == ["conv", "pool", "fc"]


def test_a_word_switches_every_optional_of_that_word():
    assert kinds("CONV -> POOL? -> CONV -> POOL2? -> FC", ["POOL=0"]) == ["conv", "conv", "fc"]


def test_opt_k_switches_the_kth_question_mark_and_wins_over_the_word():
    text = "CONV -> POOL? -> [CONV -> RELU]? -> POOL? -> FC"
    assert kinds(text, ["OPT2=0"]) == ["conv", "pool", "pool", "fc"]
    assert kinds(text, ["POOL=0", "OPT3=1"]) == ["conv", "conv", "relu", "pool", "fc"]


def test_one_switch_decides_every_repetition():
    assert kinds("[CONV -> POOL?]*3 -> FC", ["POOL=off"]) == ["conv"] * 3 + ["fc"]


def test_a_name_the_pattern_does_not_use_is_refused_with_the_nearest_one():
    with pytest.raises(CnnCalcError) as info:
        from_text(CS231N, input="32x32x3", defines=["n=2"])
    assert info.value.code == "CNN119" and "did you mean N?" in info.value.hint


def test_variable_names_say_what_each_name_does():
    names = pattern.variable_names(parse("[CONV(s=S) -> POOL?]*N -> [RELU -> TANH]? -> [RELU]?"))
    assert names == {"N": "repeat count", "S": "setting", "OPT1": "switch", "POOL": "switch", "OPT2": "switch",
                     "OPT3": "switch", "RELU": "switch"}


# ---------------------------------------------------------------------------------------------
# positions


def test_a_cli_pattern_error_points_at_its_column():
    error = error_of("INPUT -> CONV3-8 -> RELUU -> FC-10")
    assert (error.loc.path, error.loc.line, error.loc.col, error.loc.end_col) == ("<pattern>", 1, 21, 26)
    assert "did you mean RELU" in error.hint


def test_an_unclosed_bracket_names_where_it_was_opened():
    error = error_of("INPUT -> [[CONV->RELU]*N -> POOL? * M -> FC")
    assert error.message == "expected ']' to close '[' opened at column 10"


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [
        ('input: 8x8x3\npattern: "CONV3-8 -> RELUU"\n', 2, 22),
        ("input: 8x8x3\npattern: 'CONV3-8 -> RELUU'\n", 2, 22),
        ("input: 8x8x3\npattern: CONV3-8 -> RELUU   # note\n", 2, 21),
        ("input: 8x8x3\npattern: |\n  CONV3-8\n    -> RELUU\n", 4, 8),
        ("input: 8x8x3\npattern: >\n  CONV3-8 ->\n  RELUU\n", 4, 3),
        ("input: 8x8x3\npattern: CONV3-8 ->\n  RELU -> RELUU\n", 3, 11),
    ],
)
def test_a_yaml_pattern_error_points_at_the_file_line_and_column(text, line, col):
    with pytest.raises(CnnCalcError) as info:
        pipeline.parse(text, "s.yaml")
    loc = info.value.loc
    assert (loc.path, loc.line, loc.col) == ("s.yaml", line, col)
    assert text.splitlines()[line - 1][col - 1 : col + 4] == "RELUU"


def test_layers_and_pattern_together_are_refused():
    with pytest.raises(CnnCalcError) as info:
        pipeline.parse("input: 8x8x3\nlayers: [relu]\npattern: RELU\n", "s.yaml")
    assert info.value.code == "CNN122" and info.value.loc.line == 2


def test_a_yaml_pattern_gives_the_same_spec_as_the_command_line():
    text = "name: n\ninput: 32x32x3\nvars: {N: 2}\nCONV: {filters: 16}\npattern: '[CONV -> RELU]*N -> FC-10'\n"
    from_yaml = pipeline.parse(text, "s.yaml")
    from_cli = from_text("[CONV -> RELU]*N -> FC-10", input="32x32x3", settings=["CONV(f=16)"], defines=["N=2"])
    assert strip(from_yaml) == strip(from_cli.spec())


def strip(spec) -> list:
    return [(n.type, n.params) for n in graph.build(spec).nodes]


# ---------------------------------------------------------------------------------------------
# limits: clear errors, fast, never RecursionError / MemoryError


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * 3000 + "RELU" + "]" * 3000, "CNN121"),
        ("[" * 3000, "CNN121"),
        ("[RELU]*99999999999999", "CNN115"),
        ("RELU*" + "9" * 5000, "CNN115"),
        ("[[[RELU]*1000]*1000]*1000", "CNN120"),
        ("RELU" + "*2" * 3000, "CNN121"),
        ("RELU" + " -> RELU" * 10 + "*100000*100000", "CNN120"),
    ],
)
def test_bombs_give_a_limit_error(text, code):
    error = error_of(text)
    assert error.code == code


def test_a_bound_repeat_count_is_limited_too():
    error = error_of("[RELU]*N", defines=["N=100001"])
    assert error.code == "CNN115" and isinstance(error, LimitError)


def test_the_nesting_limit_itself_is_allowed():
    text = "[" * pattern.MAX_NESTING + "RELU" + "]" * pattern.MAX_NESTING
    assert kinds(text) == ["relu"]


# ---------------------------------------------------------------------------------------------
# property: printing and parsing are inverse; the layer count is the product formula

WORDS = st.sampled_from([
    Layer("RELU"), Layer("TANH"), Layer("BN"), Layer("CONV", 3, 8), Layer("CONV", 1),
    Layer("POOL", 2), Layer("FC", None, 10), Layer("DROPOUT", args=(pattern.Arg(None, Num(0.25)),)),
    Layer("CONV", args=(pattern.Arg("k", Tup((Num(3), Num(1)))), pattern.Arg("f", Num(4)),
                        pattern.Arg("p", Word("same")))),
    Layer("FC", args=()),
])


def _postfix_run(node) -> int:
    run = 0
    while isinstance(node, (Repeat, Optional)):
        run, node = run + 1, node.body
    return run


def _postfixable(node, optional: bool = False):
    """`node` itself when one more `*n` (or `?`: not after another `?`) may follow it, else `node`
    in brackets: built this way rather than filtered, since filtering discarded most draws."""
    if (optional and isinstance(node, Optional)) or _postfix_run(node) >= pattern.MAX_POSTFIX:
        return Group(Chain((node,)))
    return node


def _extend(children):
    chains = st.lists(children, min_size=1, max_size=3).map(lambda items: Chain(tuple(items)))
    return st.one_of(
        chains.map(Group),
        st.builds(Repeat, children.map(_postfixable), st.one_of(st.integers(0, 3), st.sampled_from(["N", "M"]))),
        children.map(lambda node: Optional(_postfixable(node, optional=True))),
    )


ASTS = st.lists(st.recursive(WORDS, _extend, max_leaves=12), min_size=1, max_size=4).map(
    lambda items: Chain(tuple(items))
)


def product_formula(node, env) -> int:
    if isinstance(node, Chain):
        return sum(product_formula(i, env) for i in node.items)
    if isinstance(node, Layer):
        return 1
    if isinstance(node, Group):
        return product_formula(node.body, env)
    if isinstance(node, Repeat):
        return (env[node.times] if isinstance(node.times, str) else node.times) * product_formula(node.body, env)
    return product_formula(node.body, env)


@settings(max_examples=80, deadline=None)
@given(ASTS, st.integers(0, 3), st.integers(0, 3))
def test_print_then_parse_is_the_identity_and_counts_follow_the_product_formula(ast, n, m):
    text = format_pattern(ast)
    assert parse(text) == ast
    env = {"N": n, "M": m}
    names = pattern.variable_names(ast)
    defines = [f"{k}={v}" for k, v in env.items() if k in names]
    source = from_text(text, input="8x8x3", defines=defines, settings=["CONV(f=4)", "FC(3)"])
    assert pattern.layer_count(source.ast, env) == product_formula(ast, env)
    assert len(graph.build(source.spec()).nodes) - 1 == product_formula(ast, env)
