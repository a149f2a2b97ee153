"""`LazyPattern`: a regular expression compiled the first time it is used.

Python's `re` compiler is pure Python: a module-level `re.compile` costs 0.1 ms for a small pattern
and several for a large character class (render/safe.py's unsafe characters, PyYAML's non-printable
ones), paid by every process that imports the module, whether or not it ever matches anything. A
pattern that a plain `analyze` may never use is declared with `LazyPattern(...)` instead, where
`re.compile(...)` stood, and used the same way.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Any

_compile = re.compile  # the real one, even while cnncalc.pyyaml stands in for it


class LazyPattern:
    """`re.compile(pattern, flags)`, made on first use. Each attribute read (`match`, `search`,
    `pattern`...) is the compiled pattern's, then kept on the instance, so later reads are plain
    instance lookups: no cost per call once compiled. Two threads racing on a first use compile it
    twice (re's cache usually hands both the same object); either result may be kept: they are equal."""

    def __init__(self, pattern: str, flags: int = 0):
        self._lazy_source = (pattern, flags)

    def compiled(self) -> re.Pattern:
        return _compile(*self._lazy_source)  # re's own cache makes repeated calls cheap

    def __getattr__(self, name: str) -> Any:
        if name == "_lazy_source":  # read before __init__ ran (an unpickled copy): not a pattern's attribute
            raise AttributeError(name)
        value = getattr(self.compiled(), name)
        if not name.startswith("__"):  # copy, pickle and friends probe dunders: answered, not kept
            self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return repr(self.compiled())
