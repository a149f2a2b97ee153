"""Issue #19: hostile inputs. Each must end in a located error or a correct answer: no traceback,
no "internal error", no hang past 10 s, no runaway memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnncalc import graph, pipeline
from cnncalc.errors import CnnCalcError, LimitError

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, input: str | None = None, env: dict | None = None, timeout: float = 30,
            preexec_fn=None, encoding: str | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "cnncalc", *args], input=input, capture_output=True, text=True,
                          env=environment, timeout=timeout, cwd=ROOT, preexec_fn=preexec_fn, encoding=encoding)


def no_crash(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr


def doubling_blocks(levels: int, distinct: bool = True, leaf: str = "[relu]") -> str:
    """Block i uses block i-1 twice (with different arguments when `distinct`): 2^levels layers."""
    lines = ["name: doubling", "input: 8x8x3", "blocks:", "  b0:", "    params: [x]", f"    layers: {leaf}"]
    for i in range(1, levels + 1):
        first, second = ("'$x * 2'", "'$x * 2 + 1'") if distinct else ("$x", "$x")
        lines += [f"  b{i}:", "    params: [x]", "    layers:",
                  f"      - b{i - 1}: {{x: {first}}}", f"      - b{i - 1}: {{x: {second}}}"]
    lines += ["layers:", f"  - b{levels}: {{x: 1}}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# 1. blocks that double at every level


@pytest.mark.parametrize("distinct", [True, False])
def test_doubling_blocks_stop_at_a_limit_while_expanding(distinct):
    started = time.monotonic()
    with pytest.raises(LimitError) as caught:
        graph.build(pipeline.parse(doubling_blocks(20, distinct), "doubling.yaml"))
    assert time.monotonic() - started < 10
    error = caught.value
    assert error.code == "CNN003" and error.loc.path == "doubling.yaml" and error.loc.line > 0
    assert ("10,000" if distinct else "1,000,000") in error.message


@pytest.mark.parametrize("distinct", [True, False])
def test_doubling_blocks_of_empty_blocks_stop_too(distinct):
    # a use of an empty block counts as one layer: every later walk visits it
    started = time.monotonic()
    with pytest.raises(LimitError):
        pipeline.parse(doubling_blocks(22, distinct, leaf="[]"), "doubling.yaml")
    assert time.monotonic() - started < 10


def test_doubling_blocks_under_the_limits_still_expand():
    model = graph.build(pipeline.parse(doubling_blocks(10), "doubling.yaml"))
    assert len(model.nodes) == 1 + 2**10


def test_a_repeat_of_a_large_block_is_refused_while_expanding():
    text = doubling_blocks(10, distinct=False) + "  - repeat: {times: 1000, layers: [b10: {x: 1}]}\n"
    with pytest.raises(LimitError) as caught:
        pipeline.parse(text, "r.yaml")
    assert caught.value.loc.line == text.count("\n") and "1,000,000" in caught.value.message


def test_doubling_blocks_on_the_command_line(tmp_path):
    path = tmp_path / "doubling.yaml"
    path.write_text(doubling_blocks(20))
    result = run_cli("analyze", str(path), timeout=20)
    no_crash(result)
    assert result.returncode == 1 and "[CNN003]" in result.stderr and f"{path}:" in result.stderr


# ---------------------------------------------------------------------------------------------
# 2. block arguments that square each other


def squaring_blocks(levels: int) -> str:
    power = "*".join(["$x"] * 40)
    lines = ["name: squares", "input: 8x8x3", "blocks:", "  b0:", "    params: [x]",
             "    layers: [{conv: {filters: $x, kernel: 1}}]"]
    for i in range(1, levels + 1):
        lines += [f"  b{i}:", "    params: [x]", "    layers:", f"      - b{i - 1}: {{x: '{power}'}}"]
    lines += ["layers:", f"  - b{levels}: {{x: 99}}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_block_expressions_are_bounded_while_computed(levels):
    with pytest.raises(CnnCalcError) as caught:
        pipeline.parse(squaring_blocks(levels), "squares.yaml")
    error = caught.value
    assert error.code == "CNN003" and error.loc.line > 0
    assert len(str(error)) < 400 and "10^18" in error.message


def test_block_expressions_at_the_bound_are_computed():
    from cnncalc import blocks
    from cnncalc.errors import Location
    from cnncalc.yamlsource import YNode

    loc = Location("<t>", 1, 1)
    args = {"x": YNode(10**9, loc, str(10**9))}
    assert blocks.expression("$x * $x", args, loc) == 10**18
    with pytest.raises(LimitError):
        blocks.expression("$x * $x + 1", args, loc)
    with pytest.raises(LimitError):
        blocks.expression("-$x * $x - 1", args, loc)
    with pytest.raises(LimitError):
        blocks.expression("$x * 1000000000000000000000 // $x", args, loc)


def test_squaring_blocks_on_the_command_line(tmp_path):
    path = tmp_path / "squares.yaml"
    path.write_text(squaring_blocks(3))
    result = run_cli("analyze", str(path))
    no_crash(result)
    assert result.returncode == 1 and "[CNN003]" in result.stderr and len(result.stderr) < 2000


# ---------------------------------------------------------------------------------------------
# 3. nesting


def nested_blocks(levels: int, outer: str = "residual") -> str:
    lines = ["name: deep", "input: 8x8x3", "blocks:", "  b0:", "    layers: [relu]"]
    for i in range(1, levels + 1):
        lines += [f"  b{i}:", f"    layers: [b{i - 1}]"]
    lines += ["layers:", f"  - {outer}: [b{levels}]"]
    return "\n".join(lines) + "\n"


def test_nesting_beyond_the_limit_is_a_located_error():
    text = nested_blocks(300)
    with pytest.raises(LimitError) as caught:
        pipeline.parse(text, "deep.yaml")
    error = caught.value
    assert error.code == "CNN003" and "100" in error.message
    assert error.loc.line > 0 and error.loc.path == "deep.yaml"
    with pytest.raises(LimitError):
        pipeline.parse(nested_blocks(99), "deep.yaml")


def test_nesting_at_the_limit_is_analysed_by_every_command(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(nested_blocks(98))  # 99 uses in a residual: 100 levels
    for command in ("analyze", "expand", "lint", "rf"):
        result = run_cli(command, str(path))
        no_crash(result)
        assert result.returncode == 0, (command, result.stderr)


def test_nesting_too_deep_on_the_command_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(nested_blocks(300))
    result = run_cli("analyze", str(path))
    no_crash(result)
    assert result.returncode == 1 and "[CNN003]" in result.stderr and f"{path}:" in result.stderr
    assert "nests too deeply to analyse" not in result.stderr


# ---------------------------------------------------------------------------------------------
# 4, 5. pools against PyTorch: which inputs it refuses


def _pool_text(mode: str, spatial: list[int], kernel: int, stride: int, padding: int, dilation: int,
               ceil: bool) -> str:
    names = {1: ["length"], 2: ["height", "width"], 3: ["depth", "height", "width"]}[len(spatial)]
    axes = ", ".join(f"{name}: {size}" for name, size in zip(names, spatial))
    return (f"input: {{channels: 2, {axes}}}\nlayers:\n  - pool: {{kernel: {kernel}, stride: {stride}, "
            f"padding: {padding}, dilation: {dilation}, mode: {mode}, ceil: {str(ceil).lower()}}}\n")


def _cnncalc_pool(text: str):
    analysis = pipeline.analyze_text(text, "pool.yaml", "pytorch")
    errors = [d for d in analysis.diagnostics if d.severity == "error"]
    if errors:
        return errors[0]
    return tuple(analysis.results[-1].inference.output.spatial)


def _torch_pool(mode: str, spatial: list[int], kernel: int, stride: int, padding: int, dilation: int, ceil: bool):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    x = torch.zeros((1, 2, *spatial))
    try:
        if mode == "max":
            pool = (functional.max_pool1d, functional.max_pool2d, functional.max_pool3d)[len(spatial) - 1]
            return tuple(pool(x, kernel, stride, padding, dilation, ceil_mode=ceil).shape[2:])
        pool = (functional.avg_pool1d, functional.avg_pool2d, functional.avg_pool3d)[len(spatial) - 1]
        return tuple(pool(x, kernel, stride, padding, ceil_mode=ceil).shape[2:])
    except RuntimeError as error:
        return str(error)


def test_pytorch_convention_refuses_a_3d_average_pool_on_an_unpadded_input_smaller_than_the_window():
    text = _pool_text("avg", [2, 4, 4], 3, 1, 1, 1, False)
    assert "smaller than kernel size" in _torch_pool("avg", [2, 4, 4], 3, 1, 1, 1, False)
    found = _cnncalc_pool(text)
    assert not isinstance(found, tuple), found
    assert found.code == "CNN202" and found.loc.line == 3 and "unpadded" in found.message
    # strict (the textbook) compares the padded input, as before
    strict = pipeline.analyze_text(text, "pool.yaml", "strict")
    assert not [d for d in strict.diagnostics if d.severity == "error"]


from hypothesis import given, settings, strategies as st  # noqa: E402


@st.composite
def pools(draw):
    mode = draw(st.sampled_from(["max", "avg"]))
    rank = draw(st.integers(1, 3))
    kernel = draw(st.integers(1, 5))
    return (mode, draw(st.lists(st.integers(1, 7), min_size=rank, max_size=rank)), kernel, draw(st.integers(1, 3)),
            draw(st.integers(0, kernel // 2)), 1 if mode == "avg" else draw(st.integers(1, 2)), draw(st.booleans()))


@settings(max_examples=300)
@given(pools())
def test_pytorch_convention_accepts_and_refuses_pools_as_pytorch_does(pool):
    expected = _torch_pool(*pool)
    found = _cnncalc_pool(_pool_text(*pool))
    if isinstance(expected, tuple):
        assert found == expected, (pool, found)
    else:
        assert not isinstance(found, tuple), (pool, expected, found)


@pytest.mark.parametrize("spatial", [[2], [2, 3], [2, 2, 2]])
@pytest.mark.parametrize("convention", ["strict", "pytorch", "onnx", "caffe"])
def test_a_ceil_mode_pool_larger_than_its_padded_input_keeps_one_window_as_in_pytorch(spatial, convention):
    text = _pool_text("max", spatial, 5, 2, 1, 1, True)
    analysis = pipeline.analyze_text(text, "pool.yaml", convention)
    assert not [d for d in analysis.diagnostics if d.severity == "error"]
    assert tuple(analysis.results[-1].inference.output.spatial) == _torch_pool("max", spatial, 5, 2, 1, 1, True)


def test_the_documented_window_rule_names_the_ceil_mode_exception():
    from cnncalc.lint.rules import reported

    readme = (ROOT / "README.md").read_text()
    assert "except a ceil-mode pool" in readme
    assert "except a ceil-mode pool" in (ROOT / "docs" / "lint.md").read_text()
    rule = next(r for r in reported.RULES if r.code == "CNN202")
    assert "ceil-mode" in rule.what


# ---------------------------------------------------------------------------------------------
# 6, 7. numbers too long for a pattern or a binding

NINES_31 = "9" * 31


@pytest.mark.parametrize("text", [f"N=2..{NINES_31}", f"N={NINES_31}..{NINES_31}", f"N={NINES_31}",
                                  f"N=1,2..{NINES_31}"])
def test_a_binding_with_a_number_over_30_digits_is_a_located_error(text):
    from cnncalc.errors import UsageError
    from cnncalc.pattern.bindings import parse_define

    with pytest.raises(UsageError) as caught:
        parse_define(text, 3)
    assert caught.value.loc.path == "-D #3" and "30 digits" in caught.value.message


def test_a_binding_with_a_long_upper_bound_is_refused_on_the_command_line():
    result = run_cli("analyze", "--pattern", "INPUT[8x8x3] -> [RELU]*N", "-D", f"N=2..{NINES_31}")
    no_crash(result)
    assert result.returncode == 2 and "-D #1" in result.stderr and "30 digits" in result.stderr


@pytest.mark.parametrize("count", ["9" * 40, "99999999999", "100001"])
def test_a_repeat_count_too_large_is_one_error_with_one_status(count):
    result = run_cli("analyze", "--pattern", f"INPUT[8x8x3] -> [RELU]*{count}")
    no_crash(result)
    assert result.returncode == 1 and "[CNN115]" in result.stderr
    assert "is larger than the limit of 100,000" in result.stderr


# ---------------------------------------------------------------------------------------------
# 8. paths and names written into a spec's comments

INJECTED = "x\n  - conv: {filters: 7, kernel: 1}\n#.yaml"


@pytest.mark.parametrize("breaker", ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c"])
def test_expand_escapes_a_path_that_would_inject_a_layer(tmp_path, breaker):
    from cnncalc.render.expansion import to_yaml
    from cnncalc.yamlsource import load

    path = str(tmp_path / INJECTED.replace("\n", breaker))
    model = graph.build(pipeline.parse("name: m\ninput: 8x8x3\nlayers:\n  - relu\n", path))
    written = to_yaml(model, f"Expanded from {path}\nwith N=2")
    again = graph.build(pipeline.parse(written, "again.yaml"))
    assert [n.type for n in again.nodes] == ["input", "relu"]
    assert all(line.startswith(("#", "name:", "input:", "layers:", "  - relu  # ")) for line in written.split("\n")
               if line), written
    assert load(written).value["layers"].value[0].value == "relu"


def test_expand_on_the_command_line_writes_the_same_layers_for_a_path_with_a_newline(tmp_path):
    path = tmp_path / INJECTED
    path.write_text("name: m\ninput: 8x8x3\nlayers:\n  - relu\n")
    result = run_cli("expand", str(path), "--format", "yaml")
    no_crash(result)
    assert result.returncode == 0
    again = graph.build(pipeline.parse(result.stdout, "again.yaml"))
    assert [n.type for n in again.nodes] == ["input", "relu"]
    assert "\\n  - conv" in result.stdout


# ---------------------------------------------------------------------------------------------
# 11. a [tool] table whose cnncalc is not a table


@pytest.mark.parametrize(("text", "line"), [("[tool]\ncnncalc = 5\n", 2), ("tool = 'x'\n", 1),
                                            ("[project]\nname = 'p'\n\n[tool]\ncnncalc = [1, 2]\n", 5),
                                            ("tool.cnncalc = 5\n", 1)])
def test_a_pyproject_whose_tool_cnncalc_is_not_a_table_is_a_located_usage_error(tmp_path, text, line):
    from cnncalc.errors import UsageError
    from cnncalc.lint import config

    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as caught:
        config.read(path)
    assert caught.value.code == "CNN004" and caught.value.loc.line == line and caught.value.loc.path == str(path)


def test_lint_with_a_tool_cnncalc_that_is_a_number(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool]\ncnncalc = 5\n")
    (tmp_path / "m.yaml").write_text("name: m\ninput: 8x8x3\nlayers:\n  - relu\n")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "cnncalc", "lint", "m.yaml"], capture_output=True, text=True,
                            cwd=tmp_path, env=environment, timeout=60)
    no_crash(result)
    assert result.returncode == 2 and "[CNN004]" in result.stderr and "pyproject.toml:2:" in result.stderr


# ---------------------------------------------------------------------------------------------
# 12. the default --max-memory respects RLIMIT_AS and cgroup limits


def test_the_cgroup_v2_and_v1_limits_minus_usage_are_read(tmp_path):
    from cnncalc import executor

    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "memory.max").write_text("1073741824\n")
    (v2 / "memory.current").write_text("73741824\n")
    assert executor.cgroup_memory_left(str(v2)) == 1_000_000_000
    (v2 / "memory.max").write_text("max\n")
    assert executor.cgroup_memory_left(str(v2)) is None
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("2000000000\n")
    (v1 / "memory" / "memory.usage_in_bytes").write_text("500000000\n")
    assert executor.cgroup_memory_left(str(v1)) == 1_500_000_000
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert executor.cgroup_memory_left(str(v1)) is None
    assert executor.cgroup_memory_left(str(tmp_path / "none")) is None


def test_the_default_max_memory_is_the_least_headroom(monkeypatch):
    from cnncalc import executor

    monkeypatch.setattr(executor, "available_memory", lambda: 16 * 1024**3)
    monkeypatch.setattr(executor, "address_space_left", lambda: 3 * 1024**3)
    monkeypatch.setattr(executor, "cgroup_memory_left", lambda: None)
    assert executor.default_max_memory() == int(3 * 1024**3 * executor.DEFAULT_MEMORY_SHARE)
    monkeypatch.setattr(executor, "cgroup_memory_left", lambda: 1024**3)
    assert executor.default_max_memory() == int(1024**3 * executor.DEFAULT_MEMORY_SHARE)
    monkeypatch.setattr(executor, "address_space_left", lambda: None)
    monkeypatch.setattr(executor, "cgroup_memory_left", lambda: None)
    assert executor.default_max_memory() == int(16 * 1024**3 * executor.DEFAULT_MEMORY_SHARE)


def _limit_address_space():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2_000_000 * 1024, 2_000_000 * 1024))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's")
def test_verify_under_an_address_space_limit_refuses_instead_of_running_out_of_memory():
    pytest.importorskip("numpy")
    result = run_cli("verify", "specs/vgg16.yaml", "--batch", "12", preexec_fn=_limit_address_space, timeout=120,
                     env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    no_crash(result)
    assert "MemoryError" not in result.stderr
    assert result.returncode == 1 and "[CNN600]" in result.stderr, result.stderr[-2000:]


# ---------------------------------------------------------------------------------------------
# 13. verify measures arrays, not its own bookkeeping


def test_a_long_chain_of_small_layers_verifies(tmp_path):
    pytest.importorskip("numpy")
    path = tmp_path / "relus.yaml"
    path.write_text("name: relus\ninput: 8x8x3\nlayers:\n  - repeat: {times: 400, layers: [relu]}\n")
    result = run_cli("verify", str(path), "--format", "json", timeout=120)
    no_crash(result)
    import json

    memory = json.loads(result.stdout)["memory"]
    assert result.returncode == 0, memory
    # numpy's allocator counts array buffers only (a few bytes off in all); tracemalloc, the
    # fallback, still counts ~110 B of Python objects a layer, far below the 256 KiB tolerance
    bound = 1024 if memory["measured_by"] == "numpy allocator" else 128 * 1024
    assert abs(memory["difference_bytes"]) < bound, memory


# ---------------------------------------------------------------------------------------------
# 9. control and bidi characters from a spec never reach a terminal or a CI log raw

HOSTILE = {"ESC": ("\\e", "\x1b"), "BEL": ("\\a", "\x07"), "NUL": ("\\0", "\x00"), "RLO": ("\\u202E", "\u202e"),
           "newline": ("\\n", "\n"), "CR": ("\\r", "\r"), "CSI": ("\\x9b", "\x9b")}


def _assert_clean(text: str, char: str) -> None:
    from cnncalc.render.safe import UNSAFE

    lines = text.split("\n")
    assert char not in text.replace("\n", "") or char == "\n", repr(text[:400])
    assert not any(UNSAFE.search(line) for line in lines), repr(text[:400])


@pytest.mark.parametrize("what", sorted(HOSTILE))
def test_names_with_control_characters_are_escaped_in_tables_and_diagnostics(tmp_path, what):
    escaped, char = HOSTILE[what]
    spec = (f'name: "model{escaped}x"\ninput: 8x8x3\nlayers:\n  - relu: {{name: "bad{escaped}name"}}\n'
            f'  - conv: {{filters: 4, kernel: 9, name: "c{escaped}c"}}\n')
    good = spec.split("  - conv")[0]
    path = tmp_path / "m.yaml"
    path.write_text(good)
    table = run_cli("analyze", str(path))
    no_crash(table)
    assert table.returncode == 0
    _assert_clean(table.stdout, char)
    assert "bad" + ("\\x1b" if what == "ESC" else "") in table.stdout
    # the table has one row per layer: no name splits a row
    rows = [line for line in table.stdout.split("\n") if "bad" in line]
    assert rows and all("name" in line for line in rows) and not any(line.startswith("name") for line in
                                                                       table.stdout.split("\n"))
    path.write_text(spec)
    for args in (("analyze", str(path)), ("lint", str(path)), ("lint", "--format", "concise", str(path)),
                 ("lint", "--format", "github", str(path))):
        result = run_cli(*args)
        no_crash(result)
        assert result.returncode == 1
        _assert_clean(result.stdout, char)
        _assert_clean(result.stderr, char)
    sarif = run_cli("lint", "--format", "sarif", str(path))
    import json

    assert json.loads(sarif.stdout)["runs"][0]["results"]


@pytest.mark.parametrize("what", sorted(set(HOSTILE) - {"NUL"}))
def test_a_path_with_control_characters_is_escaped_in_diagnostics_and_annotations(tmp_path, what):
    _, char = HOSTILE[what]
    path = tmp_path / f"a{char}b.yaml"
    path.write_text("input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 9}\n")
    for args in (("analyze", str(path)), ("lint", "--format", "github", str(path)), ("lint", str(path))):
        result = run_cli(*args)
        no_crash(result)
        assert result.returncode == 1
        _assert_clean(result.stdout, char)
        _assert_clean(result.stderr, char)


def test_github_annotations_escape_percent_and_line_breaks_after_control_characters():
    from cnncalc.diagnostics import Diagnostic
    from cnncalc.errors import Location, SpecError
    from cnncalc.render.lint import github_line

    error = SpecError("bad\x1b]0;pwned\x07 100%\nsecond", Location("p,a:th\n.yaml", 2, 3), hint="one\ntwo")
    line = github_line(Diagnostic.from_error(error))
    assert "\n" not in line and "\x1b" not in line and "\x07" not in line
    assert "100%25" in line and "\\x1b" in line and "%0Asecond" in line and "help: one%0Atwo" in line and "file=p%2Ca%3Ath\\n.yaml" in line


# ---------------------------------------------------------------------------------------------
# 10. a standard output that cannot encode the block characters


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
@pytest.mark.parametrize("command", ["analyze", "lint", "verify"])
def test_a_non_utf8_standard_output_gets_ascii_drawing(tmp_path, encoding, command):
    if command == "verify":
        pytest.importorskip("numpy")
    path = tmp_path / "m.yaml"
    path.write_text('name: "mod\u00e9l \u2603"\ninput: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 3, padding: 1, name: "c\u2603"}\n'
                    "  - relu\n  - pool: 2\n  - fc: 10\n")
    result = run_cli(command, str(path), env={"PYTHONIOENCODING": encoding}, encoding=encoding)
    no_crash(result)
    assert "UnicodeEncodeError" not in result.stderr and "PYTHONIOENCODING" not in result.stderr
    assert result.returncode == 0, result.stderr
    if command == "analyze":
        assert "#" in result.stdout and "\u2588" not in result.stdout
    if command != "lint":
        assert "c\\u2603" in result.stdout and "|" in result.stdout
        assert not any(0x2500 <= ord(c) <= 0x259F for c in result.stdout)  # no box drawing, no blocks
