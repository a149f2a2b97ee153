"""cnncalc/render/jsontext.py against its outside truth, `json.dumps(value, indent=2)`, on random documents."""

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.render import jsontext

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text())
KEYS = st.one_of(st.text(), st.integers(), st.booleans(), st.none(), st.floats())
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.tuples(inner, inner), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS)
def test_dumps_is_json_dumps_indent_2(document):
    assert jsontext.dumps(document) == json.dumps(document, indent=2)


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS)
def test_write_streams_the_same_text(document):
    original, jsontext._STREAMED = jsontext._STREAMED, 2  # stream even short lists
    try:
        out = io.StringIO()
        jsontext.write(document, out)
    finally:
        jsontext._STREAMED = original
    assert out.getvalue() == json.dumps(document, indent=2) + "\n"


def test_write_takes_iterators_as_lists():
    out = io.StringIO()
    jsontext.write({"layers": iter([{"a": 1}, {"b": [1, 2]}]), "empty": iter([])}, out)
    assert out.getvalue() == json.dumps({"layers": [{"a": 1}, {"b": [1, 2]}], "empty": []}, indent=2) + "\n"


def test_int_and_float_subclasses_as_json_dumps_spells_them():
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    class Ratio(float):
        pass

    document = {"level": Level.HIGH, "ratio": Ratio(0.5), "levels": [Level.HIGH, True, None, float("nan")]}
    assert jsontext.dumps(document) == json.dumps(document, indent=2)


def test_what_json_dumps_refuses_it_refuses():
    import pytest

    with pytest.raises(TypeError):
        jsontext.dumps({"x": object()})
    with pytest.raises(TypeError):
        jsontext.write({"x": [object()]}, io.StringIO())
