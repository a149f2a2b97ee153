"""Safe, positioned YAML: what a spec's author meant, and nothing an attacker can use."""

from __future__ import annotations

import re
import time

import pytest
import yaml


from cnncalc.errors import ParseError, SpecError, UnsafeYamlError
from cnncalc.yamlsource import MAX_DEPTH, load


@pytest.mark.parametrize(
    "text, value",
    [
        ("1e3", 1000.0), ("1e-3", 0.001), ("010", 10), ("0x10", 16), ("1_000", 1000), ("2:30", "2:30"),
        ("yes", True), ("No", False), ("on", True), ("off", False), ("~", None), ("null", None),
        ("'yes'", "yes"), ('"1e3"', "1e3"), ("!!str 12", "12"), ("!!float 3", 3.0), ("same", "same"),
        (".inf", float("inf")), ("-7", -7), ("3.5", 3.5),
    ],
)
def test_scalars_mean_what_the_author_meant(text, value):
    assert load(f"key: {text}\n").value["key"].value == value


def test_every_value_keeps_its_position():
    root = load("name: x\nlayers:\n  - conv: {filters: 6, kernel: 5}\n", "spec.yaml")
    conv = root.value["layers"].value[0]
    assert str(conv.value["conv"].value["kernel"].loc) == "spec.yaml:3:32"
    assert conv.key_locs["conv"].line == 3 and conv.key_locs["conv"].col == 5


def test_python_tags_are_refused_not_run(tmp_path):
    marker = tmp_path / "ran"
    text = f"x: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(UnsafeYamlError):
        load(text)
    assert not marker.exists()


@pytest.mark.parametrize("tag", ["!custom 1", "!!binary aGk=", "!!set {a: null}", "!!python/name:os.system ''"])
def test_non_standard_tags_are_refused(tag):
    with pytest.raises(UnsafeYamlError):
        load(f"x: {tag}\n")


def test_alias_bomb_is_refused_fast():
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        levels.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]")
    start = time.perf_counter()
    with pytest.raises(UnsafeYamlError) as error:
        load("\n".join(levels) + "\n")
    assert time.perf_counter() - start < 1.0  # the bomb never expands: the first alias stops the load
    assert error.value.loc.line == 2


def test_deep_nesting_is_refused_not_a_recursion_error():
    with pytest.raises(UnsafeYamlError):
        load("x: " + "[" * 3000 + "]" * 3000 + "\n")
    load("x: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "\n")


def test_duplicate_keys_are_errors_not_silently_dropped():
    with pytest.raises(SpecError) as error:
        load("input: 1\nlayers: []\ninput: 2\n")
    assert error.value.code == "CNN103" and error.value.loc.line == 3


def test_control_characters_are_a_located_parse_error():
    with pytest.raises(ParseError) as error:
        load("name: a\nx: b\x00c\n")
    assert error.value.loc.line == 2


def test_crlf_and_bom():
    root = load("\ufeffa: 1\r\nb: [2, 3]\r\n")
    assert root.plain() == {"a": 1, "b": [2, 3]}
    assert root.value["b"].loc.line == 2


# ---------------------------------------------------------------------------------------------
# hostile scalars and documents (issue #19): located errors, never a crash


@pytest.mark.parametrize("text", ["filters: 0x_\n", "filters: !!int 0x_\n", "filters: -0x__\n"])
def test_a_hex_prefix_without_digits_is_no_number(text):
    try:
        node = load(text).value["filters"]
    except SpecError as error:
        assert error.loc.line == 1
        return
    assert isinstance(node.value, str)


@pytest.mark.parametrize("text", ["filters: " + "9" * 5000 + "\n", "filters: !!int " + "9" * 5000 + "\n",
                                  "rate: " + "1" * 400 + ".5\n", "filters: 0x" + "f" * 300 + "\n"])
def test_a_number_thousands_of_digits_long_is_a_located_limit_error(text):
    with pytest.raises(SpecError) as caught:
        load(text)
    column = text.index(":") + 3
    assert caught.value.code == "CNN003" and (caught.value.loc.line, caught.value.loc.col) == (1, column)


@pytest.mark.parametrize("text", ["---\n", "--- \n...\n", "", "# only a comment\n"])
def test_an_empty_document_is_an_empty_spec(text):
    with pytest.raises(SpecError, match="empty"):
        load(text)


def test_a_second_document_is_refused_where_it_starts():
    with pytest.raises(ParseError) as caught:
        load("---\n---\ninput: 8x8x3\nlayers: [relu]\n")
    assert caught.value.loc.line in (1, 2)


def test_libyaml_and_pure_python_read_the_same_nodes(monkeypatch):
    """The C parser is used where PyYAML has it; both give the same values and positions."""
    text = "input: {channels: 3, height: 32, width: 32}\nlayers:\n  - conv: {filters: 1e1, kernel: 3}\n" \
           "  - pool: !!int 2\n  - 'relu'\n"
    fast = load(text)
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    slow = load(text)
    assert fast == slow
    assert fast.value["layers"].value[0].value["conv"].value["filters"].loc == \
        slow.value["layers"].value[0].value["conv"].value["filters"].loc


# ---------------------------------------------------------------------------------------------
# the resolver is asked only where a refused tag can come out (yamlsource._Composer.scalar_tag)

from hypothesis import given, strategies as st  # noqa: E402
from yaml.nodes import ScalarNode  # noqa: E402
from yaml.resolver import Resolver  # noqa: E402

from cnncalc import yamlsource  # noqa: E402


def test_the_refused_implicit_tags_are_where_scalar_tag_expects_them():
    # a PyYAML whose resolvers tag otherwise must fail here, not change what specs mean
    refused = {first: sorted(tag.rsplit(":", 1)[1] for tag, _ in resolvers if tag not in yamlsource._STANDARD_TAGS)
               for first, resolvers in Resolver.yaml_implicit_resolvers.items()}
    refused = {first: tags for first, tags in refused.items() if tags}
    assert refused == {**{d: ["timestamp"] for d in "0123456789"}, "<": ["merge"], "=": ["value"],
                       **{c: ["yaml"] for c in "!&*"}}
    assert yamlsource._refusable_starts() == set(refused)


SCALARS = st.text(st.sampled_from("0123456789-:.+_ Tt<=!&*~xeEyYnNoO"), max_size=28) | st.sampled_from(
    ["2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2002-12-14", "<<", "=", "1-2",
     "12:30:00", "190:20:30", "0x1f", "0b101", "1_000", "6.8523015e+5", "-.inf", ".NaN", "~", "null", "yes"])


@given(SCALARS, st.booleans())
def test_a_scalar_is_refused_exactly_where_pyyaml_tags_it_otherwise(value, plain):
    implicit = (plain, not plain)
    resolved = Resolver().resolve(ScalarNode, value, implicit)
    tag = yamlsource._Composer("x").scalar_tag(value, implicit)
    assert (tag in yamlsource._STANDARD_TAGS) == (resolved in yamlsource._STANDARD_TAGS), (value, resolved, tag)
    if tag != yamlsource._PLAIN:
        assert tag == resolved


@pytest.mark.parametrize("text", ["x: 2001-12-14\n", "x: 2001-12-14 21:59:43.10 -5\n", "x: [1, 2002-01-02]\n"])
def test_a_timestamp_is_still_refused_as_a_tag(text):
    with pytest.raises(UnsafeYamlError, match="timestamp"):
        load(text)


def test_a_merge_key_is_still_no_plain_name():
    with pytest.raises(SpecError, match="plain names"):
        load("a: {b: 1}\nc:\n  <<: {d: 2}\n")


#: the patterns `_resolve_plain` read numbers with before its plain functions (`_is_int`, `_is_hex`, `_is_float`)
INT = re.compile(r"[-+]?(0|[1-9][0-9_]*|0[0-9_]+)$")
HEX = re.compile(r"[-+]?0x_*[0-9a-fA-F][0-9a-fA-F_]*$")
FLOAT = re.compile(r"[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?$")
NUMBERS = st.text(st.sampled_from("0123456789_+-.eExXaAfFiInNsS \n٣²１") | st.characters(), max_size=12) | st.sampled_from(
    [".inf", "-.INF", "+.inf", ".NaN", "1e3", "-1_0", "0x1F", "٣", "²", "-", "+", ".", "1.", ".5e-3", "yes", "Off",
     "12\n", "12\n\n", "0x_\n", "0x_1", "1_.5", "1._5", "1e", "1e+", ".e1", "_1", "+\n", "1.5e-3\n", "٣.٥"])


@given(NUMBERS)
def test_the_plain_functions_match_as_the_patterns_did(text):
    assert yamlsource._is_int(text) == bool(INT.match(text)), text
    assert yamlsource._is_hex(text) == bool(HEX.match(text)), text
    assert yamlsource._is_float(text) == bool(FLOAT.match(text)), text


def _resolved_by_the_patterns_alone(text: str):
    """`_resolve_plain` before its first-character shortcut: every pattern tried on every scalar."""
    lowered = text.lower()
    if lowered in yamlsource._NULLS:
        return None
    if lowered in yamlsource._BOOLS:
        return yamlsource._BOOLS[lowered]
    if INT.match(text):
        return int(text.replace("_", ""), 10)
    if HEX.match(text):
        return int(text.replace("_", ""), 16)
    if FLOAT.match(text):
        return float(text.replace("_", ""))
    return yamlsource._SPECIAL_FLOATS.get(lowered, text)


@given(NUMBERS)
def test_the_first_character_shortcut_resolves_as_every_pattern_would(text):
    expected = _resolved_by_the_patterns_alone(text)
    got = yamlsource._resolve_plain(text)
    assert got == expected or (got != got and expected != expected), (text, got, expected)
    assert type(got) is type(expected)


@given(st.text(st.sampled_from("0123456789_+-.eEx"), min_size=1, max_size=10) | st.sampled_from(
    ["0x1F", "0x_a", "1_000", "-1.5", "+.5", "6.8523015e+5", "1.0e-3", "-0", "0.", "1__2.5"]))
def test_where_pyyaml_reads_a_number_the_spec_reads_the_same_one(text):
    # PyYAML's resolver (YAML 1.1) and the spec's differ where the module docstring says (010 is ten, not
    # eight; 1e3 is a number; no base 60, no binary, no underscores after the point): elsewhere they agree
    tag = Resolver().resolve(ScalarNode, text, (True, False))
    ours = yamlsource._resolve_plain(text)
    body = text.lstrip("+-")
    octal = body[:1] == "0" and body[1:2] not in ("", ".", "x", "e", "E")  # 1.1's 010 is eight, 0b1 binary
    if tag.endswith((":int", ":float")) and isinstance(ours, (int, float)) and not octal:
        assert ours == yaml.safe_load(text), text
    if tag.endswith(":int") and not octal:
        assert type(ours) is int and ours == yaml.safe_load(text), text


def test_a_scalar_s_key_positions_are_one_shared_read_only_empty_dict():
    from cnncalc.yamlsource import NO_KEYS

    node = yamlsource.load("a: 1\n").value["a"]
    assert node.key_locs is NO_KEYS and node.key_locs == {} and {} == node.key_locs and not node.key_locs
    assert node == yamlsource.YNode(1, node.loc, "1", {})
    with pytest.raises(TypeError):
        node.key_locs["b"] = node.loc
    with pytest.raises(TypeError):
        node.key_locs.update(b=node.loc)


@pytest.mark.parametrize("data", [b"\xef\xbb\xbfab\xffc", b"ab\xffc", b"\xef\xbb\xbf", b"\xef\xbb", b"\xef\xbb\xbf\xef\xbb\xbfx",
                                  b"a\xef\xbb\xbfb", b"input: 8x8x3\n", b"\xef\xbb\xbfinput: 8x8x3\n\xc3"])
def test_decoding_is_the_utf_8_sig_codec_s(data):
    from cnncalc.errors import ReadError

    try:
        expected = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        with pytest.raises(ReadError, match=f"byte {exc.start}"):
            yamlsource.decode(data, "x.yaml")
    else:
        assert yamlsource.decode(data, "x.yaml") == expected


def test_make_node_makes_the_node_ynode_makes():
    from cnncalc.errors import Location
    from cnncalc.yamlsource import NO_KEYS, YNode, make_node

    loc = Location("a.yaml", 1, 2, 1, 5)
    assert make_node is not YNode  # the records module's classes have the plain twin's layout
    for args in [(1, loc, "1"), ({"k": YNode(2, loc)}, loc, "", {"k": loc}), ((), loc), (None, loc, "~", NO_KEYS)]:
        made, expected = make_node(*args), YNode(*args)
        assert type(made) is YNode and made == expected and repr(made) == repr(expected)
        assert made.key_locs is expected.key_locs or made.key_locs == expected.key_locs
        with pytest.raises(AttributeError):  # frozen (FrozenInstanceError is an AttributeError)
            made.value = 3
