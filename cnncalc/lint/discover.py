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


def expand(paths: list[str], exclude: tuple[str, ...] = ()) -> list[str]:
    """The files to lint, in order, each once. Raises ReadError for a path that names nothing."""
    out: list[str] = []
    for given in paths:
        if given == STDIN:
            out.append(given)
            continue
        path = Path(given)
        if path.is_dir():
            out += [p for p in _under(path) if not _excluded(p, exclude)]
        elif path.exists():
            out.append(given)  # named explicitly: linted whatever its name and the excludes
        elif any(c in given for c in "*?["):
            matches = sorted(m for m in glob.glob(given, recursive=True) if Path(m).is_file())
            if not matches:
                raise ReadError(f"no files match {given}", Location(given), hint="check the pattern")
            out += [m for m in matches if not _excluded(m, exclude)]
        else:
            raise ReadError(f"no such file or directory: {given}", Location(given), hint="check the path")
    return list(dict.fromkeys(out))
