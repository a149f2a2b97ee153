from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from cnncalc import report
from cnncalc.cli import app
from cnncalc.pipeline import analyze_text


def analyze_yaml(text: str, convention: str = "strict", **options) -> report.Report:
    """Analyse a spec given as text; fail the test if it is invalid."""
    analysis = analyze_text(textwrap.dedent(text), "test.yaml", convention)
    errors = [d for d in analysis.diagnostics if d.severity == "error"]
    assert not errors, errors
    return report.build(analysis, report.Options(**options))


def diagnostics_of(text: str, convention: str = "strict"):
    return analyze_text(textwrap.dedent(text), "test.yaml", convention).diagnostics


def row(rep: report.Report, name: str) -> report.Row:
    return next(r for r in rep.rows if r.name == name)


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke
