"""cnncalc/lint/selectors.py: a selector that names no rule is refused on the command line and in
[tool.cnncalc] (exit 2, as ruff does), and is a CNN006 warning in a spec's ignore comment (issue #19)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.lint import selectors
from cnncalc.lint.engine import lint_text
from cnncalc.lint.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
VGG = str(ROOT / "specs" / "vgg16.yaml")
runner = CliRunner()


@pytest.mark.parametrize("word", ["CNN201", "cnn2", "CNN", "huge-first-fc", "*", *list(RULES)[:5]])
def test_codes_prefixes_and_names_are_known(word):
    assert selectors.known(word)


@pytest.mark.parametrize(("word", "meant"), [("CNN20l", "CNN201"), ("CNN3O3", "CNN303"), ("huge-first-fx", "huge-first-fc"),
                                             ("even-conv-kernal", "even-conv-kernel"), ("CNN2091", None)])
def test_unknown_selectors_and_the_nearest_rule(word, meant):
    assert not selectors.known(word)
    if meant is not None:
        assert selectors.nearest(word) == meant


def test_every_rule_is_its_own_nearest_match():
    for code, rule in RULES.items():
        assert selectors.nearest(code) == code and selectors.nearest(rule.name) == rule.name


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_a_typo_in_select_or_ignore_is_a_usage_error_with_did_you_mean(option):
    result = runner.invoke(app, ["lint", option, "CNN3,CNN20l", VGG])
    assert result.exit_code == 2
    assert f"{option}: 'CNN20l' names no rule [CNN004]" in result.stderr
    assert "did you mean CNN201?" in result.stderr
    assert "All checks passed" not in result.stdout


def test_a_typo_in_the_configuration_is_located_at_the_pyproject(tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.cnncalc]\nignore = ["CNN308", "huge-first-fx"]\n')
    result = runner.invoke(app, ["lint", "--config", str(config), VGG])
    assert result.exit_code == 2 and f"{config}: error: [tool.cnncalc] ignore: 'huge-first-fx'" in result.stderr
    assert "did you mean huge-first-fc?" in result.stderr


SPEC = ("input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 4, padding: 1}  # cnncalc: ignore[CNN30e, CNN303, "
        "even-conv-kernal]\n  # cnncalc: ignore-file[CNN9, CNN305]\n  - relu\n")


def test_unknown_codes_in_ignore_comments_are_warnings_at_their_column():
    found = lint_text(SPEC, "m.yaml").diagnostics
    line = SPEC.splitlines()[2]
    assert [(d.code, d.severity, d.loc.line, d.loc.col) for d in found] == [
        ("CNN006", "warning", 3, line.index("CNN30e") + 1), ("CNN006", "warning", 3, line.index("even-conv-") + 1),
        ("CNN006", "warning", 4, SPEC.splitlines()[3].index("CNN9") + 1)]
    assert "did you mean CNN303?" in found[0].hint and "did you mean even-conv-kernel?" in found[1].hint
    # the known codes still suppress (CNN303 on its line, CNN305 in the file)
    assert not {"CNN303", "CNN305"} & {d.code for d in found}


def test_the_warning_is_a_rule_like_any_other():
    result = runner.invoke(app, ["lint", "--format", "json", "--ignore", "unknown-rule-in-comment", "-"], input=SPEC)
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert RULES["CNN006"].severity == "warning"
    assert "CNN006" in runner.invoke(app, ["rules"]).stdout


def test_an_ignore_comment_without_codes_or_with_known_ones_is_silent():
    text = "input: 8x8x3\nlayers:\n  - conv: {filters: 4, kernel: 4}  # cnncalc: ignore\n  - relu  # cnncalc: ignore[cnn3, *]\n"
    assert lint_text(text, "m.yaml").diagnostics == ()
