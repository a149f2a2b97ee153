"""cnncalc/__main__.py: the entry point answers --version without loading the command line."""

from __future__ import annotations

import subprocess
import sys

from cnncalc import __version__

ROOT = __file__.rsplit("/tests/", 1)[0]


def _run(*args: str, code: str = "") -> subprocess.CompletedProcess:
    script = ("import sys, runpy; sys.argv = ['cnncalc', *%r]\n"
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
    done = _run("analyze", "specs/lenet5.yaml", "-f", "json", code="import gc; print(gc.get_freeze_count() > 1000)")
    assert done.stdout.split()[-1] == "True"
