"""`cnncalc report -o model.html`: one self-contained HTML page (no network: styles, script and data inline).

The page holds the graph (render/diagram.py's SVG at every collapse level, coloured by share of MACs
or memory), the per-layer table (the columns of `analyze`'s two tables, sortable and filterable),
live memory over one training step (timeline.py) with the peak marked, and the totals and counting
conventions as `analyze` prints them. A Content-Security-Policy forbids every request the page
could make. Every spec-provided string goes through render/escape.py.
"""

from __future__ import annotations

from pathlib import Path

from cnncalc import __version__
from cnncalc.analysis import Analysis
from cnncalc.render.diagnostics import concise
from cnncalc.render.diagram import Diagram, local_name, shape_text, svg
from cnncalc.render.escape import script_json, xml
from cnncalc.render.table import layer_table, memory_summary, summary
from cnncalc.render import cells as cell_text
from cnncalc.report import Report
from cnncalc.timeline import Timeline, training_step
from cnncalc.units import binary, exact, short

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
PHASES = ("forward", "backward", "optimizer step")


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# the table


def _td(text: str, value: int | None = None) -> str:
    sort = f' data-v="{value}"' if value is not None else ""
    return f"<td{sort}>{xml(text)}</td>"


def table(report: Report) -> str:
    m = report.memory
    saved = "Saved for backward" if m.model == "pytorch" else "Kept for backward"
    heads = [("#", "num"), ("Layer", "text"), ("Block", "text"), ("Type", "text"), ("Output [H x W x C]", "text"),
             ("Activations", "num"), ("Params", "num"), ("MACs", "num"), ("Output bytes", "num"),
             (saved, "num"), ("Gradient", "num"), ("Memory total", "num")]
    out = ['<table id="layers-table"><thead><tr>']
    out += [f'<th data-type="{kind}" tabindex="0">{xml(text)}</th>' for text, kind in heads]
    out.append("</tr></thead><tbody>")
    layers = m.layers if len(m.layers) == len(report.rows) else [None] * len(report.rows)
    for index, (row, layer) in enumerate(zip(report.rows, layers)):
        sizes = (layer.output_bytes, layer.saved_bytes, layer.gradient_bytes) if layer else (0, 0, 0)
        cells = [_td(str(index), index), _td(local_name(row)), _td("/".join(row.block)), _td(row.type),
                 _td(shape_text(row.output_shape)), _td(cell_text.activations(row), row.activations),
                 _td(cell_text.params(row), row.params), _td(exact(row.macs) if row.macs else "", row.macs)]
        cells += [_td(binary(size), size) for size in sizes]
        cells.append(_td(binary(sum(sizes)), sum(sizes)))
        title = xml(row.name)
        out.append(f'<tr id="row{index}" data-row="{index}" title="{title}">' + "".join(cells) + "</tr>")
    t = report.totals
    out.append("</tbody><tfoot><tr><td></td><td>Total</td><td></td><td></td><td></td>"
               f"<td>{xml(short(t.activations))}</td><td>{exact(t.params)}</td><td>{exact(t.macs)}</td>")
    out += [f"<td>{binary(sum(getattr(x, key) for x in m.layers))}</td>"
            for key in ("output_bytes", "saved_bytes", "gradient_bytes")]
    out.append("<td></td></tr></tfoot></table>")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# the memory chart

CHART_W, CHART_H = 760.0, 240.0
LEFT, BOTTOM_AXIS, TOP = 64.0, 40.0, 30.0


def _ticks(largest: int) -> list[int]:
    """About four round steps (1, 2 or 5 x a power of 1024 x a power of ten) up to `largest`."""
    if largest <= 0:
        return [0]
    unit = 1
    while largest / unit >= 1024:
        unit *= 1024
    step = unit
    while largest / step > 5:
        for factor in (2, 2.5, 2):
            step = int(step * factor)
            if largest / step <= 5:
                break
    return [step * i for i in range(int(largest // step) + 1)]


def chart(timeline: Timeline) -> str:
    points = timeline.points
    if not points:
        return "<p>No timeline.</p>"
    largest = max(p.total for p in points)
    span_x = CHART_W - LEFT - 12
    span_y = CHART_H - TOP - BOTTOM_AXIS

    def sx(i: float) -> float:
        return round(LEFT + span_x * (i / max(len(points) - 1, 1)), 1)

    def sy(value: float) -> float:
        return round(TOP + span_y * (1 - value / largest), 1)

    base = CHART_H - BOTTOM_AXIS
    live = " ".join(f"{sx(i)},{sy(p.live)}" for i, p in enumerate(points))
    total = " ".join(f"{sx(i)},{sy(p.total)}" for i, p in enumerate(points))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="memory-chart" width="{CHART_W:g}" height="{CHART_H:g}" '
           f'viewBox="0 0 {CHART_W:g} {CHART_H:g}" data-points="{len(points)}">']
    for tick in _ticks(largest):
        y = sy(tick)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{CHART_W - 12}" y1="{y}" y2="{y}"/>'
                   f'<text class="axis" x="{LEFT - 4}" y="{y + 4}" text-anchor="end">{binary(tick)}</text>')
    out.append(f'<polygon class="live" points="{sx(0)},{base} {live} {sx(len(points) - 1)},{base}"/>')
    out.append(f'<rect class="resident" x="{LEFT}" y="{sy(timeline.resident)}" width="{span_x:g}" '
               f'height="{round(base - sy(timeline.resident), 1)}"/>')
    out.append(f'<polyline class="total" points="{total}"/>')
    for phase in PHASES[1:]:
        start = next((i for i, p in enumerate(points) if p.phase == phase), None)
        if start is None:
            continue
        x = sx(start - 0.5)
        label = (f'<text class="axis" x="{x + 3}" y="{base + 14}">{phase} \u2192</text>' if phase == "backward" else
                 f'<text class="axis" x="{CHART_W - 12}" y="{base + 14}" text-anchor="end">\u2191 {phase}</text>')
        out.append(f'<line class="phase" x1="{x}" x2="{x}" y1="{TOP}" y2="{base}"/>' + label)
    out.append(f'<text class="axis" x="{LEFT + 3}" y="{base + 14}">forward \u2192</text>')
    peak = points[timeline.peak]
    px, py = sx(timeline.peak), sy(peak.total)
    anchor = "end" if px > CHART_W / 2 else "start"
    shift = -6 if anchor == "end" else 6
    out.append(f'<circle id="peak" cx="{px}" cy="{py}" r="4"/><text class="peak" x="{px + shift}" y="{py - 8}" '
               f'text-anchor="{anchor}">peak {binary(peak.total)} ({xml(peak.phase)}, {xml(peak.layer)})</text>')
    out.append(f'<text class="axis" x="{LEFT}" y="{CHART_H - 4}">steps of one training step: each layer\'s '
               f'forward, then its backward, then the optimizer step ({len(points)} points)</text>')
    out.append(f'<line id="cursor" x1="0" x2="0" y1="{TOP}" y2="{base}" visibility="hidden"/></svg>')
    return "".join(out)


def _timeline_data(timeline: Timeline, report: Report) -> dict:
    index = {row.name: i for i, row in enumerate(report.rows)}
    phases = {phase: i for i, phase in enumerate(PHASES)}
    points = [[phases.get(p.phase, p.phase), index.get(p.layer, p.layer), p.live, p.transient]
              for p in timeline.points]
    return {"phases": PHASES, "resident": timeline.resident, "peak": timeline.peak, "points": points}


# ---------------------------------------------------------------------------------------------
# the page


def _level_name(diagram: Diagram, level: int) -> str:
    if level == diagram.full_level:
        return "every layer"
    kinds = sorted({b.kind for b in diagram.blocks if b.depth == level + 1})
    return "collapse " + ", ".join(kinds) if len(kinds) <= 3 else f"collapse blocks of depth {level + 1}"


def _controls(diagram: Diagram) -> str:
    options = "".join(
        f'<option value="{level}"{" selected" if level == diagram.full_level else ""}>'
        f"{xml(_level_name(diagram, level))}</option>" for level in diagram.levels())
    return ('<div class="controls"><span>Colour by</span>'
            '<label><input type="radio" name="metric" value="macs" checked> MACs</label>'
            '<label><input type="radio" name="metric" value="memory"> memory</label>'
            '<label><input type="radio" name="metric" value="none"> none</label>'
            f'<label>Blocks <select id="level">{options}</select></label>'
            '<span class="hint">click a block\'s label to collapse it, a collapsed block to open it</span></div>')


def _header(report: Report) -> str:
    o = report.options
    m = report.memory
    precision = f"{o.amp} amp" if o.amp else o.dtype
    facts = [f"spec {report.path}", f"convention {report.convention}", f"batch {o.batch}", precision,
             f"optimizer {o.optimizer}", f"memory model {m.model}", f"device {m.device}", f"cnncalc {__version__}"]
    t = report.totals
    cards = [("Params", exact(t.params)), ("MACs", f"{short(t.macs)}"), ("Training peak", binary(m.training_bytes)),
             ("Inference peak", binary(m.inference_bytes)), ("Layers", exact(len(report.rows) - 1))]
    return (f"<header><h1>{xml(report.name)}</h1><p class=\"facts\">{xml(' · '.join(facts))}</p>"
            '<div class="cards">' + "".join(f"<div><b>{xml(v)}</b><span>{k}</span></div>" for k, v in cards)
            + "</div></header>")


def _lines(text: str) -> str:
    """Several lines of text for a <pre>: each line escaped (a newline inside a name still shows as \\x0a)."""
    return "\n".join(xml(line) for line in text.split("\n"))


def _conventions(report: Report) -> str:
    caption = layer_table(report).caption
    text = "\n".join([caption, "", summary(report).plain, "", memory_summary(report).plain])
    warnings = list(dict.fromkeys(concise(d) for d in report.diagnostics if d.severity == "warning"))
    out = f'<pre id="totals">{_lines(text)}</pre>'
    if warnings:
        out += (f'<details><summary>Warnings ({len(warnings)})</summary><pre class="warnings">'
                + _lines("\n".join(warnings)) + "</pre></details>")
    return out


def render(analysis: Analysis, report: Report) -> str:
    diagram = Diagram(report)
    views = "".join(
        f'<div class="view" data-level="{level}"{"" if level == diagram.full_level else " hidden"}>'
        f"{svg(diagram, level, 'macs', standalone=False)}</div>"
        for level in diagram.levels())
    timeline = training_step(analysis, report.options)
    data = {"names": [row.name for row in report.rows], "timeline": _timeline_data(timeline, report),
            "full": diagram.full_level, "depths": [b.depth for b in diagram.blocks]}
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{xml(report.name)} \u2014 cnncalc report</title><style>{_asset('report.css')}</style></head><body>",
        _header(report),
        '<main><section id="graph"><h2>Graph</h2>', _controls(diagram), f'<div class="views">{views}</div></section>',
        '<div class="side"><section id="memory"><h2>Live memory, one training step</h2>', chart(timeline),
        '<p id="readout" class="hint">Bytes alive at each step (pytorch memory model\'s liveness simulation; '
        'the grey band is parameters, buffers and optimizer state, the line adds kernel scratch). '
        'Hover for a step.</p></section>',
        '<section id="conventions"><h2>Totals and counting conventions</h2>', _conventions(report), "</section>",
        '<section id="layers"><h2>Layers</h2><input id="filter" type="search" placeholder="filter: name, block, '
        'type, shape" aria-label="filter layers"> <span id="shown"></span><div class="table-wrap">',
        table(report), "</div></section></div></main>",
        f'<script id="cnncalc-data" type="application/json">{script_json(data)}</script>',
        f"<script>{_asset('report.js')}</script></body></html>\n",
    ])
