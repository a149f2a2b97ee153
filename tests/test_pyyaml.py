"""cnncalc.pyyaml imports PyYAML with its module-level patterns compiled on first use: the same yaml.

A fresh interpreter (one subprocess, ~0.1 s) imports yaml through it and drives every path against
patterns compiled the ordinary way; the rest runs in this process on the pieces themselves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from cnncalc import pyyaml
from cnncalc.patterns import LazyPattern

ROOT = Path(__file__).resolve().parent.parent

FRESH = textwrap.dedent(r"""
    import re, sys
    real = re.compile
    assert "yaml" not in sys.modules
    from cnncalc.patterns import LazyPattern
    from cnncalc.pyyaml import yaml
    import yaml.constructor, yaml.reader, yaml.resolver
    assert re.compile is real, "re.compile is given back"
    # nothing compiled yet: the reader's big class and the timestamps wait for a use
    assert type(yaml.reader.Reader.NON_PRINTABLE) is LazyPattern
    assert type(yaml.constructor.SafeConstructor.timestamp_regexp) is LazyPattern
    lazy = [p for resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.values() for _, p in resolvers]
    assert lazy and all(type(p) is LazyPattern for p in lazy)
    # modules imported later compile as usual
    import fractions, email.utils
    assert type(re.compile("x")) is re.Pattern

    text = "a: 1\nb: [1.5, yes, ~, 2001-12-14, 0x1f, '3']\nc: {d: !!str 4}\n"
    expected = {"a": 1, "b": [1.5, True, None, __import__("datetime").date(2001, 12, 14), 31, "3"], "c": {"d": "4"}}
    assert yaml.load(text, Loader=yaml.SafeLoader) == expected          # the pure-Python reader and resolver
    assert yaml.load(text, Loader=yaml.CSafeLoader) == expected         # libyaml's parser, Python's resolver
    assert yaml.safe_load(yaml.safe_dump(expected)) == expected          # the dumper resolves implicit tags too
    try:
        yaml.load("a: \x07\n", Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as error:
        assert error.position == 3 and error.character == 7, error
    else:
        raise AssertionError("the non-printable character passed")
    pattern = yaml.reader.Reader.NON_PRINTABLE
    assert pattern.pattern == pattern.compiled().pattern and "search" in vars(pattern)
    from cnncalc.yamlsource import load
    assert load("input: 8x8x3\nlayers: [relu]\n").plain() == {"input": "8x8x3", "layers": ["relu"]}
    print("ok")
""")


def test_a_fresh_import_defers_the_patterns_and_every_yaml_path_works():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", FRESH], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_only_yaml_modules_get_lazy_patterns():
    yaml_module = {"__name__": "yaml.resolver", "compile": pyyaml._compile_for_yaml}
    other_module = {"__name__": "fractions", "compile": pyyaml._compile_for_yaml}
    assert type(eval("compile('a+', 2)", yaml_module)) is LazyPattern
    assert type(eval("compile('a+', 2)", other_module)) is re.Pattern
    already = re.compile("b")
    assert eval("compile(already)", {**yaml_module, "already": already}) is already


def test_importing_again_gives_the_same_module_and_leaves_re_alone():
    before = re.compile
    assert pyyaml.import_yaml() is sys.modules["yaml"] is pyyaml.yaml
    assert re.compile is before
