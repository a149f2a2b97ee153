"""The spec format's JSON Schema: in step with the layer kinds, valid draft-07, accepting every shipped
spec and rejecting the broken ones that a schema can see (tests/data/lint, `# schema: reject`)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from cnncalc.cli import app
from cnncalc.layers import KINDS
from cnncalc.schema import schema_text, spec_schema

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "lint"
SHIPPED = sorted((ROOT / "specs").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((ROOT / "cnncalc" / "spec.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_the_shipped_schema_file_is_the_generated_one():
    # regenerate with: python -m cnncalc schema > cnncalc/spec.schema.json
    assert (ROOT / "cnncalc" / "spec.schema.json").read_text() == schema_text()


def test_cnncalc_schema_prints_it():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0 and json.loads(result.stdout) == spec_schema()


def _walk(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, i))


def test_every_property_is_described_and_every_object_is_closed():
    for path, node in _walk(spec_schema()):
        if path and path[-1] == "properties":
            for key, value in node.items():
                assert value.get("description"), (*path, key)
        # objects with declared keys are closed; the only free-form maps are a block use's arguments
        # and a block parameter's `name: default`, whose keys are the user's own names
        if node.get("type") == "object" and "properties" in node:
            # a layer item in a spec with `blocks:` may also name a block (its arguments are free-form)
            assert node.get("additionalProperties") is False or path[:2] == ("definitions", "layers"), path
        elif node.get("type") == "object":
            assert "properties" not in node and (
                "block" in node.get("description", "") or path[-1] in (1, "vars")), path


def test_every_kind_and_key_is_covered():
    schema = spec_schema()
    layer = schema["definitions"]["closed_layers"]["items"]["anyOf"][1]["properties"]
    for word, kind in KINDS.items():
        settings = schema["definitions"][f"kind_{word}"]["anyOf"][-1]["properties"]
        assert set(settings) == {p.name for p in kind.params} | {"name"}
        assert word in layer and set(schema["properties"]["defaults"]["properties"][word]["properties"]) == {
            p.name for p in kind.params
        }
    assert {"repeat", "residual", "concat", "add"} <= set(layer)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_specs_validate_and_point_editors_at_the_schema(validator, path):
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../cnncalc/spec.schema.json\n")
    assert (path.parent / "../cnncalc/spec.schema.json").resolve().is_file()
    assert not list(validator.iter_errors(yaml.safe_load(text)))


def _schema_expectation(path: Path) -> str:
    (line,) = [l for l in path.read_text().splitlines() if l.startswith("# schema:")]
    return line.split(":", 1)[1].strip()


@pytest.mark.parametrize("path", sorted(DATA.glob("*.yaml")), ids=lambda p: p.stem)
def test_broken_specs_are_rejected_where_a_schema_can_tell(validator, path):
    expectation = _schema_expectation(path)
    if expectation == "unparsable":
        with pytest.raises(yaml.YAMLError):
            yaml.safe_load(path.read_text())
        return
    errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
    assert bool(errors) == (expectation == "reject"), errors


@pytest.mark.parametrize(
    "document",
    [
        {"input": "224x224x3"},  # no layers
        {"input": "224x224x3", "layers": [{"conv": {"filters": 8, "kernel": 3}, "relu": None}]},  # two types
        {"input": "224x224x3", "layers": [{"pool": {"kernel": 2, "mode": "median"}}]},
        {"input": "224x224x3", "layers": [{"conv": {"filters": 8, "kernel": 3, "padding": "full"}}]},
        {"input": "224x224x3", "layers": [{"repeat": {"times": 2}}]},
        {"input": "224x224", "layers": ["relu"], "author": "me"},
        {"input": {"channels": 3, "rows": 5}, "layers": ["relu"]},
        {"input": "224x224x3", "layers": ["softmaxx"]},
        {"input": "224x224x3", "layers": ["relu"], "convention": "theano"},
        {"input": "224x224x3", "layers": ["relu"], "pattern": "INPUT -> FC(10)"},
        {"input": "224x224x3", "layers": ["relu"], "CONV": {"filters": 8}},
        {"input": "32x32x3", "pattern": "INPUT -> CONV -> FC(10)", "CONV": {"strides": 2}},
    ],
)
def test_schema_rejects_broken_structures(validator, document):
    assert list(validator.iter_errors(document))


def test_schema_accepts_pattern_specs(validator):
    document = yaml.safe_load("""
    name: cs231n pattern
    convention: pytorch
    input: 32x32x3
    pattern: INPUT -> [[CONV -> RELU]*N -> POOL]*M -> FC(10)
    vars: {N: 2, M: 3}
    CONV: {filters: 32, kernel: 3, padding: 1}
    """)
    assert not list(validator.iter_errors(document))


def test_schema_accepts_the_spellings_cnncalc_accepts(validator):
    document = yaml.safe_load("""
    input: {channels: 3, height: 32, width: 32}
    defaults: {conv: {padding: SAME}}
    layers:
      - Conv: {filters: 8, kernel: [3, 3], stride: 1, name: c1}
      - ReLU
      - pool: 2
      - pool: {kernel: 3, stride: 2, mode: AVG, ignore_border: false}
      - repeat: {times: 2, layers: [{conv: {filters: 8, kernel: 1}}, bn]}
      - dropout: 0.5
      - fc: {units: 10, bias: false}
    """)
    errors = [e.message for e in validator.iter_errors(document)]
    # layer types are matched case-insensitively by cnncalc but the schema's keys are lowercase
    assert len(errors) == 1 and "Conv" in errors[0]
