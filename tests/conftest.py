from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from cnncalc import report
from cnncalc.cli import app
from cnncalc.pipeline import analyze_text

# the torch oracle helpers (tests/torch_nets.py) import as a plain module
sys.path.insert(0, str(Path(__file__).parent))


# CI shares two cores with whatever else runs: time bounds belong to the fuzz tests (explicit
# deadlines there), not to every property test's default 200 ms.
settings.register_profile("cnncalc", deadline=None)
settings.load_profile("cnncalc")


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
