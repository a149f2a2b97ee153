"""`cnncalc zoo`: the models installed with cnncalc, with their parameters, MACs and sources."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from cnncalc.commands.options import choices

ZooFormat = choices("ZooFormat", ("table", "json", "markdown"))


def zoo(
    format: Annotated[ZooFormat, typer.Option("--format", "-f", help="Output format.")] = ZooFormat("table"),
) -> None:
    """List the zoo: every shipped spec by name (`cnncalc analyze NAME` reads it from any folder), its
    parameters and MACs (torchvision's convention, batch 1) and where it comes from."""
    from cnncalc import catalog, pipeline
    from cnncalc.report import build

    rows = []
    for entry in catalog.entries():
        report = build(pipeline.analyze_file(str(entry.path)), pipeline.report_options(memory_model="textbook"))
        rows.append({"name": entry.name, "title": entry.title, "params": report.totals.params,
                     "macs": report.totals.macs, "source": entry.source, "links": list(entry.links)})
    if format.value == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if format.value == "markdown":
        lines = ["| name | model | params | MACs | source |", "|---|---|---:|---:|---|"]
        lines += [f"| {r['name']} | {r['title']} | {r['params']:,} | {r['macs']:,} | {r['source']} |".replace("\n", " ")
                  for r in rows]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="cnncalc zoo (cnncalc analyze NAME)", title_justify="left")
    for column, justify in (("Name", "left"), ("Model", "left"), ("Params", "right"), ("MACs", "right"),
                            ("Source", "left")):
        table.add_column(column, justify=justify)
    for r in rows:
        table.add_row(r["name"], r["title"], f"{r['params']:,}", f"{r['macs']:,}", r["source"])
    console = Console(highlight=False)
    (console if console.is_terminal else Console(highlight=False, width=200)).print(table, markup=False)
