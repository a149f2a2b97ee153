"""Every malformed spec ends with one located paragraph, a fix, a documented exit status, and never a
traceback. Each case: (spec text, exit status, code, line, column, words the message must contain)."""

from __future__ import annotations

import pytest

CASES = [
    # bad YAML: exit 2
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 6, kernel: 5\n", 2, "CNN002", 4, 1, "invalid YAML"),
    ("input: 32x32x3\nlayers: [relu\n", 2, "CNN002", 3, 1, "invalid YAML"),
    ("input: 32x32x3\n\tlayers:\n", 2, "CNN002", 2, 1, "invalid YAML"),
    ("a: &x 1\nb: *x\n", 2, "CNN005", 2, 4, "aliases"),
    ("input: !!python/object/apply:os.system [echo hi]\nlayers: []\n", 2, "CNN005", 1, 8, "!!python/object/apply"),
    # spec structure: exit 1
    ("", 1, "CNN101", 1, 1, "empty"),
    ("- relu\n", 1, "CNN101", 1, 1, "mapping"),
    ("input: 32x32x3\n", 1, "CNN105", 1, 1, "no 'layers'"),
    ("layers: [relu]\n", 1, "CNN105", 1, 1, "no 'input'"),
    ("input: 32x32x3\nlayer: [relu]\n", 1, "CNN102", 2, 1, "did you mean 'layers'"),
    ("input: 32x32x3\nlayers: relu\n", 1, "CNN101", 2, 9, "must be a list"),
    ("input: 32x32\nlayers: [relu]\n", 1, "CNN101", 1, 8, "HxWxC"),
    ("input: 0x32x3\nlayers: [relu]\n", 1, "CNN101", 1, 8, "input size"),
    ("input: {channels: 3, height: 32}\nlayers: [relu]\n", 1, "CNN101", 1, 8, "layout"),
    ("input: {channels: 3, heigth: 32, width: 32}\nlayers: [relu]\n", 1, "CNN102", 1, 22, "did you mean 'height'"),
    ("input: 32x32x3\nlayers:\n  - convv: {filters: 3, kernel: 3}\n", 1, "CNN104", 3, 5, "did you mean 'conv'"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 3, kernal: 3}\n", 1, "CNN102", 3, 24, "did you mean 'kernel'"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 3}\n", 1, "CNN105", 3, 5, "needs 'kernel'"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: -3, kernel: 3}\n", 1, "CNN101", 3, 21, "positive"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 0, kernel: 3}\n", 1, "CNN101", 3, 21, "positive"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 8, kernel: 3, stride: 0}\n", 1, "CNN101", 3, 43, "positive"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 2.5, kernel: 3}\n", 1, "CNN101", 3, 21, "whole number"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: many, kernel: 3}\n", 1, "CNN101", 3, 21, "whole number"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 8, kernel: 3, padding: full}\n", 1, "CNN101", 3, 44, "padding"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 8, kernel: 3, bias: maybe}\n", 1, "CNN101", 3, 41, "true or false"),
    ("input: 32x32x3\nlayers:\n  - pool: {kernel: 2, mode: median}\n", 1, "CNN101", 3, 29, "max, avg"),
    ("input: 32x32x3\nlayers:\n  - dropout: 1.5\n", 1, "CNN101", 3, 14, "[0, 1)"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 8, kernel: 3}\n    relu: {}\n", 1, "CNN101", 4, 5, "exactly one key"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 8, kernel: 3}\n  - conv: {filters: 8, kernel: 3, filters: 4}\n",
     1, "CNN103", 4, 35, "duplicate key"),
    ("input: 32x32x3\nlayers:\n  - conv: 8\n", 1, "CNN101", 3, 11, "mapping of settings"),
    ("input: 32x32x3\nlayers:\n  - 42\n", 1, "CNN101", 3, 5, "a name or a mapping"),
    ("input: 32x32x3\nlayers:\n  - repeat: {times: 2}\n", 1, "CNN105", 3, 5, "needs 'layers'"),
    ("input: 32x32x3\nlayers:\n  - repeat: {times: -1, layers: [relu]}\n", 1, "CNN101", 3, 21, "at least 0"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 4, kernel: 3, name: a}\n  - conv: {filters: 4, kernel: 3, name: a}\n",
     1, "CNN106", 4, 5, "named 'a'"),
    # shapes: exit 1
    ("input: 10x10x3\nlayers:\n  - conv: {filters: 4, kernel: 3, stride: 2}\n", 1, "CNN201", 3, 5,
     "(10 - 3 + 2*0)/2 + 1 = 4.5"),
    ("input: 4x4x3\nlayers:\n  - conv: {filters: 4, kernel: 5}\n", 1, "CNN202", 3, 5, "larger than the padded input"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 4, kernel: 3, groups: 2}\n", 1, "CNN203", 3, 5, "groups=2"),
    ("input: 32x32x3\nlayers:\n  - fc: 10\n  - conv: {filters: 4, kernel: 3}\n", 1, "CNN206", 4, 5, "vector"),
    ("input: 32x32x3\nlayers:\n  - pool: {kernel: 2, padding: 2}\n", 1, "CNN205", 3, 5, "half the window"),
    ("input: 32x32x3\nlayers:\n  - conv: {filters: 4, kernel: [3, 3, 3]}\n", 1, "CNN206", 3, 5, "3 values"),
    ("input: 32x32x3\nlayers:\n  - conv1d: {filters: 4, kernel: 3}\n", 1, "CNN206", 3, 5, "1 spatial axes"),
    ("input: 10x10x3\nlayers:\n  - conv: {filters: 4, kernel: 3, stride: 2, padding: same}\n", 0, None, 0, 0, ""),
]


@pytest.mark.parametrize("text, status, code, line, col, words", CASES)
def test_malformed_spec(cli, tmp_path, text, status, code, line, col, words):
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = cli("analyze", str(spec))
    assert result.exit_code == status, result.output
    if status == 0:
        return
    assert "Traceback" not in result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{spec}:{line}:{col}: error: "), first
    assert first.endswith(f"[{code}]"), first
    assert words in result.stderr
    assert "help:" in result.stderr or code in ("CNN002",), result.stderr


def test_missing_file_exits_2(cli):
    result = cli("analyze", "no/such/spec.yaml")
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_directory_exits_2(cli, tmp_path):
    assert cli("analyze", str(tmp_path)).exit_code == 2


def test_not_utf8_exits_2(cli, tmp_path):
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes("name: caf\xe9\n".encode("latin-1"))
    result = cli("analyze", str(spec))
    assert result.exit_code == 2 and "UTF-8" in result.stderr


def test_oversized_file_is_refused(cli, tmp_path):
    spec = tmp_path / "big.yaml"
    spec.write_text("# " + "x" * (1024 * 1024 + 10) + "\n")
    result = cli("analyze", str(spec))
    assert result.exit_code == 2 and "CNN005" in result.stderr


def test_bad_option_value_exits_2(cli):
    assert cli("analyze", "specs/lenet5.yaml", "--batch", "0").exit_code == 2
    assert cli("analyze", "specs/lenet5.yaml", "--format", "xml").exit_code == 2


def test_caret_points_at_the_offending_column(cli, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("input: 32x32x3\nlayers:\n  - conv: {filters: 3, kernal: 3}\n")
    lines = cli("analyze", str(spec)).stderr.splitlines()
    source, caret = lines[1], lines[2]
    assert source.endswith("  - conv: {filters: 3, kernal: 3}")
    assert caret.index("^") == source.index("kernal")


TOP_LEVEL = ("name", "description", "convention", "input", "defaults", "layers", "blocks", "pattern", "vars")


@pytest.mark.parametrize("text, key, near", [
    ('name: x\nvars: {N: 1}\npatern: "INPUT[8x8x3] -> [RELU]*N -> FC-10"\n', "patern", "pattern"),
    ('name: x\npatern: "INPUT[8x8x3] -> [RELU]*N -> FC-10"\nvars: {N: 1}\n', "patern", "pattern"),
    ('input: 8x8x3\nvars: {N: 1}\nlayrs: [relu]\n', "layrs", "layers"),
    ('patern: "INPUT[8x8x3] -> FC-10"\nvar: {N: 1}\n', "patern", "pattern"),
])
def test_an_unknown_top_level_key_is_the_one_reported_with_every_allowed_key(cli, tmp_path, text, key, near):
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = cli("analyze", str(spec))
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    line = 1 + text.splitlines().index(next(row for row in text.splitlines() if row.startswith(key + ":")))
    assert first == f"{spec}:{line}:1: error: unknown key '{key}' in the spec [CNN102]"
    hint = next(row for row in result.stderr.splitlines() if "help:" in row)
    assert f"did you mean '{near}'?" in hint
    assert all(f" {word}" in hint for word in TOP_LEVEL), hint


def test_vars_without_a_pattern_says_what_it_needs(cli, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("input: 8x8x3\nvars: {N: 1}\nlayers: [relu]\n")
    result = cli("analyze", str(spec))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{spec}:2:1: error: 'vars' belongs to a spec with `pattern:` [CNN102]"


def test_the_spec_reader_knows_every_key_of_the_pattern_spec_reader():
    from cnncalc import spec
    from cnncalc.pattern.source import PATTERN_KEYS

    assert set(spec.ALL_TOP_LEVEL_KEYS) == set(spec.TOP_LEVEL_KEYS) | set(PATTERN_KEYS)
