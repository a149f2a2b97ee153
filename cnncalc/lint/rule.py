"""The lint rule type (it lives in cnncalc/rule.py, where the layer kinds can use it too)."""

from cnncalc.rule import Rule, clean

__all__ = ["Rule", "clean"]
