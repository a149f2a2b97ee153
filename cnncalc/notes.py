"""`Note`: a warning about one layer that does not stop the analysis.

Layer kinds attach notes to their `Inference`, and the sliding-window arithmetic (`window.py`),
which sits below the layer kinds, writes the notes about windows that drop or invent pixels; the
analysis turns them into located diagnostics. The class lives here, importing nothing, so that
`window` need not reach up into `layers.base` (whose package imports `window`).
"""

from __future__ import annotations

from cnncalc.records import dataclass


@dataclass(frozen=True, slots=True)
class Note:
    """A warning about a layer that does not stop the analysis (the lint rules read these)."""

    code: str
    message: str
    hint: str = ""
