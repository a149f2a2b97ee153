"""Whatever the text, the pipeline and the CLI either succeed or fail with a located cnncalc error:
never another exception, never a hang (hypothesis' deadline bounds each input)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import analyze_text
from cnncalc.report import Options, build
from tests.fuzzing import hostile_texts, mutated_patterns, mutated_specs, random_specs

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
