"""`cnncalc lint`: check specs in CI, editors and pre-commit. Rules live in cnncalc/lint/rules/."""

from cnncalc.lint.engine import FileResult, lint_text
from cnncalc.lint.options import LintOptions
from cnncalc.lint.rules import RULES, find

__all__ = ["RULES", "FileResult", "LintOptions", "find", "lint_text"]
