"""An expanded layer list: for people (one line per layer) and as a YAML spec `analyze` reads unchanged."""

from __future__ import annotations

import json
import re
from typing import Any

from cnncalc.graph import Graph, Node
from cnncalc.layers.base import REQUIRED
from cnncalc.render.safe import escape

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_NOT_PLAIN_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _NOT_PLAIN_WORDS:
        return text
    return json.dumps(text)


def settings(node: Node) -> dict[str, Any]:
    """The settings that differ from the kind's own defaults (required ones always)."""
    result = {}
    for param in node.kind.params:
        value = node.params.get(param.name)
        if value is None or (param.default is not REQUIRED and value == param.default):
            continue
        result[param.name] = value
    return result


def _settings_text(node: Node) -> str:
    return ", ".join(f"{key}: {_scalar(value)}" for key, value in settings(node).items())


def to_text(model: Graph) -> str:
    """`#  name  type  settings  from` for every layer, the input first."""
    rows = [("#", "layer", "type", "settings", "from")]
    first = model.nodes[0]
    rows.append(("0", "input", "input", str(model.input), _where(first)))
    for node in model.nodes[1:]:
        rows.append((str(node.index), node.name, node.type, _settings_text(node), _where(node)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    lines.append(f"{len(model.nodes) - 1} layers after the input")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _where(node: Node) -> str:
    loc = node.loc
    return f"{loc.line}:{loc.col}" if loc.line > 0 else ""


def _auto_names(model: Graph) -> list[bool]:
    """Whether each layer's name is the one the graph would give it unnamed (conv1, conv2, ...)."""
    counters: dict[str, int] = {}
    result = []
    for node in model.nodes[1:]:
        candidate = f"{node.type}{counters.get(node.type, 0) + 1}"
        auto = node.name == candidate
        if auto:
            counters[node.type] = counters.get(node.type, 0) + 1
        result.append(auto)
    return result


def is_chain(model: Graph) -> bool:
    """Whether every layer reads the one before it, outside any block: what a flat list can say."""
    return all(node.inputs == (node.index - 1,) and not node.block for node in model.nodes[1:])


def to_yaml(model: Graph, comment: str = "") -> str:
    """A flat spec with one item per layer; analysing it gives the same report as its source."""
    # a path or a pattern in a comment must not end it: only "\n" separates the comment's lines, every
    # other line break or control character (and one in a path given there) is written escaped
    lines = [f"# {escape(line)}" for line in comment.split("\n")] if comment else []
    lines.append(f"name: {json.dumps(model.name)}")
    if model.convention:
        lines.append(f"convention: {model.convention}")
    lines += [f"input: {model.input}", "layers:"]
    for node, auto in zip(model.nodes[1:], _auto_names(model)):
        values = settings(node)
        if not auto:
            values["name"] = node.name
        where = f"  # {escape(node.loc)}" if node.loc.line > 0 else ""
        if values:
            body = ", ".join(f"{key}: {_scalar(value)}" for key, value in values.items())
            lines.append(f"  - {node.type}: {{{body}}}{where}")
        else:
            lines.append(f"  - {node.type}{where}")
    return "\n".join(lines) + "\n"
