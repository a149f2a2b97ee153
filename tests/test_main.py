"""cnncalc/__main__.py: the entry point answers --version without loading the command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cnncalc import __version__

ROOT = __file__.rsplit("/tests/", 1)[0]


def _run(*args: str, code: str = "", before: str = "") -> subprocess.CompletedProcess:
    """`python -m cnncalc ARGS` in a fresh process, `before` run first and `code` after (where the run lets
    the process go on: not after the fast path's analyze, which ends it)."""
    script = (before + "\nimport sys, runpy; sys.argv = ['cnncalc', *%r]\n"
              "try:\n    runpy.run_module('cnncalc', run_name='__main__')\nexcept SystemExit:\n    pass\n" % (args,)) + code
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_version_alone_loads_neither_typer_nor_the_analysis_stack():
    done = _run("--version", code="print(sorted(m for m in ('typer', 'rich', 'yaml', 'cnncalc.cli', 'cnncalc.report')"
                                   " if m in sys.modules))")
    assert done.stdout.splitlines() == [f"cnncalc {__version__}", "[]"]


def test_version_with_debug_is_the_fast_path_too():
    assert _run("--debug", "--version", code="print('typer' in sys.modules)").stdout.split() == \
        ["cnncalc", __version__, "False"]


def test_version_before_a_command_is_still_clicks():
    # click answers `--version analyze` (eager option) and imports typer on the way: the slow path
    done = _run("--version", "analyze", code="print('typer' in sys.modules)")
    assert done.stdout.split() == ["cnncalc", __version__, "True"]


def test_a_closed_pipe_after_version_exits_as_the_command_line_does():
    done = subprocess.run(f"{sys.executable} -m cnncalc --version | true; echo ${{PIPESTATUS[0]}}", shell=True,
                          executable="/bin/bash", cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() in ("0", "141")  # 0 when `true` exits after the write, 141 (cnncalc's) when before


def test_the_objects_of_a_run_are_left_out_of_the_last_collection():
    # --batch is typer's (the app's path, which lets the process end normally)
    done = _run("analyze", "specs/lenet5.yaml", "-f", "json", "--batch", "2",
                code="import gc; print(gc.get_freeze_count() > 1000)")
    assert done.stdout.split()[-1] == "True"


#: an object whose teardown says so: printed when the interpreter frees the module globals as it ends
_NOISY = "class Noisy:\n    def __del__(self):\n        print('torn down')\nkept = Noisy()\n"


def test_the_fast_path_ends_the_process_as_soon_as_its_output_is_written():
    done = _run("analyze", "specs/lenet5.yaml", "-f", "json", before=_NOISY, code="print('went on')")
    assert done.returncode == 0 and done.stdout.rstrip().endswith("}")  # the whole report, then nothing
    assert "torn down" not in done.stdout and "went on" not in done.stdout


def test_the_fast_path_keeps_the_status_of_a_failed_run():
    done = _run("analyze", "no/such/spec.yaml", before=_NOISY)
    assert done.returncode == 2 and "CNN001" in done.stderr and "torn down" not in done.stdout


@pytest.mark.parametrize("watcher", ["import atexit; atexit.register(lambda: print('atexit ran'))",
                                     "import sys; sys.settrace(lambda *a: None)",
                                     "import sys; sys.setprofile(lambda *a: None)"])
def test_the_fast_path_ends_normally_for_an_atexit_handler_a_tracer_or_a_profiler(watcher):
    done = _run("analyze", "specs/lenet5.yaml", "-f", "json", before=watcher, code="print('went on')")
    assert done.returncode == 0 and "went on" in done.stdout  # its SystemExit(0) reached the caller
    assert ("atexit ran" in done.stdout) == ("atexit" in watcher)


def test_the_fast_path_reports_output_that_cannot_be_written_at_its_end():
    done = subprocess.run(f"{sys.executable} -m cnncalc analyze specs/lenet5.yaml > /dev/full", shell=True, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 74 and "cannot write the output" in done.stderr


def test_a_profiler_of_the_command_still_writes_its_results():
    done = subprocess.run([sys.executable, "-m", "cProfile", "-s", "ncalls", "-m", "cnncalc", "analyze",
                           "specs/lenet5.yaml", "-f", "json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "function calls" in done.stdout
