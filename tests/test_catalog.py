"""cnncalc/catalog.py: the zoo installed with the package, found by name."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cnncalc import catalog

ROOT = Path(__file__).parent.parent
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))


def test_every_shipped_spec_is_in_the_zoo():
    assert list(catalog.names()) == SPECS


@pytest.mark.parametrize("given", ["vgg16", "vgg16.yaml"])
def test_a_bare_name_finds_the_zoo_file(given):
    assert catalog.find(given).read_text() == (ROOT / "specs" / "vgg16.yaml").read_text()


@pytest.mark.parametrize("given", ["vgg61", "specs/vgg16.yaml", "./vgg16", "../vgg16.yaml"])
def test_paths_and_unknown_names_are_not_zoo_names(given):
    assert catalog.find(given) is None


def test_entries_carry_title_and_source():
    resnet = next(e for e in catalog.entries() if e.name == "resnet50")
    assert resnet.title == "ResNet-50" and "He et al." in resnet.source and "arXiv:1512.03385" in resnet.links


@pytest.mark.slow
def test_a_built_wheel_carries_the_zoo_as_files(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                           str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(Path(n).stem for n in names if n.startswith("cnncalc/zoo/")) == SPECS
    assert "cnncalc/py.typed" in names
