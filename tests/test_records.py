"""cnncalc.records makes the classes the stdlib's dataclasses.dataclass makes, without importing it and
without compiling: the same __init__ (defaults, factories, keyword-only fields, __post_init__), repr,
equality and hash (the same hash values), ordering, fields in the same order through the MRO, ClassVars
left out, __match_args__, __doc__, frozen errors, slots, pickling and copying, and the same errors at
definition. The stdlib is the oracle: every class here is made by both decorators and compared."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import sys
import typing
import weakref
from pathlib import Path
from typing import ClassVar  # noqa: F401 - the string annotations of the classes below name it

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import record_methods, record_templates, records

ROOT = Path(__file__).resolve().parent.parent


def _both(body: str, options: str = "frozen=True, slots=True", bases: tuple = ((), ()), name: str = "Thing"):
    """The class defined by `body` under the stdlib's decorator and under cnncalc's, in this module's
    namespace (string annotations such as 'ClassVar[int]' are looked up there, as in any module)."""
    made = []
    for decorator, base, field in zip((dataclasses.dataclass, records.dataclass), bases, (dataclasses.field,
                                                                                            records.field)):
        namespace = {**globals(), "dataclass": decorator, "field": field, "bases": base}
        exec(f"@dataclass({options})\nclass {name}(*bases):\n{body}", namespace)  # noqa: S102
        made.append(namespace[name])
    return made


def _raised(make) -> tuple[type, str] | None:
    try:
        make()
    except Exception as error:  # noqa: BLE001 - the error itself is compared
        return type(error), str(error)
    return None


def _same_error(body: str, options: str = "frozen=True, slots=True", words: int = 0) -> tuple[type, str]:
    """Both decorators refuse the class with the same error type and message (its first `words` words only,
    where the stdlib's text changed between versions)."""
    theirs, ours = (_raised(lambda d=d: _one(d, body, options)) for d in ("stdlib", "records"))
    assert theirs is not None and ours is not None, (theirs, ours)
    if words:
        theirs, ours = ((kind, message.split()[:words]) for kind, message in (theirs, ours))
    assert ours == theirs
    return ours


def _one(which: str, body: str, options: str):
    decorator, field = ((dataclasses.dataclass, dataclasses.field) if which == "stdlib"
                        else (records.dataclass, records.field))
    namespace = {**globals(), "dataclass": decorator, "field": field}
    exec(f"@dataclass({options})\nclass Thing:\n{body}", namespace)  # noqa: S102


def _methods_of(cls) -> dict[str, str]:
    return {name: getattr(cls, name).__qualname__ for name in ("__init__", "__repr__", "__eq__", "__hash__",
                                                              "__setattr__", "__delattr__")
            if callable(getattr(cls, name, None)) and name in cls.__dict__}


BODY = """
    name: str
    size: int = 3
    tags: tuple = field(default_factory=tuple)
    hidden: int = field(default=7, repr=False, compare=False)
    late: tuple = field(default_factory=tuple, init=False)
    counter: ClassVar[int] = 0
    other: typing.ClassVar[str] = "x"
"""

OPTIONS = ["frozen=True, slots=True", "frozen=True", "frozen=True, eq=False", "", "eq=False", "slots=True",
           "unsafe_hash=True", "frozen=True, unsafe_hash=True, slots=True", "order=True", "repr=False",
           "match_args=False", "kw_only=True"] + (["frozen=True, slots=True, weakref_slot=True"]
                                                  if sys.version_info >= (3, 11) else [])


def _instances(cls, kw_only: bool):
    calls = [(("a",), {}), (("b", 5), {"tags": (1, 2)}), ((), {"name": "c", "hidden": 1}), (("a",), {"hidden": 9})]
    for args, kwargs in calls:
        if kw_only:
            args, kwargs = (), {**dict(zip(("name", "size"), args)), **kwargs}
        yield cls(*args, **kwargs)


@pytest.mark.parametrize("options", OPTIONS)
def test_the_class_behaves_as_the_stdlibs(options):
    theirs, ours = _both(BODY, options)
    pairs = list(zip(_instances(theirs, "kw_only" in options), _instances(ours, "kw_only" in options)))
    for a, b in pairs:
        assert repr(b) == repr(a) if "repr=False" not in options else ours.__repr__ is object.__repr__
        assert dataclasses.asdict(b) == dataclasses.asdict(a) and dataclasses.astuple(b) == dataclasses.astuple(a)
        assert (b == "x") == (a == "x")
        assert (ours.__hash__ is None) == (theirs.__hash__ is None)
        if ours.__hash__ is not None and "eq=False" not in options:
            assert hash(b) == hash(a)  # the same tuple of the same fields: the very same value
    for (a1, b1) in pairs:
        for (a2, b2) in pairs:
            assert (b1 == b2) == (a1 == a2) and (b1 != b2) == (a1 != a2)
            if "order" in options:
                assert (b1 < b2, b1 <= b2, b1 > b2, b1 >= b2) == (a1 < a2, a1 <= a2, a1 > a2, a1 >= a2)
    assert [f.name for f in records.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert getattr(ours, "__match_args__", None) == getattr(theirs, "__match_args__", None)
    assert ours.__doc__ == theirs.__doc__
    assert getattr(ours, "__slots__", None) == getattr(theirs, "__slots__", None)
    assert ours.counter == theirs.counter == 0 and ours.other == theirs.other == "x"
    assert _methods_of(ours) == _methods_of(theirs)
    assert ours.__init__.__annotations__ == theirs.__init__.__annotations__


def test_a_frozen_instance_refuses_assignment_and_deletion():
    theirs, ours = _both(BODY)
    thing = ours("a")
    with pytest.raises(records.FrozenInstanceError, match="cannot assign to field 'size'"):
        thing.size = 4
    with pytest.raises(records.FrozenInstanceError, match="cannot delete field 'size'"):
        del thing.size
    with pytest.raises(AttributeError):
        thing.size = 4
    with pytest.raises(dataclasses.FrozenInstanceError):  # also the stdlib's error, once the stdlib is loaded
        thing.size = 4
    assert issubclass(records.FrozenInstanceError, AttributeError)
    _, non_slotted = _both(BODY, "frozen=True")
    with pytest.raises(records.FrozenInstanceError, match="cannot assign to field 'anything'"):
        non_slotted("a").anything = 1  # any name, as the stdlib's: type(self) is the class


def test_replace_is_the_stdlibs():
    theirs, ours = _both(BODY)
    for replace in (records.replace, dataclasses.replace):  # either function on either class
        for cls in (theirs, ours):
            thing = cls("a", tags=(1,))
            assert replace(thing, size=9) == cls("a", 9, (1,)) and replace(thing) == thing
            assert repr(replace(thing, hidden=2)) == repr(cls("a", hidden=2, tags=(1,)))
    for cls in (theirs, ours):
        thing = cls("a")
        assert _raised(lambda: records.replace(thing, late=())) == _raised(lambda: dataclasses.replace(thing, late=()))
        assert _raised(lambda: records.replace(thing, nothing=1))[0] is TypeError
    assert _raised(lambda: records.replace(5, a=1)) == _raised(lambda: dataclasses.replace(5, a=1))


def test_the_stdlibs_functions_read_a_record():
    _, ours = _both(BODY)
    thing = ours("a")
    assert dataclasses.is_dataclass(ours) and dataclasses.is_dataclass(thing)
    assert [f.name for f in dataclasses.fields(thing)] == ["name", "size", "tags", "hidden", "late"]
    assert dataclasses.asdict(thing) == {"name": "a", "size": 3, "tags": (), "hidden": 7, "late": ()}
    assert _raised(lambda: records.fields(5)) == _raised(lambda: dataclasses.fields(5))


def test_factories_make_a_new_value_per_instance():
    body = "    items: list = field(default_factory=list)\n    late: list = field(default_factory=list, init=False)\n"
    theirs, ours = _both(body, "frozen=True, eq=False")
    first, second = ours(), ours()
    assert first.items == first.late == [] and first.items is not second.items and first.late is not second.late
    assert repr(ours([1])) == repr(theirs([1]))


def test_frozen_slotted_instances_pickle_and_copy():
    global Pickled
    Pickled = records.dataclass(frozen=True, slots=True)(type("Pickled", (), {"__annotations__": {"a": int, "b": str},
                                                                              "__module__": __name__}))
    thing = Pickled(1, "x")
    assert pickle.loads(pickle.dumps(thing)) == thing
    assert copy.copy(thing) == thing and copy.deepcopy(thing) == thing
    assert not hasattr(thing, "__dict__")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the stdlib's weakref_slot is 3.11's")
def test_weakref_slot():
    theirs, ours = _both("    a: int\n", "frozen=True, slots=True, weakref_slot=True")
    thing = ours(1)
    assert weakref.ref(thing)() is thing and ours.__slots__ == theirs.__slots__
    _same_error("    a: int\n", "weakref_slot=True")


def test_keyword_only_fields_and_post_init():
    body = """
    a: int
    b: int = field(default=2, kw_only=True)
    def __post_init__(self):
        object.__setattr__(self, "a", self.a * 10)
"""
    theirs, ours = _both(body)
    assert repr(ours(1, b=3)) == repr(theirs(1, b=3)) == "Thing(a=10, b=3)"
    assert ours.__doc__ == theirs.__doc__
    assert _raised(lambda: ours(1, 3)) == _raised(lambda: theirs(1, 3))


def test_post_init_of_a_templated_init():
    body = "    a: int\n    b: int = 2\n    def __post_init__(self):\n        object.__setattr__(self, 'a', self.a + self.b)\n"
    for options in ("frozen=True, slots=True", ""):
        theirs, ours = _both(body, options)
        assert repr(ours(1)) == repr(theirs(1)) == "Thing(a=3, b=2)"


def test_what_the_class_defines_itself_is_kept():
    body = """
    a: int
    def __repr__(self):
        return "mine"
    def __hash__(self):
        return 5
"""
    theirs, ours = _both(body)
    assert repr(ours(1)) == "mine" and hash(ours(1)) == 5 and ours(1) == ours(1)
    body = "    a: int\n    def __eq__(self, other):\n        return True\n"
    for options in ("frozen=True", "", "unsafe_hash=True"):
        theirs, ours = _both(body, options)
        assert (ours.__hash__ is None) == (theirs.__hash__ is None) and ours(1) == ours(2)
        if ours.__hash__ is not None:
            assert hash(ours(1)) == hash(theirs(1))


def test_a_subclass_adds_its_fields_after_its_bases():
    base_body = "    a: int\n    b: str = 'b'\n    c: tuple = ()\n"
    bases = _both(base_body, name="Base")
    body = "    d: int = 4\n    b: str = 'again'\n"  # b keeps its place, with the subclass's default
    theirs, ours = _both(body, bases=((bases[0],), (bases[1],)), name="Child")
    assert [f.name for f in records.fields(ours)] == [f.name for f in dataclasses.fields(theirs)] == ["a", "b", "c", "d"]
    assert repr(ours(1)) == repr(theirs(1)) == "Child(a=1, b='again', c=(), d=4)"
    assert ours(1) != bases[1](1) and ours.__doc__ == theirs.__doc__
    assert ours.__slots__ == ("d",)  # b and c are slots of the base already (the stdlib's too from 3.11)
    assert sys.version_info < (3, 11) or theirs.__slots__ == ("d",)
    plain = type("Plain", (bases[1],), {})  # a plain subclass is frozen by its base too
    with pytest.raises(records.FrozenInstanceError):
        plain(1).a = 2


def test_inheritance_across_the_two_decorators():
    base = dataclasses.dataclass(frozen=True)(type("StdBase", (), {"__annotations__": {"a": "int", "b": "int"},
                                                                    "b": 2, "__module__": __name__}))
    child = records.dataclass(frozen=True)(type("Child", (base,), {"__annotations__": {"c": "int"}, "c": 3,
                                                                    "__module__": __name__}))
    assert repr(child(1)) == "Child(a=1, b=2, c=3)" and records.replace(child(1), b=5).b == 5
    ours = records.dataclass(frozen=True)(type("Base", (), {"__annotations__": {"a": "int"}, "__module__": __name__}))
    theirs = dataclasses.dataclass(frozen=True)(type("StdChild", (ours,), {"__annotations__": {"b": "int"}, "b": 2,
                                                                            "__module__": __name__}))
    assert repr(theirs(1)) == "StdChild(a=1, b=2)" and theirs(1) == theirs(1)


def test_the_stdlibs_errors_at_definition():
    assert _same_error("    a: int = 1\n    b: int\n")[0] is TypeError  # non-default argument follows default
    _same_error("    a: int\n    def __setattr__(self, name, value):\n        pass\n")
    _same_error("    a: list = []\n")  # mutable default
    _same_error("    a = field(default=1)\n")  # a field without an annotation
    _same_error("    a: int\n", "order=True, eq=False")
    _same_error("    a: int\n    def __lt__(self, other):\n        return True\n", "order=True", words=6)  # 3.13: no "."
    _same_error("    a: int\n    def __hash__(self):\n        return 1\n", "unsafe_hash=True")
    _same_error("    __slots__ = ('a',)\n    a: int\n")
    _same_error("    a: ClassVar[list] = field(default_factory=list)\n")
    assert _raised(lambda: records.field(default=1, default_factory=int)) == \
        _raised(lambda: dataclasses.field(default=1, default_factory=int))


@pytest.mark.parametrize("base_frozen", [True, False])
def test_frozen_and_mutable_do_not_inherit_each_other(base_frozen):
    errors = []
    for decorator in (dataclasses.dataclass, records.dataclass):
        base = decorator(frozen=base_frozen)(type("Base", (), {"__annotations__": {"a": int}}))
        child = type("Child", (base,), {"__annotations__": {"b": int}, "b": 0})
        errors.append(_raised(lambda: decorator(frozen=not base_frozen)(child)))  # noqa: B023 - called at once
    assert errors[0] is not None and errors[1] == errors[0]


def test_class_variables_are_not_fields():
    """As the stdlib decides: the typing object, or a string naming it in the class's module (bare or through
    the module's name for typing), also with leading spaces; not a longer name that contains it."""
    annotations = {"a": "int", "g": "NotClassVar", "b": "ClassVar[int]", "c": "typing.ClassVar[str]",
                   "d": typing.ClassVar[int], "e": typing.ClassVar, "f": "  ClassVar"}
    made = [decorator(frozen=True, slots=True)(type("Thing", (), {
        "__annotations__": annotations, "b": 1, "c": "c", "d": 2, "e": 3, "f": 4, "__module__": __name__}))
        for decorator in (dataclasses.dataclass, records.dataclass)]
    theirs, ours = made
    assert [f.name for f in records.fields(ours)] == [f.name for f in dataclasses.fields(theirs)] == ["a", "g"]
    assert (ours.b, ours.c, ours.d, ours.e, ours.f) == (1, "c", 2, 3, 4) and repr(ours(5, 6)) == "Thing(a=5, g=6)"
    assert ours.__doc__ == theirs.__doc__


def test_initvar_and_kw_only_markers_are_refused():
    with pytest.raises(TypeError, match="InitVar"):
        records.dataclass(type("X", (), {"__annotations__": {"a": dataclasses.InitVar[int]}}))
    with pytest.raises(TypeError, match="KW_ONLY"):
        records.dataclass(type("X", (), {"__annotations__": {"_": dataclasses.KW_ONLY, "a": int}}))


def test_a_record_inside_itself_repr_as_the_stdlib():
    theirs, ours = _both("    items: list = field(default_factory=list)\n", "eq=False")
    a, b = theirs(), ours()
    a.items.append(a)
    b.items.append(b)
    assert repr(b) == repr(a) == "Thing(items=[...])"


def test_a_nan_field_compares_as_the_stdlibs():
    """Tuples of the same NaN object are equal (up to 3.12); 3.13's stdlib compares field by field."""
    theirs, ours = _both("    a: float\n    b: int = 0\n")
    nan = float("nan")
    assert (ours(nan) == ours(nan), ours(nan) != ours(nan)) == (theirs(nan) == theirs(nan), theirs(nan) != theirs(nan))
    thing = ours(nan)
    assert thing == thing


def test_eq_is_false_across_classes_and_subclasses():
    _, ours = _both("    a: int\n")
    other = records.dataclass(frozen=True, slots=True)(type("Other", (), {"__annotations__": {"a": "int"}}))
    sub = type("Sub", (ours,), {})
    assert ours(1) != other(1) and ours(1) != sub(1) and ours(1).__eq__(other(1)) is NotImplemented


# -- the templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("options", ["frozen=True, slots=True", "", "frozen=True"])
def test_a_method_renamed_from_a_template_is_the_stdlibs(options):
    """Field names that are also the templates' placeholders (_0, _1) are renamed all at once."""
    theirs, ours = _both("    alpha: int\n    _0: str\n    gamma: tuple = (1,)\n    delta: str = '_1'\n", options)
    for args in [(1, "a"), (2, "b", (3,)), (4, "c", (), "d")]:
        assert repr(ours(*args)) == repr(theirs(*args)) and ours(*args) == ours(*args)
        if "frozen" in options:
            assert hash(ours(*args)) == hash(theirs(*args))
    assert repr(ours(alpha=1, _0="x", delta="y")) == repr(theirs(alpha=1, _0="x", delta="y"))
    assert ours.__init__.__code__.co_varnames == ("self", "alpha", "_0", "gamma", "delta")
    assert _raised(lambda: ours(1)) == _raised(lambda: theirs(1))  # the same message, by qualified name
    assert _raised(lambda: ours(1, "a", b=2)) == _raised(lambda: theirs(1, "a", b=2))


def test_making_and_using_a_plain_record_compiles_nothing(monkeypatch):
    """A class of fields without factories is made from the precompiled templates: no exec, no compile
    (the stdlib's decorator compiles ~5 functions a class); only repr compiles, when first called."""
    import builtins

    calls = []
    for name in ("exec", "compile"):
        real = getattr(builtins, name)
        monkeypatch.setattr(builtins, name, lambda *args, real=real, name=name, **kwargs: (
            calls.append(name), real(*args, **kwargs))[1])
    made = records.dataclass(frozen=True, slots=True)(type("Plain", (), {
        "__annotations__": {"a": "int", "b": "str", "c": "tuple"}, "c": (), "__module__": __name__}))
    thing = made(1, "x")
    assert thing == made(1, "x") and hash(thing) == hash((1, "x", ())) and records.replace(thing, a=2).a == 2
    assert calls == []
    assert repr(thing) == "Plain(a=1, b='x', c=())" and calls == ["exec"]


def test_the_signature_doc_is_written_when_first_read_as_the_stdlibs():
    """Most records' docs are never read: the text is written on the first read, of the class or of an
    instance, and is the stdlib's (pydoc's and inspect's too)."""
    import inspect

    theirs, ours = _both(BODY)
    assert isinstance(vars(ours)["__doc__"], records.SignatureDoc)
    assert ours("a").__doc__ == theirs("a").__doc__ == theirs.__doc__ == vars(ours)["__doc__"]  # the text, since
    assert ours.__doc__ == inspect.getdoc(ours) == inspect.getdoc(theirs)
    subclass = type("Sub", (ours,), {"__slots__": ()})
    assert subclass.__doc__ is None and subclass("a").__doc__ is None  # as a subclass of the stdlib's


def test_records_of_more_fields_than_the_templates_hold():
    count = record_methods.TEMPLATED + 3
    body = "".join(f"    f{i}: int = {i}\n" for i in range(count))
    theirs, ours = _both(body)
    assert repr(ours()) == repr(theirs()) and hash(ours()) == hash(theirs()) and ours() == ours()
    assert ours(*range(5, 5 + count)) == ours(*range(5, 5 + count)) != ours()


def test_every_record_of_analyzes_path_is_made_from_the_templates():
    """No record a run of `analyze` defines has more fields than record_templates.py holds (it would compile
    its methods at every start-up); Memory and report.Row have 19."""
    from cnncalc import layers, pipeline, report  # noqa: F401 - the modules of analyze's path
    from cnncalc.commands import analyze_run  # noqa: F401
    from cnncalc.render import table  # noqa: F401

    layers.kinds()
    counts = [len(records.fields(value)) for name, module in list(sys.modules.items()) if name.startswith("cnncalc")
              for value in vars(module).values() if isinstance(value, type) and "__dataclass_fields__" in value.__dict__]
    assert 19 <= max(counts) <= record_methods.TEMPLATED


@pytest.mark.parametrize("module", list(record_methods.TEMPLATE_KINDS))
def test_the_generated_templates_are_up_to_date(module):
    """cnncalc/record_templates.py is `python -m cnncalc.record_methods`'s output, record_templates_rare.py
    `python -m cnncalc.record_methods record_templates_rare`'s (regenerate them so)."""
    text = (ROOT / "cnncalc" / f"{module}.py").read_text(encoding="utf-8")
    assert text == record_methods.templates_source(module)
    assert record_templates.frozen_3.__code__.co_varnames == ("self", "_0", "_1", "_2")


# -- random classes against the stdlib -------------------------------------------------------------

DEFAULTS = st.one_of(st.integers(-3, 3), st.text("ab", max_size=2), st.none(), st.tuples(st.integers(0, 2)),
                     st.floats(allow_nan=False, allow_infinity=False, width=16))
VALUES = st.one_of(DEFAULTS, st.just(float("nan")))
FIELD_NAMES = st.sampled_from(["a", "b", "_0", "_1", "_2", "name", "other", "value", "x_y", "hash", "self_"])


@st.composite
def classes(draw):
    """A random body: fields with and without defaults (defaults last), some repr/compare/hash off, some
    with factories or init=False, and random values for two instances."""
    names = draw(st.lists(FIELD_NAMES, max_size=8, unique=True))
    extra = draw(st.integers(0, 20)) if draw(st.booleans()) else 0
    names += [f"f{i}" for i in range(extra)]
    first_default = draw(st.integers(0, len(names)))
    lines, kinds = [], []
    for index, name in enumerate(names):
        options = []
        kind = "plain"
        if index >= first_default:
            if draw(st.integers(0, 4)) == 0:
                options.append("default_factory=tuple")
                kind = "factory"
            else:
                options.append(f"default={draw(DEFAULTS)!r}")
                kind = "default"
            if draw(st.integers(0, 5)) == 0:
                options.append("init=False")
                kind = "noinit"
        for flag in ("repr", "compare"):
            if draw(st.integers(0, 5)) == 0:
                options.append(f"{flag}=False")
        if draw(st.integers(0, 6)) == 0:
            options.append(f"hash={draw(st.booleans())}")
        lines.append(f"    {name}: int = field({', '.join(options)})\n" if options else f"    {name}: int\n")
        kinds.append(kind)
    options = draw(st.sampled_from(["frozen=True, slots=True", "frozen=True", "", "slots=True", "unsafe_hash=True",
                                    "frozen=True, order=True"]))
    values = [{name: draw(VALUES) for name, kind in zip(names, kinds) if kind in ("plain", "default")}
              for _ in range(2)]
    return "".join(lines) or "    pass\n", options, values


@settings(max_examples=80, deadline=None)
@given(classes())
def test_random_records_are_the_stdlibs(drawn):
    body, options, values = drawn
    theirs, ours = _both(body, options)
    assert [f.name for f in records.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert ours.__match_args__ == theirs.__match_args__ and ours.__doc__ == theirs.__doc__
    pairs = [(theirs(**given), ours(**given)) for given in values]
    for a, b in pairs:
        assert repr(b) == repr(a) and dataclasses.astuple(b) == dataclasses.astuple(a)
        if ours.__hash__ is not None:
            assert hash(b) == hash(a)
        changed = {name: 1 for name in list(values[0])[:1]}
        assert repr(records.replace(b, **changed)) == repr(dataclasses.replace(a, **changed))
    (a1, b1), (a2, b2) = pairs
    assert (b1 == b2, b1 == b1, b1 != b2) == (a1 == a2, a1 == a1, a1 != a2)
    if "order" in options:  # values of different types: the same TypeError
        assert _raised(lambda: b1 < b2) == _raised(lambda: a1 < a2) and _raised(lambda: b1 >= b2) == _raised(
            lambda: a1 >= a2)
        if _raised(lambda: a1 < a2) is None:
            assert (b1 < b2, b1 >= b2) == (a1 < a2, a1 >= a2)
