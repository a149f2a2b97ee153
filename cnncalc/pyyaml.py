"""PyYAML, imported without compiling its module-level regular expressions (`from cnncalc.pyyaml import yaml`).

`import yaml` compiles a dozen patterns while its modules are defined, and the largest is one a run
with libyaml's C parser never uses: `yaml.reader.Reader.NON_PRINTABLE`, a class of every printable
code point up to U+10FFFF, which Python's pure-Python `re` compiler takes ~7 ms to build (a quarter
of PyYAML's import, a twentieth of a whole `cnncalc analyze`). libyaml checks the characters
itself; the pure-Python reader needs the pattern only where there is no libyaml and to word a syntax
error. The constructor's timestamp pattern and the resolver's merge/value/yaml patterns are never
used by a spec that has none.

So yaml is imported with `re.compile` answering *the calls made by yaml's own modules* with a
`LazyPattern` (cnncalc/patterns.py), compiled on first use; every other caller, in this thread or
another, gets the real `re.compile` during that window too. yaml's behaviour is unchanged: each pattern is the same
`re.Pattern`, only compiled later (tests/test_pyyaml.py runs the C and the pure-Python paths, the
dumper, and the reader's error through them).
"""

from __future__ import annotations

import re
import sys
from _thread import allocate_lock  # threading's own lock, without threading's import (~1 ms)
from types import ModuleType

from cnncalc.patterns import LazyPattern

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Any

_REAL_COMPILE = re.compile
_IMPORTING = allocate_lock()


def _compile_for_yaml(pattern: Any, flags: int = 0) -> Any:
    """`re.compile` while yaml imports: lazy for yaml's own module-level calls, the real one for any other."""
    caller = sys._getframe(1).f_globals.get("__name__") or ""
    if (caller == "yaml" or caller.startswith("yaml.")) and isinstance(pattern, str):
        return LazyPattern(pattern, flags)
    return _REAL_COMPILE(pattern, flags)


def import_yaml() -> ModuleType:
    """The `yaml` module; if this is its first import, with its module-level patterns compiled lazily."""
    with _IMPORTING:
        if "yaml" in sys.modules:
            return sys.modules["yaml"]
        if re.compile is not _REAL_COMPILE:  # someone else's wrapper: leave it be, import plainly
            import yaml

            return yaml
        re.compile = _compile_for_yaml
        try:
            import yaml
        finally:
            re.compile = _REAL_COMPILE
        return yaml


yaml = import_yaml()
