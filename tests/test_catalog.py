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
    # the block library the zoo's specs use (cnncalc/library)
    library = sorted(p.name for p in (ROOT / "cnncalc" / "library").glob("*.yaml"))
    assert sorted(Path(n).name for n in names if n.startswith("cnncalc/library/") and n.endswith(".yaml")) == library


@pytest.mark.slow
def test_an_installed_cnncalc_finds_the_zoo_from_any_folder(tmp_path):
    """After a plain (non-editable) `pip install .`, from a folder outside the repository: analyze by
    zoo name, `cnncalc zoo`, and the Python API."""
    import site
    import venv

    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    packages = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                              capture_output=True, text=True).stdout.strip()
    Path(packages, "deps.pth").write_text(site.getsitepackages()[0] + "\n")  # typer, rich, PyYAML of this run
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args):
        return subprocess.run([str(python), *args], cwd=elsewhere, capture_output=True, text=True, timeout=120)

    analysed = run("-m", "cnncalc", "analyze", "vgg16")
    assert analysed.returncode == 0 and "138,357,544" in analysed.stdout and "zoo" in analysed.stderr
    assert "resnet50" in run("-m", "cnncalc", "zoo").stdout
    api = run("-c", "import cnncalc; print(cnncalc.analyze('resnet50').totals.params)")
    assert api.stdout.strip() == "25557032", api.stderr
