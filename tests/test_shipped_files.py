"""Shipped files cite public sources, never the machine they were written on: no absolute path of a
working folder (such as the roots below) and no path into a `shared` folder beside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["specs", "docs", "cnncalc", "tests", "benchmarks", "README.md", "pyproject.toml", ".pre-commit-hooks.yaml"]
# spelled in pieces so that this file does not contain what it looks for
ROOTS = ("work", "tmp", "home", "root", "Users", "mnt")
MACHINE_PATH = re.compile(r"(?<![\w.~/-])/(?:" + "|".join(ROOTS) + r")/|\.\./" + "shared" + "/")


def _files() -> list[Path]:
    found = []
    for name in SHIPPED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        found += [p for p in candidates if "__pycache__" not in p.parts and p.suffix not in (".pyc",)]
    return found


def test_the_pattern_finds_machine_paths_and_leaves_others():
    found = lambda text: bool(MACHINE_PATH.search(text))  # noqa: E731
    for text in ("see /" + "work/shared/x.md", "(/" + "tmp/notes/a.py)", "`/" + "home/me/x`", "../" + "shared/seeds"):
        assert found(text), text
    for text in (".github/workflows/ci.yaml", "https://example.org/" + "work/x", "a/" + "tmp/b", "tmp_path / 'x'",
                 "~/" + "tmp/"):
        assert not found(text), text


def test_no_shipped_file_cites_a_path_of_this_machine():
    assert len(_files()) > 50
    offenders = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if MACHINE_PATH.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
