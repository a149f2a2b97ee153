"""cnncalc/layers/__init__.py and base.Registry: the kind registry imports a kind's module when one of its
words is first looked up; its table of words (cnncalc/layers/words.py) is generated from the registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc import layers
from cnncalc.layers import KINDS, MODULES, kinds, words_source
from cnncalc.layers.base import LayerKind, Registry

ROOT = Path(__file__).resolve().parent.parent


def test_the_table_of_words_is_up_to_date():
    """cnncalc/layers/words.py is `python -m cnncalc.layers`'s output (regenerate it so after adding a kind)."""
    assert (ROOT / "cnncalc" / "layers" / "words.py").read_text(encoding="utf-8") == words_source()


def test_the_table_of_words_does_not_depend_on_what_a_process_imported_first():
    """A run (or a test suite) imports kinds as their words are used: the table is still MODULES' order."""
    code = ("import cnncalc.layers.pool, cnncalc.layers.norm, cnncalc.layers.activations\n"
            "from cnncalc.layers import words_source\n"
            f"assert words_source() == open({str(ROOT / 'cnncalc' / 'layers' / 'words.py')!r}, encoding='utf-8').read()")
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{code}"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_every_word_is_its_kinds_in_registration_order():
    every = kinds()
    modules = [type(kind).__module__.rpartition(".")[2] for kind in every]
    assert sorted(set(modules), key=modules.index) == list(MODULES)  # module after module, as registered
    assert list(KINDS) == [word for kind in every for word in (kind.name, *kind.aliases)]
    assert len(KINDS) == len(list(KINDS)) and all(KINDS[word].name == KINDS[KINDS[word].name].name for word in KINDS)
    assert layers.CONSTRUCTS == tuple(kind.name for kind in layers.construct_kinds()) == ("concat", "add", "multiply")


def _fresh(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{code}\n"
                           "print(' '.join(sorted(m for m in sys.modules if m.startswith('cnncalc.layers.'))))"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


KIND_MODULES = {f"cnncalc.layers.{module}" for module in MODULES}


def test_a_lookup_imports_the_kinds_module_only():
    loaded = _fresh("from cnncalc.layers import KINDS\nassert 'conv_transpose' in KINDS and len(sorted(KINDS)) > 50\n"
                    "assert 'nope' not in KINDS and KINDS.get('nope') is None\nKINDS['deconv']")
    assert KIND_MODULES & set(loaded) == {"cnncalc.layers.conv", "cnncalc.layers.conv_transpose"}  # and its import
    assert KIND_MODULES <= set(_fresh("from cnncalc.layers import kinds\nkinds()"))


def test_a_registry_looks_up_imports_and_refuses_as_a_mapping():
    registry = Registry({"conv": "conv"})
    assert "conv" in registry and list(registry) == ["conv"] and not registry.loaded("conv")
    with pytest.raises(KeyError):
        registry["relu"]  # noqa: B018
    kind = type("Made", (LayerKind,), {"name": "made"})()
    registry.add("made", kind)  # a kind registered beyond the table (a test's, a plugin's) is a word too
    assert registry["made"] is kind and list(registry) == ["conv", "made"] and len(registry) == 2
    assert registry.loaded("made") and registry.get("made") is kind and registry.get("relu") is None
