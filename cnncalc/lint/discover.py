"""Which files `cnncalc lint PATH...` checks: files as named, YAML files under directories, globs.

What cannot be searched is a finding, not a silent skip: a sub-folder that cannot be read, a symbolic
link that loops or points nowhere under a spec's name. Each comes back as a `ReadError` in the list
(a CNN001 result with its path; lint exits 2), in the order of the walk. Symbolic links to folders
are not followed (as before), so a link back to a parent cannot make the walk endless.
"""

from __future__ import annotations

import errno
import glob
import os
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from cnncalc.errors import Location, ReadError

SPEC_SUFFIXES = (".yaml", ".yml")
STDIN = "-"





def _excluded(path: str, patterns: tuple[str, ...]) -> bool:
    posix = PurePosixPath(Path(path).as_posix())
    return any(fnmatch(str(posix), p) or any(fnmatch(part, p) for part in posix.parts) for p in patterns)


def _unreadable_folder(error: OSError) -> ReadError:
    path = error.filename or "?"
    return ReadError(f"cannot read the folder {path}: {error.strerror}", Location(str(path)),
                     hint="give cnncalc read and search permission on it, or --exclude it")


def _link_problem(path: str) -> int | None:
    """The errno of following a symbolic link (ELOOP: a loop; ENOENT: nothing at its end), None if it works."""
    try:
        os.stat(path)
    except OSError as error:
        return error.errno
    return None


def _bad_link(path: str, problem: int) -> ReadError:
    if problem == errno.ELOOP:
        return ReadError(f"{path} is a symbolic link loop", Location(path), hint="fix or remove the link")
    return ReadError(f"{path} is a symbolic link to nothing ({os.readlink(path)})", Location(path),
                     hint="fix or remove the link")


def _entry(directory: str, name: str) -> str | ReadError | None:
    path = os.path.join(directory, name)
    if os.path.islink(path):
        problem = _link_problem(path)
        # a loop is an error whatever its name; a dangling link only where a spec was meant
        if problem == errno.ELOOP or (problem is not None and name.lower().endswith(SPEC_SUFFIXES)):
            return _bad_link(path, problem)
        if problem is not None:
            return None
    if name.lower().endswith(SPEC_SUFFIXES) and os.path.isfile(path):
        return path
    return None


def _under(directory: Path) -> list[str | ReadError]:
    """The spec files under a folder, sorted, hidden files and folders left out; what cannot be read, as errors."""
    found: list[str | ReadError] = []
    problems: list[OSError] = []
    for root, folders, names in os.walk(directory, onerror=problems.append):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            entry = _entry(root, name)
            if entry is not None:
                found.append(entry)
        found += [_unreadable_folder(p) for p in problems]
        problems.clear()
    # the walk lists the folders' symbolic links among `folders` when they resolve, among `names` when not
    return found


def _path_of(entry: str | ReadError) -> str:
    return entry if isinstance(entry, str) else entry.loc.path


def expand_one(given: str, exclude: tuple[str, ...] = ()) -> list[str | ReadError]:
    """The files one command-line path names (and, in order, what could not be searched). Raises
    ReadError when it names nothing."""
    if given == STDIN:
        return [given]
    path = Path(given)
    if path.is_dir():
        return [p for p in _under(path) if not _excluded(_path_of(p), exclude)]
    if path.exists():
        return [given]  # named explicitly: linted whatever its name and the excludes
    if path.is_symlink() and _link_problem(given) is not None:
        raise _bad_link(given, _link_problem(given))
    if any(c in given for c in "*?["):
        matches = sorted(m for m in glob.glob(given, recursive=True) if Path(m).is_file())
        if not matches:
            raise ReadError(f"no files match {given}", Location(given), hint="check the pattern")
        return [m for m in matches if not _excluded(m, exclude)]
    raise ReadError(f"no such file or directory: {given}", Location(given), hint="check the path")


def expand(paths: list[str], exclude: tuple[str, ...] = ()) -> list[str | ReadError]:
    """The files to lint, in order, each once (and what could not be searched)."""
    return list(dict.fromkeys(f for given in paths for f in expand_one(given, exclude)))
