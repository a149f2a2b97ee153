"""Constructors for the frozen records a run makes once per layer (a million of them, several kinds).

A frozen dataclass's `__init__` stores each field through `object.__setattr__`, which looks the
field's descriptor up by name every time: ~3 us for a 19-field report row, most of a million-layer
report's time. `maker(cls)` returns a function of the same positional fields (and defaults) that makes the same
instance a sixth of the time: it fills an instance of a plain class with the same slots (whose
attribute stores the interpreter specialises to a direct slot write), then gives it `cls` as its
class, which Python allows between classes of one memory layout. Where that does not apply (no
slots, a base class, a field that is no parameter, a `__post_init__`) it is `cls` itself, so the
instances are always what `cls(...)` would make (tests/test_bulk.py).
"""

from __future__ import annotations

from collections.abc import Callable

from cnncalc.record_methods import _templated


def maker(cls: type) -> Callable[..., object]:
    """`cls(*fields)` for every field given positionally, in the fields' order."""
    names = getattr(cls, "__match_args__", None)
    slots = cls.__dict__.get("__slots__", ())
    if (not names or cls.__bases__ != (object,) or hasattr(cls, "__post_init__")
            or tuple(slots) != tuple(names)):
        return cls
    # the twin's `__init__` is records' own template of plain stores, renamed (cnncalc/record_methods.py):
    # compiling a function here, as this did, cost more (~0.75 M instructions) than a 175-layer report's
    # records save
    init = _templated(cls, "__init__", "plain", tuple(names), cls.__init__.__defaults__ or ())  # its defaults too
    twin = type(f"_{cls.__name__}Fields", (), {"__slots__": tuple(slots), "__init__": init})
    try:  # the layouts must be one: else Python refuses the assignment
        probe = twin.__new__(twin)
        probe.__class__ = cls
    except TypeError:
        return cls

    def make(*fields):
        made = twin(*fields)
        made.__class__ = cls
        return made

    make.__name__ = make.__qualname__ = f"make_{cls.__name__}"
    return make
