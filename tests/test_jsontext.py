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


# Forms (one template per keys and value types, cnncalc/render/jsontext.py) and the tuple texts kept by identity:
# every way a kept text could be taken for the wrong value.

RECORDS = st.lists(st.dictionaries(st.sampled_from(["a", "b", "%s", "c%", "d", "e", 1, True, 1.0, None]),
                                   st.one_of(SCALARS, st.tuples(SCALARS), st.lists(SCALARS, max_size=2)),
                                   min_size=4, max_size=8), max_size=6)


@settings(max_examples=300, deadline=None)
@given(RECORDS)
def test_records_of_equal_keys_are_written_as_json_dumps(records):
    assert jsontext.dumps(records) == json.dumps(records, indent=2)
    out = io.StringIO()
    jsontext.write({"layers": iter(records)}, out)
    assert out.getvalue() == json.dumps({"layers": records}, indent=2) + "\n"


def test_values_equal_across_types_keep_their_own_spelling():
    import enum

    class Level(enum.IntEnum):
        ONE = 1

    keys = ("w", "x", "y", "z")
    one, true, real = (1,), (True,), (1.0,)
    records = [dict(zip(keys, values)) for values in
               [(1, one, "%d", [1]), (True, true, "%%", [True]), (1.0, real, None, [1.0]), (Level.ONE, (Level.ONE,), 1, [])]]
    assert jsontext.dumps(records) == json.dumps(records, indent=2)
    assert jsontext.dumps({1: 1, 2: 2, 3: 3, 4: 4}) == json.dumps({1: 1, 2: 2, 3: 3, 4: 4}, indent=2)
    assert jsontext.dumps({True: 1, 2: 2, 3: 3, 4: 4}) == json.dumps({True: 1, 2: 2, 3: 3, 4: 4}, indent=2)


def test_a_kept_tuple_text_follows_the_tuple_not_its_equals_nor_a_changed_list_inside():
    shape = (8, 8, 3)
    holder = ([1],)
    for _ in range(2):
        document = {"a": shape, "b": holder, "c": 0, "d": 0}
        assert jsontext.dumps(document) == json.dumps(document, indent=2)
        holder[0].append(2)  # a tuple holding a list is never kept
    assert jsontext.dumps({"a": (True, 1), "b": (1, True), "c": 0, "d": 0}) == json.dumps(
        {"a": (True, 1), "b": (1, True), "c": 0, "d": 0}, indent=2)


# Records (lists of dicts of equal keys, written a column at a time; cnncalc/render/jsontext.py): values drawn
# from a small pool, so that columns and their combinations repeat, with every pair of values that are equal
# but written differently (1, True, 1.0; 0.0, -0.0; equal tuples that are different objects), "%" in keys
# and values, and columns of mixed types.

POOL = [0, 1, True, False, 1.0, 0.0, -0.0, float("nan"), None, "", "%s", "a", "%%d",
        tuple([1]), tuple([True]), tuple([1.0]), tuple([1]), (), ("x",), ("y",), ("a", "b%"), tuple(["x"]),
        [1], [True, "z"], {"k": 1}, {}, (([1],),)]
ROW_KEYS = ["name", "%s", "type", "shape", "a%", "n"]


@st.composite
def record_lists(draw):
    rows = draw(st.integers(min_value=jsontext._RECORDS_MIN - 1, max_value=40))
    varied = draw(st.sets(st.sampled_from(ROW_KEYS)))  # these keys' values are drawn per row; the others repeat
    repeated = {key: draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=3)) for key in ROW_KEYS}
    records = []
    for _ in range(rows):
        record = {}
        for key in ROW_KEYS:
            record[key] = draw(st.sampled_from(POOL if key in varied else repeated[key]))
        records.append(record)
    if draw(st.booleans()):  # now and then one row of other keys (or the same keys in another order)
        records.insert(draw(st.integers(0, rows)), dict(reversed(list(records[0].items()))) if draw(st.booleans())
                       else {"name": "other"})
    return records


@settings(max_examples=150, deadline=None)
@given(record_lists())
def test_lists_of_records_are_written_as_json_dumps(records):
    assert jsontext.dumps(records) == json.dumps(records, indent=2)
    assert jsontext.dumps({"deeper": [records]}) == json.dumps({"deeper": [records]}, indent=2)


@settings(max_examples=80, deadline=None)
@given(record_lists(), st.integers(min_value=1, max_value=9))
def test_streamed_records_in_chunks_are_written_as_json_dumps(records, chunk):
    original, jsontext._CHUNK = jsontext._CHUNK, chunk
    try:
        for document in ({"layers": iter(records)}, {"memory": {"layers": iter(records)}}):
            out = io.StringIO()
            jsontext.write(document, out)
            expected = {key: ({"layers": records} if key == "memory" else records) for key in document}
            assert out.getvalue() == json.dumps(expected, indent=2) + "\n"
    finally:
        jsontext._CHUNK = original


def test_records_whose_equal_values_are_written_differently():
    one, true = tuple([1]), tuple([True])  # shared by the rows (a repeating column) ...
    records = [{"f": 0.0 if i % 2 else -0.0, "n": 1 if i % 3 else True, "t": one if i % 2 else true,
                "u": tuple([1]) if i % 2 else tuple([True]),  # ... and a new tuple each row
                "s": one, "same": 5} for i in range(40)]
    assert jsontext.dumps(records) == json.dumps(records, indent=2)
    layers = [{"name": f"l{i}", "inputs": (f"l{i - 1}",) if i else (), "merge": (f"l{i - 1}", "x") if i % 2 else ("a",),
               "shape": one} for i in range(50)]
    assert jsontext.dumps(layers) == json.dumps(layers, indent=2)


def test_records_of_unusual_values_take_the_old_path():
    import enum

    class Level(enum.IntEnum):
        ONE = 1

    records = [{"a": Level.ONE if i == 5 else 1, "b": i} for i in range(20)]
    assert jsontext.dumps(records) == json.dumps(records, indent=2)
    import pytest

    with pytest.raises(TypeError):
        jsontext.write({"layers": iter([{"a": 1, "b": object() if i == 9 else 2} for i in range(20)])}, io.StringIO())
    out = io.StringIO()
    jsontext.write(iter([{"a": i, "inner": iter([i])} for i in range(20)]), out)  # an iterator in a top-level item
    assert out.getvalue() == json.dumps([{"a": i, "inner": [i]} for i in range(20)], indent=2) + "\n"
