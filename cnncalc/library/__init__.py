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
    of imports, would give the same path). Only the generator reads them (cnncalc/library/generate.py):
    a run reads the generated module, and pathlib loads here, not with the module (~6 ms of start-up)."""
    from pathlib import Path

    return Path(__file__).resolve().parent


def _table() -> dict[str, str]:
    """Each block's name -> its file's stem: the generated index (cnncalc/library/compiled, held to the YAML
    files by tests/test_library.py), imported on the first name a spec does not define that is not a layer
    kind's (a spec without block uses never needs it)."""
    from cnncalc.library.compiled import INDEX

    return INDEX


def _module(stem: str):
    """The generated module of the library file `stem` (its header and its blocks' literals)."""
    from importlib import import_module

    return import_module(f"cnncalc.library.compiled.{stem}")


def decode(data: tuple, path: str) -> YNode:
    """The positioned node `generate.encode` wrote: the one yamlsource read from the file at `path`."""
    kind, line, col, end_line, end_col = data[:5]
    loc = Location(path, line, col, end_line, end_col)
    if kind == "=":
        return YNode(data[5], loc, data[6])
    if kind == "[":
        return YNode(tuple(decode(item, path) for item in data[5:]), loc)
    values = {}
    key_locs = {}
    for at in range(5, len(data), 6):
        key, k_line, k_col, k_end_line, k_end_col, item = data[at:at + 6]
        key_locs[key] = Location(path, k_line, k_col, k_end_line, k_end_col)
        values[key] = decode(item, path)
    return YNode(values, loc, key_locs=key_locs)


@lru_cache(maxsize=None)
def block(name: str) -> BlockDef:
    """The library's block `name` (KeyError if none), decoded from its file's generated module where first
    used: the BlockDef the spec builder would make from the file (tests/test_library.py)."""
    from cnncalc.blocks import block_def

    stem = _table()[name]
    _, (line, col, end_line, end_col), body = _module(stem).BLOCKS[name]
    path = f"cnncalc/library/{stem}{SUFFIX}"
    return block_def(name, decode(body, path), Location(path, line, col, end_line, end_col), KINDS)


def names() -> frozenset[str]:
    """The library's block names."""
    return frozenset(_table())


@lru_cache(maxsize=1)
def families() -> tuple[Family, ...]:
    """Every library file, in name order; a block name is defined once in the whole library (tested)."""
    stems = dict.fromkeys(sorted(_table().values()))
    return tuple(_family(stem) for stem in stems)


def _family(stem: str) -> Family:
    module = _module(stem)
    descriptions = {name: description for name, (description, _, _) in module.BLOCKS.items()}
    return Family(stem, module.HEADER, {name: block(name) for name in module.BLOCKS}, descriptions)


@lru_cache(maxsize=1)
def blocks() -> dict[str, BlockDef]:
    return {name: block for family in families() for name, block in family.blocks.items()}


def shipped(block_def: BlockDef) -> bool:
    """Whether `block_def` is the library's own definition (not a spec's block of the same name)."""
    return block_def.name in _table() and block(block_def.name) is block_def


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
        # layers and repeats never imports the generated module
        return name in self.own or (
            isinstance(name, str) and name not in KINDS and name not in CONSTRUCTS and name in _table())

    def __iter__(self) -> Iterator[str]:
        return iter({**blocks(), **self.own})

    def __len__(self) -> int:
        return len({**blocks(), **self.own})


def relocated(node: YNode, loc: Location) -> YNode:
    """A copy of `node` with every position replaced by `loc` (a library block at its use)."""
    if node.is_mapping:
        return YNode({k: relocated(v, loc) for k, v in node.value.items()}, loc, node.text,
                     dict.fromkeys(node.key_locs, loc))
    if node.is_sequence:
        return YNode(tuple(relocated(v, loc) for v in node.value), loc, node.text)
    return YNode(node.value, loc, node.text)


def at_use(block: BlockDef, loc: Location, layers: bool = True) -> BlockDef:
    """The block to expand for a use at `loc`: a library block with its layers and defaults relocated
    to the use, a spec's own block as it is. `layers=False` moves the defaults only: the spec builder
    moves the layers as it substitutes them (`blocks.substitute(..., at=loc)`), or `layers_at` later."""
    if not shipped(block):
        return block
    defaults = {name: None if node is None else relocated(node, loc) for name, node in block.params.items()}
    return BlockDef(block.name, defaults, relocated(block.layers, loc) if layers else block.layers, loc)


def layers_at(block: BlockDef, loc: Location) -> BlockDef:
    """`at_use(..., layers=False)`'s block with its layers moved too (its defaults kept: the use's
    arguments are those very nodes, which `blocks.input_arguments` tells apart by identity)."""
    return BlockDef(block.name, block.params, relocated(block.layers, loc), loc)


def use_key(block: BlockDef, loc: Location) -> tuple:
    """What, beside the arguments, tells two expansions apart: a library block's use site (its layers
    carry it), nothing for a spec's own block (its layers keep their own positions)."""
    return (loc.path, loc.line, loc.col) if shipped(block) else ()
