"""The zoo installed with cnncalc: the shipped specs (the repository's specs/, package data
cnncalc/zoo/), found by name from any folder, with their sources as their headers cite them.

A file always wins: `cnncalc analyze vgg16.yaml` reads ./vgg16.yaml when it exists and the zoo's
VGG-16 otherwise, and says which it used."""

from __future__ import annotations

import re
from cnncalc.records import dataclass
from importlib import resources
from pathlib import Path

SUFFIX = ".yaml"
_URL = re.compile(r"https?://\S+|arXiv:\S+")


@dataclass(frozen=True, slots=True)
class Entry:
    """One zoo model: its name (the file stem), title (`name:`), the path of its file, the first line
    of its header comment (where it comes from) and the links and arXiv ids that header cites."""

    name: str
    title: str
    path: Path
    source: str
    links: tuple[str, ...]


def _folder() -> Path:
    return Path(str(resources.files("cnncalc") / "zoo"))


def names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in _folder().glob(f"*{SUFFIX}")))


def find(given: str) -> Path | None:
    """The zoo file for `vgg16` or `vgg16.yaml` (a bare name, no folder), None when there is none."""
    if "/" in given or "\\" in given:
        return None
    stem = given[: -len(SUFFIX)] if given.endswith(SUFFIX) else given
    path = _folder() / f"{stem}{SUFFIX}"
    return path if stem in names() else None


def entries() -> tuple[Entry, ...]:
    return tuple(_entry(name) for name in names())


def _entry(name: str) -> Entry:
    path = _folder() / f"{name}{SUFFIX}"
    title, source, links = name, "", []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip()
            if not source and text and not text.startswith(("yaml-language-server", "cnncalc:")):
                source = text
            links += [url.rstrip(").,;:") for url in _URL.findall(line)]
        elif line.startswith("name:"):
            title = line.split(":", 1)[1].strip().strip("'\"") or name
            break
    return Entry(name, title, path, source, tuple(dict.fromkeys(links)))
