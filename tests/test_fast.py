"""cnncalc/commands/fast.py: `cnncalc analyze SPEC [--format F]` run without typer gives what the app
gives: the same values to the analysis, the same output, errors and exit statuses; every other
command line is left to the app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.commands import analyze_run, fast

ROOT = __file__.rsplit("/tests/", 1)[0]

RECOGNISED = [
    ["analyze", "specs/lenet5.yaml"],
    ["analyze", "-"],
    ["analyze", "specs/lenet5.yaml", "--format", "json"],
    ["analyze", "--format", "csv", "specs/lenet5.yaml"],
    ["analyze", "-f", "markdown", "specs/lenet5.yaml"],
    ["analyze", "specs/lenet5.yaml", "--format=table"],
]


@pytest.mark.parametrize("args", [
    [], ["--version"], ["lint", "specs/lenet5.yaml"], ["--debug", "analyze", "specs/lenet5.yaml"], ["analyze"],
    ["analyze", "a.yaml", "b.yaml"], ["analyze", "a.yaml", "--batch", "2"], ["analyze", "a.yaml", "--format", "JSON"],
    ["analyze", "a.yaml", "--format"], ["analyze", "a.yaml", "-f", "json", "-f", "csv"], ["analyze", "--", "a.yaml"],
    ["analyze", "--help"], ["analyze", "-fjson", "a.yaml"], ["analyze", "--formats=json", "a.yaml"],
])
def test_other_command_lines_are_the_apps(args):
    assert fast.arguments(args) is None


#: the analysis's own defaults, what fast.py leaves in place of the options it does not parse
DEFAULTS = dict(analyze_run.analyze.__kwdefaults__)


def _given(args: list[str], monkeypatch, fast_args: list[str] | None = None) -> list[tuple]:
    """The spec and the values the analysis gets from the app for `args` and from fast.py for `fast_args`."""
    calls = []
    monkeypatch.setattr(analyze_run, "analyze", lambda run, spec=None, **given: calls.append((spec, DEFAULTS | given)))
    from cnncalc.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert fast.run(fast_args or args)
    return calls


@pytest.mark.parametrize("args", RECOGNISED)
def test_the_analysis_gets_the_values_the_app_gives_it(args, monkeypatch):
    through_app, here = _given(args, monkeypatch)
    assert here == through_app


def test_the_comparison_sees_an_option_the_app_parses(monkeypatch):
    through_app, here = _given(["analyze", "specs/lenet5.yaml", "--batch", "2"], monkeypatch,
                               ["analyze", "specs/lenet5.yaml"])
    assert through_app[1]["batch"] == 2 and here != through_app


def _both(args: list[str], stdin: str | None = None) -> list[subprocess.CompletedProcess]:
    """The command line run by `python -m cnncalc` (fast.py) and by the app (cnncalc.cli.main)."""
    through_app = f"import sys; from cnncalc.cli import main; sys.argv = ['cnncalc', *{args!r}]; main()"
    fast_path = f"import sys, runpy; sys.argv = ['cnncalc', *{args!r}]; runpy.run_module('cnncalc', run_name='__main__')"
    return [subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, input=stdin,
                           timeout=120) for code in (fast_path, through_app)]


@pytest.mark.parametrize("args, stdin", [
    (["analyze", "specs/resnet18.yaml"], None),
    (["analyze", "-f", "json", "-"], "input: 8x8x3\nlayers: [conv: {filters: 4, kernel: 3}, relu]\n"),
    (["analyze", "-"], "input: 8x8x3\nlayers: [conv: {filters: 4, kernel: 9}]\n"),  # invalid: exit 1
    (["analyze", "no/such/file.yaml"], None),  # exit 2
    (["analyze", "-"], "input: [\n"),  # a YAML error, located
])
def test_output_errors_and_status_are_the_apps(args, stdin):
    fast_run, app_run = _both(args, stdin)
    assert (fast_run.returncode, fast_run.stdout, fast_run.stderr) == (app_run.returncode, app_run.stdout,
                                                                          app_run.stderr)


def _modules_of_a_run(args: list[str], bare: bool = False) -> tuple[set[str], str]:
    """The modules a fresh `cnncalc ARGS` has imported when it ends, and its output. `bare`: as an installed
    wheel runs, without site's .pth files (an editable install's finder imports pathlib itself): `python
    -S` with site-packages put on the path by hand."""
    import yaml

    packages = str(Path(yaml.__file__).resolve().parent.parent)
    code = (f"import sys; sys.path[:0] = [{ROOT!r}, {packages!r}]; sys.argv = ['cnncalc', *{args!r}]\n"
            "from cnncalc.__main__ import run\n"  # `python -m cnncalc` without its immediate end: the code below runs
            "try:\n    run(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, *(["-S"] if bare else []), "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    return set(done.stderr.splitlines()[-1].split()), done.stdout


def test_the_fast_path_imports_neither_typer_nor_click():
    modules, output = _modules_of_a_run(["analyze", "specs/lenet5.yaml", "-f", "json"])
    assert not {m.split(".")[0] for m in modules} & {"typer", "click", "numpy"} and '"name"' in output


@pytest.mark.parametrize("spec", ["specs/vgg16.yaml", "specs/resnet50.yaml"])
@pytest.mark.parametrize("format", ["json", "table"])
def test_the_analyze_path_imports_no_dataclasses_typing_nor_rich(spec, format):
    """cnncalc/records.py is self-contained (the stdlib's dataclasses would bring inspect, dis, tokenize,
    ast), block arithmetic is read without _ast (block_expressions.read), TYPE_CHECKING is each module's
    own, and a table on a pipe is drawn without rich (cnncalc/render/plain.py)."""
    modules, output = _modules_of_a_run(["analyze", spec, "-f", format])
    assert not modules & {"dataclasses", "inspect", "dis", "tokenize", "ast", "_ast", "typing"}
    assert not [name for name in modules if name.split(".")[0] == "rich"] and "conv1" in output


@pytest.mark.parametrize(("spec", "kinds"), [("specs/vgg16.yaml", {"conv", "dense", "elementwise", "pool"}),
                                             ("specs/resnet50.yaml", {"conv", "dense", "elementwise", "merge", "norm",
                                                                      "pool"})])
def test_a_run_imports_the_kinds_its_spec_uses(spec, kinds):
    """The kind registry imports a kind's module when the spec names one of its words (layers/base.Registry)."""
    from cnncalc.layers import MODULES

    modules, output = _modules_of_a_run(["analyze", spec, "-f", "json"])
    assert {module for module in MODULES if f"cnncalc.layers.{module}" in modules} == kinds and '"name"' in output


def test_a_spec_without_library_blocks_starts_without_pathlib():
    modules, output = _modules_of_a_run(["analyze", "specs/vgg16.yaml"], bare=True)
    assert "pathlib" not in modules and "conv1 " in output
    assert not [name for name in modules if name.startswith("cnncalc.library.")]


def test_a_spec_of_library_blocks_reads_their_generated_module_only():
    """No pathlib, no glob, no YAML parse of the library's files: the used file's literals
    (cnncalc/library/compiled_resnet.py); no _ast either (cnncalc/block_expressions.py's plain arithmetic)."""
    modules, output = _modules_of_a_run(["analyze", "specs/resnet50.yaml"], bare=True)
    assert "pathlib" not in modules and "layer1" in output
    assert "_ast" not in modules  # its arithmetic (`4 * $width`) is computed without Python's parser
    assert {name for name in modules if name.startswith("cnncalc.library.")} == {"cnncalc.library.compiled_resnet"}


@pytest.mark.parametrize("fails", [False, True])
def test_the_collector_is_off_for_the_run_and_back_on_after(monkeypatch, fails):
    import gc

    seen = []

    def analyze(run, spec=None, **given):
        seen.append(gc.isenabled())
        if fails:
            raise SystemExit(1)

    monkeypatch.setattr(analyze_run, "analyze", analyze)
    assert gc.isenabled()
    try:
        fast.run(["analyze", "specs/lenet5.yaml"])
    except SystemExit:
        pass
    assert seen == [False] and gc.isenabled()

