"""Whatever the text, the pipeline and the CLI either succeed or fail with a located cnncalc error:
never another exception, never a hang (hypothesis' deadline bounds each input)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import analyze_text
from cnncalc.report import Options, build
from tests.fuzzing import (PATH_SHAPES, construct_nesting_specs, control_character_specs, hostile_texts,
                           issue19_texts, multi_error_items, mutated_patterns, mutated_specs, random_specs,
                           selector_words, surrogate_specs)  # noqa: F401

FUZZ = settings(max_examples=150, deadline=60_000, suppress_health_check=list(HealthCheck))


def survives(text: str) -> None:
    try:
        analysis = analyze_text(text, "fuzz.yaml", "strict")
    except CnnCalcError as error:
        assert error.loc.path == "fuzz.yaml"
        assert error.message and error.code.startswith("CNN")
        return
    for diagnostic in analysis.diagnostics:
        assert diagnostic.loc.line >= 1, diagnostic
    if analysis.complete:
        build(analysis, Options(batch=3)).to_dict()


@FUZZ
@given(mutated_specs())
def test_mutated_specs(text):
    survives(text)


@FUZZ
@given(random_specs)
def test_random_specs(text):
    survives(text)


@FUZZ
@given(mutated_patterns())
def test_mutated_patterns(text):
    survives(text)


@settings(max_examples=60, deadline=60_000, suppress_health_check=list(HealthCheck))
@given(hostile_texts)
def test_hostile_texts(text):
    survives(text)


@settings(max_examples=40, deadline=60_000, suppress_health_check=list(HealthCheck))
@given(st.one_of(mutated_specs(), random_specs))
def test_cli_never_shows_a_traceback(cli, text):
    result = cli("analyze", "-", "--format", "json", input=text)
    assert result.exit_code in (0, 1, 2)
    assert "Traceback" not in result.output
    if result.exit_code:
        assert result.stderr.startswith("<stdin>"), result.stderr


# 200,000 layers (a repeat of doubled blocks) take seconds; the deadline is for hangs, on a shared CI machine
@settings(max_examples=60, deadline=60_000, suppress_health_check=list(HealthCheck))
@given(issue19_texts)
def test_issue19_shapes_of_hostile_input(text):
    survives(text)


@settings(max_examples=30, deadline=20_000, suppress_health_check=list(HealthCheck))
@given(control_character_specs())
def test_names_with_control_characters_never_reach_the_output_raw(text):
    import io

    from rich.console import Console

    from cnncalc.diagnostics import Diagnostic
    from cnncalc.render import table
    from cnncalc.render.diagnostics import full
    from cnncalc.render.safe import UNSAFE

    analysis = analyze_text(text, "fuzz.yaml", "strict")
    shown = [full(d, text) for d in analysis.diagnostics]
    if analysis.complete:
        out = io.StringIO()
        table.render(build(analysis, Options()), Console(file=out, width=200, highlight=False))
        shown.append(out.getvalue())
    for block in shown:
        assert not any(UNSAFE.search(line) for line in block.split("\n")), repr(block)
    assert isinstance(Diagnostic, type)


# ---------------------------------------------------------------------------------------------
# issue #19, round two


@settings(max_examples=40, deadline=20_000, suppress_health_check=list(HealthCheck))
@given(st.one_of(surrogate_specs(), construct_nesting_specs()))
def test_surrogates_and_nesting_through_blocks_end_in_an_answer_or_a_located_error(text):
    survives(text)


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(surrogate_specs(), st.sampled_from(["ascii", "latin-1", "utf-8", "cp1252"]),
       st.sampled_from(["analyze", "lint", "expand"]))
def test_lone_surrogates_reach_any_console_as_escapes(tmp_path_factory, text, encoding, command):
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path_factory.mktemp("s") / "m.yaml"
    path.write_text(text)
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "cnncalc", command, str(path)], capture_output=True, cwd=root,
                            env={**os.environ, "PYTHONPATH": str(root), "PYTHONIOENCODING": encoding}, timeout=60)
    stderr = result.stderr.decode(encoding)
    assert result.returncode in (0, 1), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr and "UnicodeEncodeError" not in stderr
    result.stdout.decode(encoding)  # everything written is in the console's encoding


@settings(max_examples=40, deadline=20_000, suppress_health_check=list(HealthCheck))
@given(multi_error_items)
def test_lint_finds_each_bad_item_of_a_file(items):
    from cnncalc.lint.engine import lint_text
    from cnncalc.pipeline import parse
    from tests.fuzzing import BAD_ITEMS, items_spec

    found = [(d.loc.line, d.code) for d in lint_text(items_spec(items), "fuzz.yaml").diagnostics if d.severity == "error"]
    expected = []
    for line, item in enumerate(items, start=3):
        if item in BAD_ITEMS:
            try:
                parse(items_spec([item]), "alone.yaml")
            except CnnCalcError as alone:
                expected.append((line, alone.code))
    assert found == expected


@settings(max_examples=80, deadline=20_000, suppress_health_check=list(HealthCheck))
@given(st.lists(selector_words, min_size=1, max_size=4))
def test_selectors_in_comments_are_known_or_warned_about(words):
    from cnncalc.lint import selectors
    from cnncalc.lint.engine import lint_text
    from cnncalc.lint.options import matches

    words = [w for w in words if "," not in w]
    spec = f"input: 8x8x3\nlayers:\n  - relu  # cnncalc: ignore[{', '.join(words)}]\n"
    reported = [d.message.split("names no rule: ", 1)[1][1:-1] for d in lint_text(spec, "fuzz.yaml").diagnostics]
    unknown = [w.strip() for w in words if w.strip() and not selectors.known(w)]
    # a word that covers CNN006 itself (`*`, `CNN`, `CNN0`) silences the warning about its neighbours
    silenced = any(w.strip() == "*" or matches(w, "CNN006", "unknown-rule-in-comment") for w in words)
    assert reported == ([] if silenced else unknown)


@settings(max_examples=12, deadline=20_000, suppress_health_check=list(HealthCheck))
@given(st.lists(selector_words, min_size=1, max_size=3), st.sampled_from(["--select", "--ignore"]))
def test_selectors_on_the_command_line_are_known_or_refused_never_silently_empty(cli, words, option):
    from cnncalc.lint import selectors

    words = [w for w in words if "," not in w]
    result = cli("lint", "--format", "concise", option, ",".join(words), "--pattern", "INPUT[8x8x3] -> RELU")
    if any(w.strip() and not selectors.known(w) for w in words):
        assert result.exit_code == 2 and "names no rule [CNN004]" in result.stderr
    else:
        assert result.exit_code in (0, 1) and "Traceback" not in result.output


@settings(max_examples=30, deadline=20_000, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(PATH_SHAPES), st.sampled_from([".yaml", ".yml", ""]))
def test_paths_that_are_no_regular_files_are_read_errors_without_waiting(tmp_path_factory, shape, suffix):
    import os

    from cnncalc import pipeline
    from cnncalc.lint.discover import expand_one

    folder = tmp_path_factory.mktemp("p")
    path = folder / f"spec{suffix}"
    if shape == "fifo":
        os.mkfifo(path)
    elif shape == "directory":
        path.mkdir()
    elif shape == "dangling link":
        os.symlink("nowhere", path)
    elif shape == "link loop":
        os.symlink(f"other{suffix}", path)
        os.symlink(path.name, folder / f"other{suffix}")
    elif shape == "self link":
        os.symlink(path.name, path)
    elif shape == "device":
        path = type(path)("/dev/null")
    elif shape == "empty file":
        path.write_text("")
    elif shape == "regular":
        path.write_text("input: 8x8x3\nlayers: [relu]\n")
    try:
        analysis = pipeline.analyze_text(pipeline.read_text(str(path)), str(path))
        assert shape == "regular" and analysis.ok
    except CnnCalcError as error:
        assert shape != "regular" and error.loc.path == str(path) and error.code in ("CNN001", "CNN100", "CNN101", "CNN105")
    if shape != "device":
        for found in expand_one(str(folder)):  # a folder search finds the same problems, never hangs
            assert isinstance(found, (str, CnnCalcError))
