"""cnncalc: a calculator for convolutional network architectures.

Text spec -> layer graph -> shape propagation -> counts and memory -> report -> renderers.
From Python: `cnncalc.analyze(...)`, `cnncalc.fit(...)`, `cnncalc.verify(...)`, `cnncalc.zoo()`
(docs/api.md); errors are `cnncalc.CnnCalcError` and its subclasses, each with a location.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Any


__version__ = "0.1.0"

__all__ = ["CnnCalcError", "ModelReport", "__version__", "analyze", "fit", "verify", "zoo"]

#: what importing cnncalc.api would cost the command line, which imports this package first
_LAZY = {"analyze": "cnncalc.api", "fit": "cnncalc.api", "verify": "cnncalc.api", "zoo": "cnncalc.api",
         "ModelReport": "cnncalc.api", "CnnCalcError": "cnncalc.errors"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cnncalc' has no attribute {name!r}")
