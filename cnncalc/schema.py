"""The JSON Schema (draft-07) of the spec format, built from the layer kinds' Param tables so that every
kind and key is covered. cnncalc/spec.schema.json is this schema, written out for editors
(`# yaml-language-server: $schema=...`); `cnncalc schema` prints it.

The schema checks structure and types; cnncalc itself checks shapes. Key names are lowercase in the
schema (cnncalc also accepts other cases for layer types); value words (padding, modes) match in any case.
"""

from __future__ import annotations

import json
from typing import Any

from cnncalc.layers import KINDS, construct_kinds
from cnncalc.layers.base import any_case
from cnncalc.limits import MAX_REPEAT
from cnncalc.spec import PATTERN_KEYS, TOP_LEVEL_KEYS

DRAFT = "http://json-schema.org/draft-07/schema#"


def _constructs(ref: str) -> dict[str, Any]:
    """repeat, residual and the merge kinds' constructs (concat, add), whose bodies are layer lists
    again (`ref`)."""
    name = {"description": "the construct's name in reports", "type": ["string", "number"]}
    return {
        "repeat": {
            "description": "a block of layers repeated `times` times (names get _1, _2, ... appended)",
            "type": "object",
            "properties": {
                "times": {"description": "how many copies", "type": "integer", "minimum": 0, "maximum": MAX_REPEAT},
                "layers": {"description": "the block's layers", "$ref": ref},
            },
            "required": ["times", "layers"],
            "additionalProperties": False,
        },
        "residual": {
            "description": "residual: output = layers(x) + shortcut(x) (no shortcut: the identity)",
            "anyOf": [
                {"$ref": ref},
                {"type": "object", "description": "the body, the shortcut and a name",
                 "properties": {"layers": {"description": "the body", "$ref": ref},
                                "shortcut": {"description": "the shortcut's layers (omitted or []: identity)",
                                             "anyOf": [{"$ref": ref}, {"type": "null"}]},
                                "name": name},
                 "required": ["layers"], "additionalProperties": False},
            ],
        },
        **{kind.name: kind.construct_schema(ref) for kind in construct_kinds()},
        "split": _split(ref, name),
        "output": {
            "description": "a side branch ending in a named output (an auxiliary head); the layers after it "
                           "read what the branch read",
            "type": "object",
            "properties": {
                "name": {"description": "the output's name in reports (not `main`)", "type": ["string", "number"]},
                "training_only": {"description": "run in training only, left out of inference (default false)",
                                  "type": "boolean"},
                "layers": {"description": "the head's layers (at least one); the last one's output is the output",
                           "$ref": ref},
            },
            "required": ["name", "layers"],
            "additionalProperties": False,
        },
    }


def _split(ref: str, name: dict[str, Any]) -> dict[str, Any]:
    """The split construct (cnncalc/blocks.py SplitSpec): one branch per channel group."""
    from cnncalc.blocks import SPLIT_MERGES
    from cnncalc.layers.channels import sections

    branches = {"description": "one branch per channel group, each a list of layers ([] = the group itself)",
                "type": "array", "minItems": 2, "items": {"$ref": ref}}
    return {
        "description": "split: the input's channels in groups, group i feeding branch i, the outputs merged "
                       "(ShuffleNetV2's chunk)",
        "anyOf": [
            branches,
            {"type": "object", "description": "branches, the groups, the merge and a name",
             "properties": {
                 "branches": branches,
                 "groups": {"description": "equal groups (default: one per branch)", "type": "integer",
                            "minimum": 1},
                 "sections": {"description": "the channels of each group, in order", **sections.schema},
                 "merge": {"description": "how the branches' outputs are merged (default: concat)",
                           "type": "string", "pattern": any_case(SPLIT_MERGES)},
                 "name": name},
             "required": ["branches"], "additionalProperties": False},
        ],
    }


BLOCK_USE = {
    "description": "a use of a block defined under `blocks:`: its arguments (and a name, and the `stage` it runs in)",
    "anyOf": [{"type": "null"}, {"type": "object"}],
}


def _library_uses() -> dict[str, Any]:
    """A use of a block of the shipped library (cnncalc/library): a name every spec knows."""
    from cnncalc import library

    return {name: {**BLOCK_USE, "description": f"a use of the library block {name}: {text}".rstrip(": ")}
            for family in library.families() for name, text in family.descriptions.items()}


def _layer_list(ref: str, open_names: bool) -> dict[str, Any]:
    """The `layers:` list. With `open_names` (a spec that defines blocks), unknown keys and names are
    block uses; without, they are mistakes the schema rejects."""
    words = sorted(KINDS)
    properties: dict[str, Any] = {w: {"description": f"{w}: {KINDS[w].summary}".rstrip(": "),
                                      "$ref": f"#/definitions/kind_{w}"} for w in words}
    properties.update(_constructs(ref))
    shipped = _library_uses()
    properties.update(shipped)
    item: dict[str, Any] = {
        "description": "one layer, construct or block use: its type and its settings",
        "type": "object",
        "properties": properties,
        "additionalProperties": BLOCK_USE if open_names else False,
        "minProperties": 1,
        "maxProperties": 1,
    }
    name: dict[str, Any] = {"description": "a layer with default settings", "type": "string"}
    if not open_names:
        name["pattern"] = any_case(words + sorted(shipped))
    return {
        "description": "a list of layers: a type name (`- relu`) or a mapping with one key, the type",
        "type": "array",
        "items": {"anyOf": [name, item]},
    }


BLOCKS = {
    "description": "reusable parameterised blocks: name -> {params, layers}; `$param` (or an expression such "
    "as `$width * 4`) in the layers is replaced by the use's argument; `$in.channels`, `$in.height`, "
    "`$in.width` ... are the shape of the tensor entering the use, and expressions may call max, min and "
    "make_divisible (torchvision's)",
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "description": "one block",
        "properties": {
            "description": {"description": "free text about the block", "type": "string"},
            "params": {
                "description": "parameters: a bare name is required, `name: default` has a default",
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "object", "minProperties": 1, "maxProperties": 1}]},
            },
            "layers": {"description": "the block's layers (checked where the block is used)", "type": "array"},
        },
        "required": ["layers"],
        "additionalProperties": False,
    },
}


def _convention() -> dict[str, Any]:
    from cnncalc.conventions import CONVENTIONS

    return {"description": "the shape convention the model was written for (the command line's --convention "
            "overrides it): " + ", ".join(CONVENTIONS), "type": "string", "pattern": any_case(CONVENTIONS)}


def _input() -> dict[str, Any]:
    return {
        "description": "the input volume per sample: 'HxWxC' (e.g. 224x224x3), 'LxC', a number of units, or a mapping",
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
    }




def spec_schema() -> dict[str, Any]:
    words = sorted(KINDS)
    pattern_words = {w.upper(): KINDS[w] for w in words if w.upper() in KINDS[w].pattern_words()}
    per_word = {
        word: {**kind.settings_schema(word, named=False),
               "description": f"pattern specs: default settings of {word} in the pattern"}
        for word, kind in sorted(pattern_words.items())
    }
    return {
        "$schema": DRAFT,
        "title": "cnncalc spec",
        "description": "A convolutional network for cnncalc: its input and its layers, front to back "
        "(`layers:`), or a cs231n-style `pattern:`.",
        "type": "object",
        "properties": {
            "name": {"description": "the model's name in reports", "type": ["string", "number"]},
            "description": {"description": "free text about the model", "type": "string"},
            "convention": _convention(),
            "input": _input(),
            "defaults": {
                "description": "settings every layer of a type starts from, e.g. conv: {stride: 1, padding: 1}",
                "type": "object",
                "properties": {w: KINDS[w].settings_schema(w, named=False) for w in words},
                "additionalProperties": False,
            },
            "blocks": BLOCKS,
            "layers": {"description": "the layers, front to back", "$ref": "#/definitions/layers"},
            "pattern": {"description": "the network as a pattern, e.g. INPUT -> [[CONV -> RELU]*2 -> POOL]*3 "
                        "-> FC(10) (docs/pattern.md)", "type": "string"},
            "vars": {"description": "values of the pattern's variables, e.g. {N: 2, M: 3}", "type": "object",
                     "additionalProperties": {"type": ["integer", "string"]}},
            **per_word,
        },
        "additionalProperties": False,
        "allOf": [
            {
                # a `pattern:` spec has no layers or blocks; a `layers:` spec has no pattern words
                "if": {"required": ["pattern"]},
                "then": {"propertyNames": {"anyOf": [{"enum": list(PATTERN_KEYS)}, {"enum": list(per_word)}]}},
                "else": {"required": ["input", "layers"], "propertyNames": {"enum": list(TOP_LEVEL_KEYS)}},
            },
            {
                # without `blocks:` every name in the layers must be a layer type or a construct
                "if": {"not": {"required": ["blocks"]}},
                "then": {"properties": {"layers": {"description": "the layers (no blocks: known names only)",
                                                   "$ref": "#/definitions/closed_layers"}}},
            },
        ],
        "definitions": {
            "layers": _layer_list("#/definitions/layers", open_names=True),
            "closed_layers": _layer_list("#/definitions/closed_layers", open_names=False),
            **{f"kind_{w}": KINDS[w].schema(w) for w in words},
        },
    }


def schema_text() -> str:
    return json.dumps(spec_schema(), indent=2) + "\n"
