"""Which files `cnncalc lint PATH...` checks: files as named, YAML files under directories, globs."""

from __future__ import annotations

import glob
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from cnncalc.errors import Location, ReadError

SPEC_SUFFIXES = (".yaml", ".yml")
STDIN = "-"


def _excluded(path: str, patterns: tuple[str, ...]) -> bool:
    posix = PurePosixPath(Path(path).as_posix())
    return any(fnmatch(str(posix), p) or any(fnmatch(part, p) for part in posix.parts) for p in patterns)


def _under(directory: Path) -> list[str]:
    found = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).parts
        if path.is_file() and path.suffix.lower() in SPEC_SUFFIXES and not any(p.startswith(".") for p in relative):
            found.append(str(path))
    return found


def expand_one(given: str, exclude: tuple[str, ...] = ()) -> list[str]:
    """The files one command-line path names. Raises ReadError when it names nothing."""
    if given == STDIN:
        return [given]
    path = Path(given)
    if path.is_dir():
        return [p for p in _under(path) if not _excluded(p, exclude)]
    if path.exists():
        return [given]  # named explicitly: linted whatever its name and the excludes
    if any(c in given for c in "*?["):
        matches = sorted(m for m in glob.glob(given, recursive=True) if Path(m).is_file())
        if not matches:
            raise ReadError(f"no files match {given}", Location(given), hint="check the pattern")
        return [m for m in matches if not _excluded(m, exclude)]
    raise ReadError(f"no such file or directory: {given}", Location(given), hint="check the path")


def expand(paths: list[str], exclude: tuple[str, ...] = ()) -> list[str]:
    """The files to lint, in order, each once."""
    return list(dict.fromkeys(f for given in paths for f in expand_one(given, exclude)))
