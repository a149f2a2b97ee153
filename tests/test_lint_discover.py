"""cnncalc/lint/discover.py: what cannot be searched in a linted folder is a CNN001 result and exit 2,
never a silent skip (issue #19: an unreadable sub-folder, a symbolic link loop)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.errors import ReadError
from cnncalc.lint import discover

ROOT = Path(__file__).resolve().parent.parent
SPEC = (ROOT / "specs" / "lenet5.yaml").read_text()
runner = CliRunner()
posix = pytest.mark.skipif(not hasattr(os, "symlink") or os.name != "posix", reason="POSIX links and modes")


def tree(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a.yaml").write_text(SPEC)
    (tmp_path / "sub" / "b.yml").write_text(SPEC)
    (tmp_path / ".hidden" / "c.yaml").write_text(SPEC)
    (tmp_path / "notes.txt").write_text("x")
    return tmp_path


def test_a_folder_gives_its_specs_in_order_without_hidden_ones(tmp_path):
    root = tree(tmp_path)
    assert discover.expand_one(str(root)) == [str(root / "a.yaml"), str(root / "sub" / "b.yml")]


@posix
def test_symbolic_link_loops_and_dangling_spec_links_are_errors(tmp_path):
    root = tree(tmp_path)
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("self.yaml", root / "self.yaml")
    os.symlink("nowhere.yaml", root / "dangling.yaml")
    os.symlink("nowhere", root / "dangling-notes")  # not a spec's name: not meant to be linted
    os.symlink("..", root / "sub" / "up")  # a link to a folder is not followed: no endless walk
    found = discover.expand_one(str(root))
    errors = {Path(e.loc.path).name: e.message for e in found if isinstance(e, ReadError)}
    assert set(errors) == {"loop1", "loop2", "self.yaml", "dangling.yaml"}
    assert "symbolic link loop" in errors["self.yaml"] and "to nothing (nowhere.yaml)" in errors["dangling.yaml"]
    assert [f for f in found if isinstance(f, str)] == [str(root / "a.yaml"), str(root / "sub" / "b.yml")]
    result = runner.invoke(app, ["lint", "--format", "concise", str(root)])
    assert result.exit_code == 2 and "self.yaml is a symbolic link loop [CNN001]" in result.stdout
    assert "in 4 of 6 file(s)" in result.stdout


@posix
def test_a_looping_link_named_on_the_command_line_is_an_error(tmp_path):
    os.symlink("self.yaml", tmp_path / "self.yaml")
    result = runner.invoke(app, ["lint", str(tmp_path / "self.yaml")])
    assert result.exit_code == 2 and "is a symbolic link loop" in result.stdout


def test_an_unreadable_sub_folder_is_an_error(tmp_path, monkeypatch):
    root = tree(tmp_path)
    walk = os.walk

    def refusing(top, onerror=None, **kwargs):  # as os.walk reports a folder it may not list
        onerror(PermissionError(13, "Permission denied", str(root / "locked")))
        yield from walk(top, onerror=onerror, **kwargs)

    monkeypatch.setattr(discover.os, "walk", refusing)
    errors = [f for f in discover.expand_one(str(root)) if isinstance(f, ReadError)]
    assert [e.message for e in errors] == [f"cannot read the folder {root / 'locked'}: Permission denied"]
    result = runner.invoke(app, ["lint", str(root)])
    assert result.exit_code == 2 and "cannot read the folder" in result.stdout


@posix
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any folder")
def test_an_unreadable_sub_folder_on_disk(tmp_path):
    root = tree(tmp_path)
    (root / "sub").chmod(0)
    try:
        result = runner.invoke(app, ["lint", str(root)])
    finally:
        (root / "sub").chmod(0o755)
    assert result.exit_code == 2 and "cannot read the folder" in result.stdout


def test_excluded_problems_are_excluded_too(tmp_path):
    root = tree(tmp_path)
    if hasattr(os, "symlink"):
        os.symlink("self.yaml", root / "self.yaml")
        assert not [f for f in discover.expand_one(str(root), ("self.yaml",)) if isinstance(f, ReadError)]
