"""The JSON Schema (draft-07) of the spec format, built from the layer kinds' Param tables so that every
kind and key is covered. cnncalc/spec.schema.json is this schema, written out for editors
(`# yaml-language-server: $schema=...`); `cnncalc schema` prints it.

The schema checks structure and types; cnncalc itself checks shapes. Key names are lowercase in the
schema (cnncalc also accepts other cases for layer types); value words (padding, modes) match in any case.
"""

from __future__ import annotations

import json
from typing import Any

from cnncalc.layers import KINDS, LayerKind
from cnncalc.layers.base import REQUIRED, Param, any_case
from cnncalc.spec import MAX_REPEAT

DRAFT = "http://json-schema.org/draft-07/schema#"


def _param(param: Param) -> dict[str, Any]:
    schema = dict(getattr(param.parse, "schema", {}))
    description = param.doc or param.name
    if param.default is REQUIRED:
        description += " (required)"
    elif param.default is not None:
        description += f" (default: {json.dumps(param.default)})"
    return {"description": description, **schema}


def _settings(kind: LayerKind, word: str, named: bool) -> dict[str, Any]:
    properties = {p.name: _param(p) for p in kind.params}
    if named:
        properties["name"] = {"description": "the layer's name in reports and messages",
                              "type": ["string", "number"]}
    return {
        "type": "object",
        "description": f"settings of '{word}'",
        "properties": properties,
        "additionalProperties": False,
    }


def _layer_value(kind: LayerKind, word: str) -> dict[str, Any]:
    options: list[dict[str, Any]] = [{"type": "null", "description": "no settings: every key takes its default"},
                                     _settings(kind, word, named=True)]
    if kind.shorthand is not None:
        options.insert(1, {**_param(kind.param(kind.shorthand)),
                           "description": f"shorthand for {{{kind.shorthand}: ...}}"})
    return {"description": f"{word}: {kind.summary}".rstrip(": "), "anyOf": options}


def spec_schema() -> dict[str, Any]:
    words = sorted(KINDS)
    layer_properties = {w: _layer_value(KINDS[w], w) for w in words}
    layer_properties["repeat"] = {
        "description": "a block of layers repeated `times` times (names get _1, _2, ... appended)",
        "type": "object",
        "properties": {
            "times": {"description": "how many copies", "type": "integer", "minimum": 0, "maximum": MAX_REPEAT},
            "layers": {"description": "the block's layers", "$ref": "#/definitions/layers"},
        },
        "required": ["times", "layers"],
        "additionalProperties": False,
    }
    return {
        "$schema": DRAFT,
        "title": "cnncalc spec",
        "description": "A convolutional network for cnncalc: its input and its layers, front to back.",
        "type": "object",
        "properties": {
            "name": {"description": "the model's name in reports", "type": ["string", "number"]},
            "description": {"description": "free text about the model", "type": "string"},
            "input": {
                "description": "the input volume per sample: 'HxWxC' (e.g. 224x224x3), 'LxC', a number of "
                "units, or a mapping",
                "anyOf": [
                    {"type": "string", "pattern": r"^\s*[0-9]+(\s*[xX]\s*[0-9]+){0,3}\s*$",
                     "description": "sizes joined by x, channels last"},
                    {"type": "integer", "minimum": 1, "description": "a vector of this many units"},
                    {
                        "type": "object",
                        "description": "named sizes",
                        "properties": {
                            axis: {"description": f"the input's {axis}", "type": "integer", "minimum": 1}
                            for axis in ("channels", "height", "width", "length", "depth", "units")
                        },
                        "additionalProperties": False,
                    },
                ],
            },
            "defaults": {
                "description": "settings every layer of a type starts from, e.g. conv: {stride: 1, padding: 1}",
                "type": "object",
                "properties": {w: _settings(KINDS[w], w, named=False) for w in words},
                "additionalProperties": False,
            },
            "layers": {"description": "the layers, front to back", "$ref": "#/definitions/layers"},
        },
        "required": ["input", "layers"],
        "additionalProperties": False,
        "definitions": {
            "layers": {
                "description": "a list of layers: a type name (`- relu`) or a mapping with one key, the type",
                "type": "array",
                "items": {
                    "anyOf": [
                        {"description": "a layer with default settings", "type": "string",
                         "pattern": any_case(words)},
                        {
                            "description": "one layer (or a repeat block): its type and its settings",
                            "type": "object",
                            "properties": layer_properties,
                            "additionalProperties": False,
                            "minProperties": 1,
                            "maxProperties": 1,
                        },
                    ]
                },
            }
        },
    }


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2) + "\n"
