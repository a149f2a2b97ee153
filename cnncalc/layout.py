"""A small layered (Sugiyama-style) layout of a DAG, top to bottom, for the SVG graph and the HTML report.

1. Layers by longest path: a node sits one layer below the lowest of the nodes it reads.
2. Edges that span several layers get a dummy node in every layer between (their bend points).
3. Order within layers by barycentres: sweeps down (mean position of the nodes above) and up (of
   the nodes below), keeping the order with the fewest edge crossings seen.
4. Simple coordinates: layers stacked by their tallest box; within a layer each node is pulled to the
   mean x of its neighbours, the overlaps resolved by packing from both sides and taking the middle.

Pure arithmetic on box sizes, no cnncalc imports; deterministic (same input, same numbers).
"""

from __future__ import annotations

from cnncalc.records import dataclass

#: vertical space between layers and horizontal space between boxes
RANK_GAP = 26.0
NODE_GAP = 20.0
MARGIN = 12.0
ORDER_SWEEPS = 8
PLACE_SWEEPS = 8


@dataclass(frozen=True, slots=True)
class Layout:
    #: centre of each input node's box
    x: tuple[float, ...]
    y: tuple[float, ...]
    width: float
    height: float
    #: per input edge (same order): the points from the source's bottom to the target's top
    routes: tuple[tuple[tuple[float, float], ...], ...]
    #: each input node's layer (0 at the top)
    rank: tuple[int, ...] = ()


def ranks(count: int, edges: list[tuple[int, int]]) -> list[int]:
    preds: list[list[int]] = [[] for _ in range(count)]
    for source, target in edges:
        if not 0 <= source < target < count:
            raise ValueError(f"edge {source} -> {target}: nodes must come in topological order")
        preds[target].append(source)
    rank = [0] * count
    for node in range(count):
        for source in preds[node]:
            rank[node] = max(rank[node], rank[source] + 1)
    return rank


def _crossings(layers: list[list[int]], succs: list[list[int]], pos: list[int]) -> int:
    total = 0
    for layer in layers[:-1]:
        pairs = [(pos[u], pos[v]) for u in layer for v in succs[u]]
        for i, (a, b) in enumerate(pairs):
            for c, d in pairs[i + 1:]:
                if (a - c) * (b - d) < 0:
                    total += 1
    return total


def _sweep(layers: list[list[int]], neighbours: list[list[int]], pos: list[int], order: range) -> None:
    for r in order:
        layer = layers[r]
        keys = {}
        for v in layer:
            near = neighbours[v]
            keys[v] = sum(pos[u] for u in near) / len(near) if near else pos[v]
        layer.sort(key=lambda v: (keys[v], pos[v]))
        for i, v in enumerate(layer):
            pos[v] = i


def _order(layers: list[list[int]], preds: list[list[int]], succs: list[list[int]], pos: list[int]) -> None:
    best = [list(layer) for layer in layers]
    fewest = _crossings(layers, succs, pos)
    for sweep in range(ORDER_SWEEPS):
        if fewest == 0:
            break
        if sweep % 2 == 0:
            _sweep(layers, preds, pos, range(1, len(layers)))
        else:
            _sweep(layers, succs, pos, range(len(layers) - 2, -1, -1))
        found = _crossings(layers, succs, pos)
        if found < fewest:
            fewest, best = found, [list(layer) for layer in layers]
    for r, layer in enumerate(best):
        layers[r] = layer
        for i, v in enumerate(layer):
            pos[v] = i


def _place(layer: list[int], desired: list[float], width: list[float], real: int) -> list[float]:
    """x for the layer's nodes in order, each as near its desired x as the separations allow."""
    def sep(a: int, b: int) -> float:
        return (width[a] + width[b]) / 2 + (NODE_GAP if a < real and b < real else NODE_GAP / 2)

    n = len(layer)
    left = list(desired)
    for i in range(1, n):
        left[i] = max(left[i], left[i - 1] + sep(layer[i - 1], layer[i]))
    right = list(desired)
    for i in range(n - 2, -1, -1):
        right[i] = min(right[i], right[i + 1] - sep(layer[i], layer[i + 1]))
    return [(a + b) / 2 for a, b in zip(left, right)]


def layered(sizes: list[tuple[float, float]], edges: list[tuple[int, int]]) -> Layout:
    """Lay out nodes 0..n-1 (boxes (width, height), in topological order) joined by `edges` (source, target)."""
    real = len(sizes)
    rank = ranks(real, edges)
    width = [w for w, _ in sizes]
    height = [h for _, h in sizes]
    preds: list[list[int]] = [[] for _ in range(real)]
    succs: list[list[int]] = [[] for _ in range(real)]
    chains: list[list[int]] = []
    for source, target in edges:
        chain = [source]
        for r in range(rank[source] + 1, rank[target]):
            dummy = len(rank)
            rank.append(r)
            width.append(0.0)
            height.append(0.0)
            preds.append([])
            succs.append([])
            chain.append(dummy)
        chain.append(target)
        for a, b in zip(chain, chain[1:]):
            succs[a].append(b)
            preds[b].append(a)
        chains.append(chain)
    layers: list[list[int]] = [[] for _ in range(max(rank, default=-1) + 1)]
    for v in range(len(rank)):
        layers[rank[v]].append(v)
    pos = [0] * len(rank)
    for layer in layers:
        for i, v in enumerate(layer):
            pos[v] = i
    _order(layers, preds, succs, pos)

    y = [0.0] * len(rank)
    top = MARGIN
    for layer in layers:
        tallest = max(height[v] for v in layer)
        for v in layer:
            y[v] = top + tallest / 2
        top += tallest + RANK_GAP
    x = [0.0] * len(rank)
    for layer in layers:
        x_at = 0.0
        for i, v in enumerate(layer):
            if i:
                x_at += (width[layer[i - 1]] + width[v]) / 2 + NODE_GAP
            x[v] = x_at
    for sweep in range(PLACE_SWEEPS):
        down = sweep % 2 == 0
        neighbours = preds if down else succs
        order = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for r in order:
            layer = layers[r]
            desired = []
            for v in layer:
                near = neighbours[v]
                desired.append(sum(x[u] for u in near) / len(near) if near else x[v])
            for v, placed in zip(layer, _place(layer, desired, width, real)):
                x[v] = placed
    left = min((x[v] - width[v] / 2 for v in range(len(rank))), default=0.0)
    shift = MARGIN - left
    x = [round(value + shift, 1) for value in x]
    y = [round(value, 1) for value in y]
    right = max((x[v] + width[v] / 2 for v in range(len(rank))), default=0.0)
    routes = tuple(
        ((x[c[0]], round(y[c[0]] + height[c[0]] / 2, 1)),
         *((x[d], y[d]) for d in c[1:-1]),
         (x[c[-1]], round(y[c[-1]] - height[c[-1]] / 2, 1)))
        for c in chains
    )
    return Layout(tuple(x[:real]), tuple(y[:real]), round(right + MARGIN, 1), round(top - RANK_GAP + MARGIN, 1),
                  routes, tuple(rank[:real]))
