"""The shipped block library: named blocks (cnncalc/library/*.yaml, package data, versioned with the
tool) that any spec can use without defining them.

A spec's own `blocks:` are looked up first, so a spec that defines a block of a library name uses its
own (also where a library block uses a block of that name). A library block is expanded at its use:
every layer in it takes the use's position in the spec (file:line:col), so diagnostics, carets,
`# cnncalc: ignore[...]` comments and the JSON `line`/`column` keys point into the user's file,
never into the installed library. docs/blocks.md is generated from these files (`python -m cnncalc.docs`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache

from cnncalc.blocks import CONSTRUCTS, BlockDef
from cnncalc.errors import Location
from cnncalc.layers import KINDS
from cnncalc.records import dataclass
from cnncalc.yamlsource import YNode

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md

if TYPE_CHECKING:
    from pathlib import Path

SUFFIX = ".yaml"


@dataclass(frozen=True, slots=True)
class Family:
    """One library file: its stem, its header comment (the sources it cites) and its blocks."""

    name: str
    header: str
    blocks: dict[str, BlockDef]
    descriptions: dict[str, str]


def folder() -> Path:
    """This package's folder, where its *.yaml files lie (read as files: importlib.resources, ~10 ms
    of imports, would give the same path). pathlib loads here, not with the module: a spec that uses no
    library block never needs it (~6 ms of start-up)."""
    from pathlib import Path

    return Path(__file__).resolve().parent


def _header(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        if not body.startswith("yaml-language-server"):
            lines.append(body)
    return " ".join(lines).strip()


def _family(path: Path) -> Family:
    from cnncalc import yamlsource
    from cnncalc.blocks import parse_blocks
    from cnncalc.layers import KINDS

    text = path.read_text(encoding="utf-8")
    root = yamlsource.load(text, f"cnncalc/library/{path.name}")
    node = root.value["blocks"]
    descriptions = {name: (body.value["description"].text if "description" in body.value else "")
                    for name, body in node.value.items()}
    return Family(path.stem, _header(text), parse_blocks(node, KINDS), descriptions)


@lru_cache(maxsize=1)
def families() -> tuple[Family, ...]:
    """Every library file, in name order; a block name is defined once in the whole library (tested)."""
    return tuple(_family_at(path) for path in sorted(folder().glob(f"*{SUFFIX}")))


@lru_cache(maxsize=None)
def _family_at(path: Path) -> Family:
    return _family(path)


@lru_cache(maxsize=1)
def _files() -> dict[str, Path]:
    """Each library block's name -> its file, read without parsing the files: the keys two spaces in under
    each file's `blocks:` (tests/test_library.py holds them to the parsed blocks' names). The spec builder
    asks for every layer whether its word is a block, and a use parses only its block's file: parsing the
    whole library is ~25 ms of a run."""
    import re

    found = {}
    for path in sorted(folder().glob(f"*{SUFFIX}")):
        section = path.read_text(encoding="utf-8").partition("\nblocks:\n")[2]
        found.update(dict.fromkeys(re.findall(r"^  ([A-Za-z_][\w-]*):", section, flags=re.M), path))
    return found


def names() -> frozenset[str]:
    """The library's block names (without parsing its files)."""
    return frozenset(_files())


def block(name: str) -> BlockDef:
    """The library's block `name` (KeyError if none), parsing only its file."""
    return _family_at(_files()[name]).blocks[name]


@lru_cache(maxsize=1)
def blocks() -> dict[str, BlockDef]:
    return {name: block for family in families() for name, block in family.blocks.items()}


def shipped(block_def: BlockDef) -> bool:
    """Whether `block_def` is the library's own definition (not a spec's block of the same name)."""
    return block_def.name in _files() and block(block_def.name) is block_def


class WithLibrary(Mapping):
    """A spec's blocks, then the library's: the one lookup the spec builder makes. The library is read
    on the first name the spec does not define that is not a layer kind's (a spec without block uses
    never reads it)."""

    def __init__(self, own: dict[str, BlockDef]):
        self.own = own

    def __getitem__(self, name: str) -> BlockDef:
        if name in self.own:
            return self.own[name]
        return block(name)

    def __contains__(self, name: object) -> bool:
        # no library block is named as a layer kind or a construct (tests/test_library.py): a spec of plain
        # layers and repeats never reads the library's files (~2 ms: the glob, seven files, a pattern)
        return name in self.own or (
            isinstance(name, str) and name not in KINDS and name not in CONSTRUCTS and name in _files())

    def __iter__(self) -> Iterator[str]:
        return iter({**blocks(), **self.own})

    def __len__(self) -> int:
        return len({**blocks(), **self.own})


def relocated(node: YNode, loc: Location) -> YNode:
    """A copy of `node` with every position replaced by `loc` (a library block at its use)."""
    if node.is_mapping:
        return YNode({k: relocated(v, loc) for k, v in node.value.items()}, loc, node.text,
                     {k: loc for k in node.key_locs})
    if node.is_sequence:
        return YNode(tuple(relocated(v, loc) for v in node.value), loc, node.text)
    return YNode(node.value, loc, node.text)


def at_use(block: BlockDef, loc: Location) -> BlockDef:
    """The block to expand for a use at `loc`: a library block with its layers and defaults relocated
    to the use, a spec's own block as it is."""
    if not shipped(block):
        return block
    defaults = {name: None if node is None else relocated(node, loc) for name, node in block.params.items()}
    return BlockDef(block.name, defaults, relocated(block.layers, loc), loc)


def use_key(block: BlockDef, loc: Location) -> tuple:
    """What, beside the arguments, tells two expansions apart: a library block's use site (its layers
    carry it), nothing for a spec's own block (its layers keep their own positions)."""
    return (loc.path, loc.line, loc.col) if shipped(block) else ()
