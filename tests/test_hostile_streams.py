"""Issue #19, round two: standard streams (closed, full, not regular files, undecodable names), the
RecursionError fallback, and the last numbers, documents and lines of the issue. Each ends in a located
error or a correct answer: no traceback, no "internal error", no hang past 10 s."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnncalc import pipeline
from cnncalc.errors import CnnCalcError, LimitError
from tests.test_hostile import ROOT, nested_blocks, no_crash, run_cli


# ---------------------------------------------------------------------------------------------
# 14. standard streams: closed, full, undecodable, not regular files


def _closed_stdin():
    os.close(0)


def test_a_closed_standard_input_is_a_located_read_error():
    result = subprocess.run([sys.executable, "-m", "cnncalc", "analyze", "-"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=30,
                            stdin=subprocess.DEVNULL, preexec_fn=_closed_stdin)
    no_crash(result)
    assert result.returncode == 2 and "<stdin>: error: standard input is closed [CNN001]" in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="Linux's /dev/full")
@pytest.mark.parametrize("args", [("analyze", "specs/vgg16.yaml"), ("analyze", "specs/vgg16.yaml", "--format", "json"),
                                  ("lint", "specs/vgg16.yaml"), ("rules",), ("--help",)])
def test_a_full_disk_is_an_output_error_with_its_own_status(args):
    from cnncalc.errors import EXIT_OUTPUT

    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "cnncalc", *args], stdout=full, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=30)
    no_crash(result)
    assert result.returncode == EXIT_OUTPUT == 74
    assert "cnncalc: error: cannot write the output: No space left on device" in result.stderr
    assert "Exception ignored" not in result.stderr


def _closed_stdout():
    os.close(1)


def test_a_closed_standard_output_is_an_output_error():
    result = subprocess.run([sys.executable, "-m", "cnncalc", "analyze", "specs/vgg16.yaml"], stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=30,
                            preexec_fn=_closed_stdout)
    no_crash(result)
    assert result.returncode == 74 and "standard output is closed" in result.stderr


def test_a_report_written_to_a_file_needs_no_standard_output(tmp_path):
    output = tmp_path / "r.html"
    result = subprocess.run([sys.executable, "-m", "cnncalc", "report", "specs/vgg16.yaml", "-o", str(output)],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                            timeout=30, preexec_fn=_closed_stdout)
    no_crash(result)
    assert result.returncode == 0 and output.stat().st_size > 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
@pytest.mark.parametrize("command", ["analyze", "lint", "expand"])
def test_a_fifo_as_the_spec_is_refused_without_waiting_for_a_writer(tmp_path, command):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    started = time.monotonic()
    result = run_cli(command, str(fifo), timeout=10)
    no_crash(result)
    assert time.monotonic() - started < 10
    shown = result.stdout + result.stderr  # lint reports it as the file's result, on standard output
    assert result.returncode == 2 and f"{fifo} is a FIFO, not a regular file [CNN001]" in shown
    assert "cnncalc analyze - <" in shown


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="a POSIX device")
def test_a_device_as_the_spec_is_refused():
    with pytest.raises(CnnCalcError) as caught:
        pipeline.read_text("/dev/zero")
    assert caught.value.code == "CNN001" and "is a device" in caught.value.message


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses undecodable file names")
@pytest.mark.parametrize("args", [("analyze",), ("lint",), ("lint", "--format", "sarif"), ("lint", "--format", "json"),
                                  ("lint", "--format", "github"), ("analyze", "--format", "json")])
def test_an_undecodable_file_name_and_lone_surrogates_in_names_are_printed_as_escapes(tmp_path, args):
    path = os.path.join(os.fsencode(tmp_path), b"m\xff.yaml")
    with open(path, "w") as handle:
        handle.write('name: "m\\udc80"\ninput: 8x8x3\nlayers:\n  - relu: {name: "a\\ud800b"}\n'
                     '  - conv: {filters: 2, kernel: 9, name: "c\\udc80"}\n')
    result = subprocess.run([sys.executable, "-m", "cnncalc", *args, path], capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=30)
    stdout, stderr = result.stdout.decode("utf-8"), result.stderr.decode("utf-8")  # both valid UTF-8
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert result.returncode == 1
    assert "udcff" in stdout + stderr or "%FF" in stdout


def test_a_recursion_error_the_guards_miss_still_names_the_file_and_the_limits(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(nested_blocks(40))
    code = ("import sys; sys.setrecursionlimit(150); sys.argv = ['cnncalc', 'analyze', sys.argv[1]]\n"
            "from cnncalc.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=30)
    no_crash(result)
    assert result.returncode == 1 and f"{path}: error: the input nests too deeply to analyse" in result.stderr
    assert "YAML 64 levels" in result.stderr and "100 levels" in result.stderr and "[CNN003]" in result.stderr


# ---------------------------------------------------------------------------------------------
# 15. the remaining numbers, documents and lines of the issue


@pytest.mark.parametrize("where", ["file", "--input"])
def test_a_5000_digit_input_size_is_a_located_limit_error(tmp_path, where):
    digits = "9" * 5000
    path = tmp_path / "big.yaml"
    path.write_text(f"input: {digits}x32x3\nlayers: [relu]\n" if where == "file" else "input: 8x8x3\nlayers: [relu]\n")
    args = ("analyze", str(path)) if where == "file" else ("analyze", str(path), "-i", f"{digits}x32x3")
    result = run_cli(*args)
    no_crash(result)
    assert result.returncode == 1 and "[CNN003]" in result.stderr and "more than 100 digits" in result.stderr
    assert len(result.stderr) < 1000  # the line is shown cut around the caret


@pytest.mark.parametrize("text", ["---\n", "--- \n...\n", "---\n---\ninput: 8x8x3\nlayers: [relu]\n"])
@pytest.mark.parametrize("command", ["analyze", "lint"])
def test_an_empty_document_is_a_located_error_in_analyze_and_lint(text, command):
    result = run_cli(command, "-", input=text)
    no_crash(result)
    assert result.returncode in (1, 2) and "<stdin>:" in result.stdout + result.stderr


def test_a_long_line_is_shown_cut_around_the_caret():
    from cnncalc.diagnostics import Diagnostic
    from cnncalc.errors import Location, SpecError
    from cnncalc.render.diagnostics import MAX_EXCERPT, full

    items = ",".join(["relu"] * 40_000)
    text = f"input: 8x8x3\nlayers: [{items}, bogus, relu]\n"
    col = text.splitlines()[1].index("bogus") + 1
    shown = full(Diagnostic.from_error(SpecError("unknown layer type 'bogus'", Location("m.yaml", 2, col, 2, col + 5))),
                 text)
    source, caret = shown.split("\n")[1:3]
    assert len(source) < MAX_EXCERPT + 20 and source.startswith("   2 | ...") and "bogus, relu]" in source
    assert source[caret.index("^"):caret.index("^") + 5] == "bogus" and caret.count("^") == 5


def test_a_flow_list_of_a_megabyte_under_an_unknown_key_is_not_echoed(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text("input: 8x8x3\nlayers: [relu]\nbogus: [" + ",".join(["1"] * 100_000) + "]\n")
    result = run_cli("analyze", str(path), timeout=60)
    no_crash(result)
    assert result.returncode == 1 and "[CNN102]" in result.stderr and len(result.stderr) < 1000


def test_a_sweep_is_bounded_by_the_layers_of_all_its_variants(monkeypatch):
    from cnncalc import conventions, pattern, report, sweep

    source = pattern.from_text("INPUT[8x8x3] -> [[RELU]*N]*M", defines=["N=1..100", "M=1..100"])
    monkeypatch.setattr(sweep, "MAX_SWEEP_LAYERS", 2_000)
    started = time.monotonic()
    with pytest.raises(LimitError) as caught:
        sweep.run(source, conventions.DEFAULT, report.Options())
    assert time.monotonic() - started < 10
    assert caught.value.code == "CNN123" and caught.value.loc.path == "-D #1" and "2,000 layers" in caught.value.message
    assert sweep.MAX_SWEEP_LAYERS * 10 <= 25_000_000  # the 25 million layers are far above the limit
    monkeypatch.setattr(sweep, "MAX_SWEEP_LAYERS", 100_000)
    small = pattern.from_text("INPUT[8x8x3] -> [[RELU]*N]*M", defines=["N=1..3", "M=1..3"])
    assert len(sweep.run(small, conventions.DEFAULT, report.Options())) == 9


@pytest.mark.parametrize("args", [("lint",), ("fit", "--memory", "1TiB", "--convention", "pytorch"),
                                  ("analyze", "--convention", "pytorch")])
def test_a_convolution_of_a_million_channels_each_way_does_not_hang_lint_or_fit(tmp_path, args):
    path = tmp_path / "wide.yaml"
    path.write_text("input: 4x4x1000000\nlayers:\n  - conv: {filters: 1000000, kernel: 1}\n")
    result = run_cli(args[0], str(path), *args[1:], timeout=60)
    no_crash(result)
    assert result.returncode in (0, 1), result.stderr
