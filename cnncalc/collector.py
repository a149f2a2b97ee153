"""The cyclic garbage collector, paused while a stage builds its per-layer objects.

Why: the stages from the spec to the report, and the table's grid, make a few objects per layer
and keep them, and none of them form reference cycles (frozen values, tuples, lists, strings). With
the collector on, their allocations trigger collections that walk every live object again: about a
tenth of building a report and a third of printing its table (100,000 relus), for no garbage.
Pausing it loses nothing (what these stages free is freed by reference counting; any cycle made
meanwhile is collected later) and the collector runs as before when the stage ends, so a long-lived
process (the Python interface, the tests) collects as it always did, except that what the stage made
starts in the oldest generation (`_promote`): it is walked by full collections only.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Collector off for the block, back on after (unless it was already off: nesting is harmless)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        _promote()
        gc.enable()


def _promote() -> None:
    """What the block made moves to the oldest generation, as if it had survived two collections.

    Why: left in the youngest, the next few hundred allocations after the block start a collection
    that walks every one of them (a million layers' objects: seconds, over the stages, for nothing),
    and the next ones walk them again as they age. `freeze` then `unfreeze` moves every tracked object
    to the oldest generation in constant time (list splices); the full collections that walk that
    generation still find any cycle among them. Skipped when something else froze objects, which
    `unfreeze` would thaw."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
