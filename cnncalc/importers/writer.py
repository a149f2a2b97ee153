"""The imported spec as YAML text: block style for the lists and constructs, flow style for a layer's
settings (`- conv: {filters: 64, kernel: 3, padding: 1}`), as the shipped specs are written."""

from __future__ import annotations

import json
import re
from cnncalc.records import dataclass, field
from typing import Any

from cnncalc.importers.structure import Item
from cnncalc.render.safe import escape

_PLAIN = re.compile(r"[A-Za-z_$][A-Za-z0-9_$ *+\-/()]*$")
_EXPRESSION = re.compile(r"[0-9][0-9 ]*\* \$[A-Za-z_][A-Za-z0-9_]*$")
_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _WORDS and not text.endswith(" "):
        return text
    if re.fullmatch(r"[0-9]+(x[0-9]+)+", text):  # a shape, 7x7x512
        return text
    if "$" in text and _EXPRESSION.match(text):  # block arithmetic, `4 * $filters`, as people write it
        return text
    return json.dumps(text)


@dataclass(frozen=True)
class Block:
    name: str
    params: tuple[str, ...]
    layers: tuple[Item, ...]
    description: str = ""


@dataclass(frozen=True)
class SpecText:
    name: str
    input: str
    items: tuple[Item, ...]
    blocks: tuple[Block, ...] = ()
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    comment: str = ""


def _settings(item: Item) -> str:
    return "{" + ", ".join(f"{key}: {scalar(value)}" for key, value in item.settings) + "}"


def _item(item: Item, indent: int) -> list[str]:
    pad = " " * indent
    if item.word == "residual":
        layers, shortcut = item.branches
        lines = [f"{pad}- residual:", f"{pad}    layers:", *_list(layers, indent + 6)]
        if shortcut:
            lines += [f"{pad}    shortcut:", *_list(shortcut, indent + 6)]
        return lines
    if item.word in ("concat", "add", "multiply", "split"):
        lines = [f"{pad}- {item.word}:"]
        inner = pad
        if item.settings:  # split: {sections: [...], merge: add, branches: [...]}
            lines += [f"{pad}    {key}: {scalar(value)}" for key, value in item.settings]
            lines.append(f"{pad}    branches:")
            inner = pad + "  "
        for branch in item.branches:
            if not branch:
                lines.append(f"{inner}    - []")
                continue
            first, *rest = _list(branch, len(inner) + 6)
            lines.append(f"{inner}    - -" + first.lstrip()[1:])
            lines += rest
        return lines
    if item.word == "output":  # a side output: {name, training_only, layers}
        return [f"{pad}- output:", *(f"{pad}    {key}: {scalar(value)}" for key, value in item.settings),
                f"{pad}    layers:", *_list(item.branches[0], indent + 6)]
    if item.word == "repeat":
        return [f"{pad}- repeat:", f"{pad}    times: {item.options['times']}", f"{pad}    layers:",
                *_list(item.branches[0], indent + 6)]
    if item.settings:
        return [f"{pad}- {item.word}: {_settings(item)}"]
    return [f"{pad}- {item.word}"]


def _list(items: tuple[Item, ...], indent: int) -> list[str]:
    return [line for item in items for line in _item(item, indent)]


def to_yaml(spec: SpecText) -> str:
    lines = [f"# {escape(line)}" if line else "#" for line in spec.comment.split("\n")] if spec.comment else []
    lines += [f"name: {json.dumps(spec.name)}", "convention: pytorch        # ONNX sizes floor (ceil_mode is explicit)",
              f"input: {spec.input}"]
    if spec.defaults:
        lines.append("defaults:")
        lines += [f"  {kind}: {{" + ", ".join(f"{k}: {scalar(v)}" for k, v in values.items()) + "}"
                  for kind, values in spec.defaults.items()]
    if spec.blocks:
        lines.append("blocks:")
        for block in spec.blocks:
            lines.append(f"  {block.name}:")
            if block.description:
                lines.append(f"    description: {json.dumps(block.description)}")
            if block.params:
                lines.append("    params: [" + ", ".join(block.params) + "]")
            lines.append("    layers:")
            lines += _list(block.layers, 6)
    lines.append("layers:")
    lines += _list(spec.items, 2)
    return "\n".join(lines) + "\n"
