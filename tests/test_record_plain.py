"""cnncalc.records' plain path, the common record (plain annotations on `object`, plain defaults) made
without the general machinery, against the general path and the stdlib: the same classes. And the Lazy
methods, fields and docs both paths give a class, made when first looked up."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import sys
import typing  # noqa: F401 - the string annotations of the classes below name it
from typing import ClassVar  # noqa: F401 - as typing

from hypothesis import given, settings
from hypothesis import strategies as st
from test_records import DEFAULTS, FIELD_NAMES, ROOT, _both, _methods_of, _one, _raised

from cnncalc import record_methods, records

@contextlib.contextmanager
def _general():
    """Every class made meanwhile takes the general path (what the plain one must equal)."""
    saved = records._plain_defaults
    records._plain_defaults = lambda *args: None
    try:
        yield
    finally:
        records._plain_defaults = saved


def _shape(cls) -> dict:
    """What a record class is, as far as anyone can see: its fields (every attribute), methods' names,
    signature and annotations, match args, doc, slots, params."""
    return {
        "fields": [(f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.hash, f.compare, dict(f.metadata),
                    f.kw_only) for f in records.fields(cls)],
        "methods": _methods_of(cls), "own": sorted(name for name in vars(cls) if name != "__dict__"),
        "init": (cls.__init__.__code__.co_varnames, cls.__init__.__defaults__, cls.__init__.__annotations__,
                 cls.__init__.__qualname__, cls.__init__.__module__) if "__init__" in vars(cls) else None,
        "match_args": getattr(cls, "__match_args__", None), "doc": cls.__doc__,
        "slots": getattr(cls, "__slots__", None), "params": repr(cls.__dataclass_params__),
        "hash_is_none": cls.__hash__ is None, "bases": cls.__bases__, "qualname": cls.__qualname__,
    }


PLAIN_VALUES = st.one_of(st.integers(-3, 3), st.text("ab", max_size=2), st.none(), st.tuples(st.integers(0, 2)),
                         st.just(float("nan")), st.booleans())


@st.composite
def plain_classes(draw):
    """A random common record: plain annotations (the last ones with plain defaults), sometimes a docstring,
    a __post_init__ or a property, under random options."""
    names = draw(st.lists(FIELD_NAMES, max_size=8, unique=True))
    names += [f"f{i}" for i in range(draw(st.integers(0, 14)) if draw(st.booleans()) else 0)]
    first_default = draw(st.integers(0, len(names)))
    lines = ['    """A docstring."""\n'] if draw(st.booleans()) else []
    for index, name in enumerate(names):
        annotation = draw(st.sampled_from(["int", "str", "tuple[int, ...]", "'Thing'"]))
        default = f" = {draw(DEFAULTS)!r}" if index >= first_default else ""
        lines.append(f"    {name}: {annotation}{default}\n")
    if draw(st.booleans()):
        lines.append("    @property\n    def double(self):\n        return 2\n")
    if names and draw(st.integers(0, 4)) == 0:
        lines.append("    def __post_init__(self):\n        object.__setattr__(self, 'seen', 1) if False else None\n")
    options = draw(st.sampled_from(["frozen=True, slots=True", "frozen=True", "", "slots=True", "unsafe_hash=True",
                                    "eq=False", "repr=False", "init=False", "match_args=False",
                                    "frozen=True, slots=True, eq=False", "frozen=True, unsafe_hash=True"]))
    values = [{name: draw(PLAIN_VALUES) for name in names} for _ in range(2)]
    return "".join(lines) or "    pass\n", options, values


def _plain_and_general(body: str, options: str):
    namespace = {**vars(sys.modules[_both.__module__]), "dataclass": records.dataclass, "field": records.field}
    made = []
    for general in (False, True):
        space = dict(namespace)
        with _general() if general else contextlib.nullcontext():
            exec(f"@dataclass({options})\nclass Thing:\n{body}", space)  # noqa: S102
        made.append(space["Thing"])
    return made


@settings(max_examples=60, deadline=None)
@given(plain_classes())
def test_the_plain_path_makes_the_general_paths_class(drawn):
    """A common record made by the plain path is the class the general path makes (and the stdlib's)."""
    body, options, values = drawn
    plain, general = _plain_and_general(body, options)
    assert type(vars(plain)["__dataclass_fields__"]) is records.PlainFields  # the two paths, indeed
    assert type(vars(general)["__dataclass_fields__"]) is dict
    theirs = _both(body, options)[0]
    assert _shape(plain) == _shape(general)
    assert plain.__match_args__ == theirs.__match_args__ if "match_args" not in options else True
    if "init=False" in options:  # (the stdlib's doc is then its signature of object: "Thing()", ours "Thing")
        return
    assert plain.__doc__ == theirs.__doc__
    pairs = [(theirs(**given), plain(**given), general(**given)) for given in values]
    for a, b, c in pairs:
        assert "repr=False" in options or repr(b) == repr(c) == repr(a)
        assert dataclasses.astuple(b) == dataclasses.astuple(c) == dataclasses.astuple(a)
        if plain.__hash__ is not None and "eq=False" not in options:
            assert hash(b) == hash(c) == hash(a)
        if values[0]:
            changed = {next(iter(values[0])): 1}
            assert dataclasses.astuple(records.replace(b, **changed)) == dataclasses.astuple(
                dataclasses.replace(a, **changed))
        if "slots=True" in options and "frozen" in options:
            assert b.__getstate__() == c.__getstate__() and dataclasses.astuple(copy.copy(b)) == dataclasses.astuple(b)
    (a1, b1, c1), (a2, b2, c2) = pairs
    assert (b1 == b2, b1 == b1, b1 != b2) == (c1 == c2, c1 == c1, c1 != c2) == (a1 == a2, a1 == a1, a1 != a2)
    if "frozen" in options and values[0]:
        name = next(iter(values[0]))
        assert _raised(lambda: setattr(b1, name, 1)) == _raised(lambda: setattr(c1, name, 1))


def test_a_class_the_plain_path_cannot_make_takes_the_general_one():
    """What the plain path leaves to the general one: bases, ClassVars, field() objects (annotated or not),
    mutable defaults, defaults out of order, `self`, names found on type/object, the methods it adds."""
    bodies = ["    a: ClassVar[int] = 1\n    b: int\n", "    a: int = field(default=1)\n", "    a: list = []\n",
              "    a: int = 1\n    b: int\n", "    self: int\n", "    mro: int\n", "    a: int\n    def __eq__(self, o):\n"
              "        return True\n", "    a: int\n    b = field(default=2)\n", "    a: int\n    __slots__ = ()\n"]
    for body in bodies:
        theirs, ours = (_raised(lambda d=d: _one(d, body, "frozen=True, slots=True")) for d in ("stdlib", "records"))
        assert ours == theirs, body
    for options in ("frozen=True, slots=True", ""):  # (the annotations are strings: this module's __future__)
        theirs, ours = _both("    a: int\n    b: ClassVar[int] = 3\n    c: typing.ClassVar[str] = 'x'\n", options)
        assert [f.name for f in records.fields(ours)] == [f.name for f in dataclasses.fields(theirs)] == ["a"]
        assert ours.b == 3 and ours.c == "x" and repr(ours(1)) == repr(theirs(1))


def test_lazy_methods_and_fields_become_the_classs_own():
    """A Lazy method, the fields and the doc are made when first looked up and then are the class's own
    (a function with the stdlib's names; the dict of Fields; the text)."""
    made = records.dataclass(frozen=True, slots=True)(type("Lazy1", (), {
        "__annotations__": {"a": "int", "b": "str"}, "b": "x", "__module__": __name__}))
    assert type(vars(made)["__eq__"]) is record_methods.Lazy and type(vars(made)["__dataclass_fields__"]) is \
        records.PlainFields
    assert made(1) == made(1) and made(1) != made(2)
    assert type(vars(made)["__eq__"]).__name__ == "function" and made.__eq__.__qualname__ == "Lazy1.__eq__"
    assert made.__eq__.__module__ == __name__ and made.__repr__.__name__ == "__repr__"
    assert type(vars(made)["__dataclass_fields__"]) is dict and vars(made)["__dataclass_fields__"] is \
        made.__dataclass_fields__ and list(made.__dataclass_fields__) == ["a", "b"]


def test_a_subclass_records_super_calls_reach_the_bases_methods():
    """A Lazy found through super() from a subclass record makes the base's method, not the subclass's."""
    for options in ("frozen=True, slots=True", "frozen=True", ""):
        theirs_base, ours_base = _both("    a: int\n", options, name="Base")
        body = "    b: int = 0\n    def __repr__(self):\n        return 'Sub:' + super(Sub, self).__repr__()\n"
        theirs, ours = _both(body, options, bases=((theirs_base,), (ours_base,)), name="Sub")
        # the base's __eq__ through super() while the subclass's is still a Lazy too: the base's fields only
        assert super(ours, ours(1, 2)).__eq__(ours(1, 3)) is super(theirs, theirs(1, 2)).__eq__(theirs(1, 3)) is True
        assert repr(ours(1, 2)) == repr(theirs(1, 2)) == "Sub:Sub(a=1)"
        assert ours(1, 2) == ours(1, 2) and ours(1, 2) != ours(1, 3)
        assert ours_base.__repr__.__qualname__ == "Base.__repr__" and ours.__eq__.__qualname__ == "Sub.__eq__"
        assert [f.name for f in records.fields(ours)] == ["a", "b"]


def test_analyzes_records_take_the_plain_path():
    """All but a few of the records a run of analyze makes are common ones (the plain path: about half the
    cost of each class); a fresh process, as a run's imports are."""
    import os
    import subprocess

    code = ("import sys\nfrom cnncalc import records\ncounts = [0, 0]\nplain = records._process_plain\n"
            "def spy(*args):\n    counts[0] += 1\n    return plain(*args)\nrecords._process_plain = spy\n"
            "general = records._fields_of\n"
            "def spy2(*args):\n    counts[1] += 1\n    return general(*args)\nrecords._fields_of = spy2\n"
            "import cnncalc.commands.analyze_run, cnncalc.pipeline, cnncalc.report, cnncalc.render.table\n"
            "import cnncalc.layers.conv, cnncalc.layers.norm, cnncalc.layers.onednn\nprint(*counts)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    plain, general = map(int, out.split())
    assert plain >= 50 and general <= 4, (plain, general)
