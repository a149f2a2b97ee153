"""cnncalc/api.py: the documented examples run, and the report equals the command line's JSON."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

import cnncalc
from cnncalc import api

ROOT = Path(__file__).parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def test_the_docs_examples_run():
    failures, tried = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False,
                                       optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 10 and failures == 0


def test_the_module_examples_run():
    failures, tried = doctest.testmod(api, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 3 and failures == 0


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_to_dict_equals_the_cli_json(cli, path):
    result = cli("analyze", str(path), "-f", "json")
    assert result.exit_code == 0
    assert cnncalc.analyze(str(path)).to_dict() == json.loads(result.stdout)


def test_the_functions_stay_callable_after_the_modules_of_the_same_name_load():
    import cnncalc.fitting  # noqa: F401
    import cnncalc.verification  # noqa: F401

    assert callable(cnncalc.fit) and callable(cnncalc.verify)


def test_unknown_attributes_are_attribute_errors():
    with pytest.raises(AttributeError):
        cnncalc.nothing_here  # noqa: B018


def test_importing_cnncalc_imports_no_api():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import cnncalc, sys; print('cnncalc.api' in sys.modules)"],
                          capture_output=True, text=True)
    assert done.stdout.strip() == "False"
