"""Repeated constructs as `blocks:`, consecutive copies as `repeat:`."""

from __future__ import annotations

from dataclasses import dataclass

from cnncalc.importers.structure import Item
from cnncalc.importers.writer import Block


@dataclass(frozen=True)
class Found:
    items: tuple[Item, ...]
    blocks: tuple[Block, ...]


def find(items: tuple[Item, ...]) -> Found:
    return Found(items, ())
