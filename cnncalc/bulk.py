"""Constructors for the frozen records a run makes once per layer (a million of them, several kinds).

A frozen dataclass's `__init__` stores each field through `object.__setattr__`, which looks the
field's descriptor up by name every time: ~3 us for a 19-field report row, most of a million-layer
report's time. `maker(cls)` returns a function of the same positional fields that makes the same
instance through the slots' own descriptors (half the time); it is the class itself when that does not
apply (no slots, a field that is no parameter, a `__post_init__`), so the instances are always what `cls(...)` would make.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MemberDescriptorType


def maker(cls: type) -> Callable[..., object]:
    """`cls(*fields)` for every field given positionally, in the fields' order."""
    names = getattr(cls, "__match_args__", None)
    descriptors = [cls.__dict__.get(name) for name in names or ()]
    if (not names or hasattr(cls, "__post_init__") or set(names) != set(cls.__dict__.get("__slots__", ()))
            or not all(type(d) is MemberDescriptorType for d in descriptors)):
        return cls
    namespace: dict = {"__new": object.__new__, "__cls": cls}
    body = ["    made = __new(__cls)"]
    for index, (name, descriptor) in enumerate(zip(names, descriptors)):
        namespace[f"__set{index}"] = descriptor.__set__
        body.append(f"    __set{index}(made, {name})")
    text = f"def make_{cls.__name__}({', '.join(names)}):\n" + "\n".join(body) + "\n    return made\n"
    exec(text, namespace)  # noqa: S102 - our own source text, as dataclasses writes its methods
    return namespace[f"make_{cls.__name__}"]
