"""Whatever the text, the pipeline and the CLI either succeed or fail with a located cnncalc error:
never another exception, never a hang (hypothesis' deadline bounds each input)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import analyze_text
from cnncalc.report import Options, build
from tests.fuzzing import (control_character_specs, hostile_texts, issue19_texts, mutated_patterns, mutated_specs,
                           random_specs)

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


@settings(max_examples=60, deadline=20_000, suppress_health_check=list(HealthCheck))
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
