"""`cnncalc rf`: receptive fields per layer (cnncalc/receptive.py) as a table, JSON or Markdown."""

from __future__ import annotations

import json
from fractions import Fraction

from cnncalc.analysis import Analysis
from cnncalc.receptive import LayerField, fields

COLUMNS = ("Layer", "Type", "Output", "Field", "Jump", "Pad before", "Pad after", "Centre", "Note")


def _text(value: Fraction) -> str:
    return str(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _axes(values) -> str:
    values = [v if isinstance(v, str) else _text(v) for v in values]
    return values[0] if len(set(values)) == 1 else " x ".join(values)


def rows(analysis: Analysis) -> list[tuple[str, ...]]:
    found = fields(analysis)
    sizes = analysis.graph.input.spatial
    table = []
    for result, field in zip(analysis.results, found):
        output = "x".join(str(d) for d in result.output.dims)
        if field.spatial:
            after = field.padding_after(result.output.spatial, sizes)
            cells = (_axes(a.size for a in field.axes), _axes(a.jump for a in field.axes),
                     _axes(a.padding_before for a in field.axes), _axes(after),
                     _axes(a.centre() for a in field.axes))
        else:
            cells = ("all", "", "", "", "")
        table.append((result.node.name, result.node.type, output, *cells, _note(field)))
    return table


def _note(field: LayerField) -> str:
    wrong = field.misalignment
    if wrong is not None:
        return "misaligned branches: " + ("different strides" if wrong.strides_differ
                                          else f"centres {_text(wrong.offset)} px apart")
    if not field.spatial:
        return "reads input " + _axes(f"{_text(lo)}..{_text(hi)}" for lo, hi in field.covers)
    return "periodic (after upsampling)" if field.periodic else ""


def to_json(analysis: Analysis) -> str:
    found = fields(analysis)
    sizes = analysis.graph.input.spatial
    layers = []
    for result, field in zip(analysis.results, found):
        data = field.to_dict(result.output.spatial, sizes)
        data["type"] = result.node.type
        data["periodic"] = field.periodic
        layers.append(data)
    document = {"name": analysis.graph.name, "input": list(analysis.graph.input.dims),
                "convention": "field = [start + y * jump, start + y * jump + size - 1] in input pixels; "
                              "padding_before = -start; fractions as 'p/q'",
                "layers": layers}
    return json.dumps(document, indent=2) + "\n"


def to_markdown(analysis: Analysis) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows(analysis):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    return "\n".join(lines) + "\n"


def render(analysis: Analysis, console) -> None:
    from rich.table import Table

    table = Table(title=f"Receptive fields: {analysis.graph.name}", title_justify="left")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("Layer", "Type", "Note") else "right")
    for row in rows(analysis):
        table.add_row(*row)
    console.print(table)
    console.print("Field: the input pixels one output sees; jump: input pixels between neighbouring outputs; "
                  "pad before/after: how far output 0's field starts before the input and the last one's ends "
                  "after it; centre: of output 0's field (Araujo et al., Distill 2019; docs/receptive.md).",
                  markup=False)
