from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from hypothesis import settings
from typer.testing import CliRunner

from cnncalc import cpu, report
from cnncalc.cli import app
from cnncalc.pipeline import analyze_text

# The machine varies (AMD with AVX2, Intel with AVX-512, 2 to many cores). The exact allocator
# tests run on oneDNN's AVX2 kernels, which every such host has and whose rules are measured,
# at a measured thread count; both are set here, before anything imports torch, so that torch and
# cnncalc's `auto` CPU read the same values. tests/test_cpu_native.py checks the host's own
# kernels, uncapped, in a subprocess against the documented bound.
NATIVE_ISA = cpu.detect_isa(cap="all")
if cpu.FAMILIES.get(NATIVE_ISA) == "avx512_core" and not os.environ.get("ONEDNN_MAX_CPU_ISA"):
    os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX2"
if not os.environ.get("OMP_NUM_THREADS"):
    os.environ["OMP_NUM_THREADS"] = str(min(cpu.detect_threads(), max(cpu.MEASURED_THREADS)))

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
