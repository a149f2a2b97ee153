"""The layer graph as a diagram: visible nodes at a collapse level, clusters for blocks, and its SVG.

A *block* is a scope of the report rows' `block` paths whose kind is a spec block (`blocks:`), not a
`branch` or `shortcut`. Its *depth* counts the blocks on its path, itself included. At level L every
block of depth L + 1 is drawn as one node (its layers' MACs and memory summed) and blocks of depth
<= L as clusters around their layers; `full_level` shows every layer. The HTML report embeds one SVG
per level; `cnncalc graph --depth` picks one.
"""

from __future__ import annotations

from cnncalc.records import dataclass

from cnncalc.layout import Layout, layered, ranks
from cnncalc.render.escape import xml
from cnncalc.report import Report, Row
from cnncalc.units import binary, exact, short

UNBLOCKED = ("branch", "shortcut")
CHAR = 6.6  # px per character of the 11 px monospace labels
LINE = 13.0
PAD = 8.0
MIN_WIDTH, MAX_WIDTH = 64.0, 190.0
MAX_CHARS = int((MAX_WIDTH - 2 * PAD) / CHAR)
NODE_HEIGHT = 3 * LINE + 8
CLUSTER_PAD = 8.0
LABEL = 16.0
BOTTOM = 6.0
METRICS = ("macs", "memory", "none")


@dataclass(frozen=True, slots=True)
class Block:
    id: int
    path: tuple[str, ...]
    kind: str
    depth: int
    rows: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Item:
    """One drawn node: a layer, or a collapsed block (`block` is its id)."""

    name: str
    title: str
    kind: str
    shape: str
    macs: int
    memory: int
    rows: tuple[int, ...]
    #: ids of the expanded blocks around it, outermost first
    scopes: tuple[int, ...]
    block: int | None = None


@dataclass(frozen=True, slots=True)
class View:
    level: int
    items: tuple[Item, ...]
    edges: tuple[tuple[int, int], ...]
    #: the expanded blocks drawn as clusters (ids)
    clusters: tuple[int, ...]


def shape_text(dims: tuple[int, ...]) -> str:
    return " x ".join(str(d) for d in dims)


def local_name(row: Row) -> str:
    prefix = "/".join(row.block)
    return row.name[len(prefix) + 1:] if prefix and row.name.startswith(prefix + "/") else row.name


def row_memory(report: Report) -> list[int]:
    layers = report.memory.layers
    if len(layers) != len(report.rows):
        return [0] * len(report.rows)
    return [x.output_bytes + x.saved_bytes + x.gradient_bytes for x in layers]


class Diagram:
    """The report's rows, their blocks, and views of them at any level."""

    def __init__(self, report: Report):
        self.report = report
        self.rows = report.rows
        self.memory = row_memory(report)
        self.blocks: list[Block] = []
        #: per row: the ids of the blocks around it, outermost first
        self.row_blocks: list[tuple[int, ...]] = []
        found: dict[tuple[str, ...], int] = {}
        members: dict[int, list[int]] = {}
        for index, row in enumerate(self.rows):
            ids, depth = [], 0
            for k in range(1, len(row.block) + 1):
                kind = row.block_kinds[k - 1] if k - 1 < len(row.block_kinds) else ""
                if kind in UNBLOCKED:
                    continue
                depth += 1
                path = row.block[:k]
                if path not in found:
                    found[path] = len(self.blocks)
                    self.blocks.append(Block(len(self.blocks), path, kind, depth, ()))
                ids.append(found[path])
                members.setdefault(found[path], []).append(index)
            self.row_blocks.append(tuple(ids))
        self.blocks = [Block(b.id, b.path, b.kind, b.depth, tuple(members[b.id])) for b in self.blocks]
        self.full_level = max((b.depth for b in self.blocks), default=0)
        self.index_of = {row.name: i for i, row in enumerate(self.rows)}

    def view(self, level: int) -> View:
        items: list[Item] = []
        item_of: list[int] = []
        collapsed_item: dict[int, int] = {}
        for index, row in enumerate(self.rows):
            ids = self.row_blocks[index]
            hidden = next((b for b in ids if self.blocks[b].depth == level + 1), None)
            if hidden is None:
                item_of.append(len(items))
                items.append(Item(row.name, local_name(row), row.type, shape_text(row.output_shape), row.macs,
                                  self.memory[index], (index,), ids[:level]))
            elif hidden in collapsed_item:
                item_of.append(collapsed_item[hidden])
            else:
                collapsed_item[hidden] = len(items)
                item_of.append(len(items))
                items.append(self._collapsed(self.blocks[hidden], ids[:level]))
        edges: dict[tuple[int, int], None] = {}
        for index, row in enumerate(self.rows):
            for name in row.input_names:
                source, target = item_of[self.index_of[name]], item_of[index]
                if source != target:
                    edges[(source, target)] = None
        clusters = tuple(dict.fromkeys(b for item in items for b in item.scopes))
        return View(level, tuple(items), tuple(edges), clusters)

    def _collapsed(self, block: Block, scopes: tuple[int, ...]) -> Item:
        rows = block.rows
        last = self.rows[rows[-1]]
        layers = f"{len(rows)} layer" + ("s" if len(rows) != 1 else "")
        return Item("/".join(block.path), block.path[-1], f"{block.kind}, {layers}",
                    shape_text(last.output_shape), sum(self.rows[i].macs for i in rows),
                    sum(self.memory[i] for i in rows), rows, scopes, block.id)

    def levels(self) -> range:
        return range(self.full_level + 1)


# ---------------------------------------------------------------------------------------------
# geometry


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "\u2026"


def node_width(item: Item) -> float:
    longest = max(len(_clip(item.title)), len(_clip(item.kind)), len(_clip(item.shape)))
    return min(MAX_WIDTH, max(MIN_WIDTH, round(longest * CHAR + 2 * PAD, 1)))


@dataclass(frozen=True, slots=True)
class Placed:
    """A laid-out view: every node's rectangle and every cluster's, and the edges' points."""

    view: View
    layout: Layout
    #: (left, top, width, height) per item, and per cluster id
    nodes: tuple[tuple[float, float, float, float], ...]
    clusters: dict[int, tuple[float, float, float, float]]


def _starts_and_ends(view: View) -> tuple[list[int], list[int]]:
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, item in enumerate(view.items):
        for b in item.scopes:
            first.setdefault(b, i)
            last[b] = i
    starts = [0] * len(view.items)
    ends = [0] * len(view.items)
    for b in first:
        starts[first[b]] += 1
        ends[last[b]] += 1
    return starts, ends


def place(view: View) -> Placed:
    """Boxes big enough for the labels of the clusters that open above a node (the most any node of
    its layer needs, so a layer's nodes line up) and the cluster borders that close below it."""
    starts, ends = _starts_and_ends(view)
    rank = ranks(len(view.items), list(view.edges))
    most_starts = [0] * (max(rank, default=-1) + 1)
    most_ends = list(most_starts)
    for i, r in enumerate(rank):
        most_starts[r] = max(most_starts[r], starts[i])
        most_ends[r] = max(most_ends[r], ends[i])
    widths = [node_width(item) for item in view.items]
    sizes = [(w + 2 * CLUSTER_PAD * len(item.scopes), LABEL * most_starts[r] + NODE_HEIGHT + BOTTOM * most_ends[r])
             for w, item, r in zip(widths, view.items, rank)]
    layout = layered(sizes, list(view.edges))
    nodes = []
    for i, (w, (_, h)) in enumerate(zip(widths, sizes)):
        top = layout.y[i] - h / 2 + LABEL * most_starts[rank[i]]
        nodes.append((round(layout.x[i] - w / 2, 1), round(top, 1), w, NODE_HEIGHT))
    routes = []
    for (source, target), route in zip(view.edges, layout.routes):
        start, end = nodes[source], nodes[target]
        routes.append(((route[0][0], round(start[1] + start[3], 1)), *route[1:-1], (route[-1][0], end[1])))
    layout = Layout(layout.x, layout.y, layout.width, layout.height, tuple(routes), layout.rank)
    clusters: dict[int, list[float]] = {}
    for i, item in enumerate(view.items):
        left, top, w, h = nodes[i]
        depth = len(item.scopes)
        for level, b in enumerate(item.scopes):
            pad = CLUSTER_PAD * (depth - level)
            box = (left - pad, top - (LABEL * (depth - level) if b not in clusters else CLUSTER_PAD),
                   left + w + pad, top + h + BOTTOM * (depth - level))
            old = clusters.get(b)
            clusters[b] = list(box) if old is None else [min(old[0], box[0]), min(old[1], box[1]),
                                                        max(old[2], box[2]), max(old[3], box[3])]
    boxes = {b: (round(c[0], 1), round(c[1], 1), round(c[2] - c[0], 1), round(c[3] - c[1], 1))
             for b, c in clusters.items()}
    return Placed(view, layout, tuple(nodes), boxes)


# ---------------------------------------------------------------------------------------------
# SVG

_LOW, _HIGH = (255, 255, 255), (232, 89, 12)


def fill(value: int, largest: int) -> str:
    """White to orange by the square root of the share of the largest (so small layers still show)."""
    t = (value / largest) ** 0.5 if largest > 0 and value > 0 else 0.0
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(_LOW, _HIGH))


def _value(item: Item, metric: str) -> int:
    return item.macs if metric == "macs" else item.memory if metric == "memory" else 0


def tooltip(item: Item) -> str:
    """The node's <title>, escaped line by line (a newline inside a name shows as \\x0a)."""
    lines = [item.name, f"{item.kind}, output {item.shape}", f"MACs {exact(item.macs)} ({short(item.macs)})",
             f"memory {binary(item.memory)} (output + saved + gradient)"]
    return "\n".join(xml(line) for line in lines)


STYLE = ("text{font:11px ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;fill:#222}"
         ".node rect{stroke:#555;stroke-width:1}.node .t{font-weight:bold}"
         ".cluster rect{fill:#f3f6fb;fill-opacity:.55;stroke:#9ab;stroke-dasharray:4 2}"
         ".cluster text{fill:#345}.edge{fill:none;stroke:#778;stroke-width:1.2}")


def svg(diagram: Diagram, level: int | None = None, metric: str = "macs", standalone: bool = True) -> str:
    """The view at `level` (default: every layer) as one <svg> element."""
    view = diagram.view(diagram.full_level if level is None else level)
    placed = place(view)
    out = []
    w, h = placed.layout.width, placed.layout.height
    marker = f"arrow{view.level}"
    head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:g}" height="{h:g}" viewBox="0 0 {w:g} {h:g}"'
    out.append(head + f' class="cnn-graph" data-level="{view.level}" data-nodes="{len(view.items)}">')
    if standalone:
        out.append(f"<title>{xml(diagram.report.name)}</title><style>{STYLE}</style>")
    out.append(f'<defs><marker id="{marker}" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
               'markerHeight="7" orient="auto"><path d="M0,0L8,4L0,8z" fill="#778"/></marker></defs>')
    out.append('<g class="clusters">')
    for b in view.clusters:
        block = diagram.blocks[b]
        x, y, bw, bh = placed.clusters[b]
        label = xml(_clip(f"{block.path[-1]} ({block.kind})"))
        out.append(f'<g class="cluster" data-block="{b}" data-depth="{block.depth}"><title>{xml("/".join(block.path))}'
                   f'</title><rect x="{x:g}" y="{y:g}" width="{bw:g}" height="{bh:g}" rx="6"/>'
                   f'<text x="{x + 5:g}" y="{y + 12:g}">{label} \u25be</text></g>')
    out.append('</g><g class="edges">')
    for route in placed.layout.routes:
        points = "L".join(f"{px:g},{py:g}" for px, py in route)
        out.append(f'<path class="edge" d="M{points}" marker-end="url(#{marker})"/>')
    out.append('</g><g class="nodes">')
    largest = max((_value(item, metric) for item in view.items), default=0)
    for item, (x, y, nw, nh) in zip(view.items, placed.nodes):
        block = f' data-block="{item.block}"' if item.block is not None else ""
        cx = round(x + nw / 2, 1)
        out.append(f'<g class="node{" collapsed" if item.block is not None else ""}" data-row="{item.rows[0]}"{block}'
                   f' data-macs="{item.macs}" data-mem="{item.memory}"><title>{tooltip(item)}</title>'
                   f'<rect x="{x:g}" y="{y:g}" width="{nw:g}" height="{nh:g}" rx="{8 if block else 3}" '
                   f'fill="{fill(_value(item, metric), largest)}"/>'
                   f'<text x="{cx:g}" y="{y + 15:g}" text-anchor="middle" class="t">{xml(_clip(item.title))}</text>'
                   f'<text x="{cx:g}" y="{y + 28:g}" text-anchor="middle">{xml(_clip(item.kind))}</text>'
                   f'<text x="{cx:g}" y="{y + 41:g}" text-anchor="middle">{xml(_clip(item.shape))}</text></g>')
    out.append("</g></svg>")
    return "".join(out) + ("\n" if standalone else "")
