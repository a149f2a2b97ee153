"""`cnncalc graph`: the layer graph alone, as Graphviz DOT, Mermaid flowchart or SVG (cnncalc's own layout).

Every format shows the same view (render/diagram.py): one node per layer, or per collapsed block
below `--depth`, labelled with name, kind and output shape; expanded blocks are DOT clusters and
Mermaid subgraphs, and boxes around their layers in the SVG.
"""

from __future__ import annotations

from cnncalc.render import escape
from cnncalc.render.diagram import Diagram, View, svg

FORMATS = ("svg", "dot", "mermaid")


def _children(diagram: Diagram, view: View) -> tuple[dict[int | None, list[int]], dict[int | None, list[int]]]:
    """The nesting of the view: per cluster (None = the top), its child clusters and its own items."""
    clusters: dict[int | None, list[int]] = {None: []}
    items: dict[int | None, list[int]] = {None: []}
    parents: dict[int, int | None] = {}
    for item in view.items:
        for position, b in enumerate(item.scopes):
            parents.setdefault(b, item.scopes[position - 1] if position else None)
    for b in view.clusters:
        clusters.setdefault(b, [])
        items.setdefault(b, [])
        clusters.setdefault(parents[b], []).append(b)
    for i, item in enumerate(view.items):
        items[item.scopes[-1] if item.scopes else None].append(i)
    return clusters, items


def _label(item) -> tuple[str, str, str]:
    return item.title, item.kind, item.shape


def to_dot(diagram: Diagram, level: int | None = None) -> str:
    view = diagram.view(diagram.full_level if level is None else level)
    clusters, items = _children(diagram, view)
    out = [f'digraph "{escape.dot(diagram.report.name)}" {{',
           '  graph [rankdir=TB, fontname="Helvetica", fontsize=10];',
           '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
           '  edge [color="#777788"];']

    def emit(scope: int | None, indent: str) -> None:
        for i in items[scope]:
            item = view.items[i]
            label = "\\n".join(escape.dot(part) for part in _label(item))
            shape = ', style="rounded,filled,bold"' if item.block is not None else ""
            out.append(f'{indent}n{i} [label="{label}", tooltip="{escape.dot(item.name)}"{shape}];')
        for b in clusters.get(scope, []):
            block = diagram.blocks[b]
            out.append(f"{indent}subgraph cluster_{b} {{")
            out.append(f'{indent}  label="{escape.dot(block.path[-1])} ({escape.dot(block.kind)})"; '
                       'style="dashed,rounded"; color="#99aabb";')
            emit(b, indent + "  ")
            out.append(f"{indent}}}")

    emit(None, "  ")
    out += [f"  n{a} -> n{b};" for a, b in view.edges]
    out.append("}")
    return "\n".join(out) + "\n"


def to_mermaid(diagram: Diagram, level: int | None = None) -> str:
    view = diagram.view(diagram.full_level if level is None else level)
    clusters, items = _children(diagram, view)
    out = ["flowchart TD"]

    def emit(scope: int | None, indent: str) -> None:
        for i in items[scope]:
            item = view.items[i]
            label = "<br/>".join(escape.mermaid(part) for part in _label(item))
            out.append(f'{indent}n{i}["{label}"]')
        for b in clusters.get(scope, []):
            block = diagram.blocks[b]
            out.append(f'{indent}subgraph b{b}["{escape.mermaid(block.path[-1])} ({escape.mermaid(block.kind)})"]')
            emit(b, indent + "  ")
            out.append(f"{indent}end")

    emit(None, "  ")
    out += [f"  n{a} --> n{b}" for a, b in view.edges]
    return "\n".join(out) + "\n"


def render(diagram: Diagram, format: str, level: int | None = None, metric: str = "macs") -> str:
    if format == "dot":
        return to_dot(diagram, level)
    if format == "mermaid":
        return to_mermaid(diagram, level)
    return svg(diagram, level, metric)
