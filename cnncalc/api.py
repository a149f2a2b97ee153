"""cnncalc from Python: the same pipeline as the command line, returning objects instead of text.

    >>> import cnncalc
    >>> report = cnncalc.analyze("vgg16")
    >>> report.totals.params
    138357544
    >>> report.totals.macs
    15470264320
    >>> cnncalc.analyze("INPUT[32x32x3] -> CONV3-16 -> RELU -> POOL2 -> FC-10").totals.params
    41418

A source is a spec file's path, a zoo name (`cnncalc.zoo()` lists them), a spec's YAML text, or a
network on one line (anything with `->`). Errors are cnncalc's exception types (`cnncalc.CnnCalcError`
and its subclasses), each with `.loc` (path, line, column) and `.hint`:

    >>> try:
    ...     cnncalc.analyze("input: 32x32x3\\nlayers:\\n  - conv: {filters: 8, kernel: 5, stride: 2}\\n")
    ... except cnncalc.CnnCalcError as error:
    ...     print(error.code, error.loc.line, error.loc.col)
    CNN201 3 5

Options mean what the command line's do (`--batch` is `batch=`, `--memory-model` is `memory_model=`).
"""

from __future__ import annotations

import json
from cnncalc.records import dataclass
from pathlib import Path
from typing import Any

from cnncalc import catalog, pipeline
from cnncalc.analysis import Analysis
from cnncalc.errors import Location, SpecError
from cnncalc.report import Report, build

__all__ = ["ModelReport", "analyze", "fit", "verify", "zoo"]


@dataclass(frozen=True)
class ModelReport:
    """A report as `cnncalc analyze` prints it: `rows` (one per layer), `totals`, `memory`, `name`;
    `to_dict()` is the command line's JSON; a notebook shows it as an HTML table."""

    report: Report
    analysis: Analysis

    def __getattr__(self, name: str) -> Any:
        return getattr(self.report, name)

    def to_dict(self) -> dict:
        return self.report.to_dict()

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def to_dataframe(self):
        """The layers as a pandas DataFrame (pandas is not a dependency of cnncalc: install it to use this)."""
        try:
            import pandas
        except ImportError as missing:
            raise ImportError("to_dataframe needs pandas: pip install pandas") from missing
        return pandas.DataFrame(self.to_dict()["layers"])

    def __str__(self) -> str:
        from io import StringIO

        from rich.console import Console

        from cnncalc.render.table import render

        out = StringIO()
        render(self.report, Console(file=out, width=400, highlight=False, color_system=None))
        return out.getvalue()

    def __repr__(self) -> str:
        t = self.report.totals
        return f"<cnncalc report {self.report.name!r}: {t.params:,} params, {t.macs:,} MACs>"

    def _repr_html_(self) -> str:
        from cnncalc.render.machine import to_markdown

        rows = to_markdown(self.report).splitlines()
        table = [line for line in rows if line.startswith("|")]
        head, body = table[0], table[2:]

        def cells(line: str) -> list[str]:
            return [_escape(c.strip()) for c in line.strip("|").split("|")]

        html = ["<table>", "<thead><tr>" + "".join(f"<th>{c}</th>" for c in cells(head)) + "</tr></thead>",
                "<tbody>"]
        html += ["<tr>" + "".join(f"<td>{c}</td>" for c in cells(line)) + "</tr>" for line in body]
        html.append("</tbody></table>")
        return f"<p><b>{_escape(self.report.name)}</b></p>" + "".join(html)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _request(source: str | Path) -> tuple[pipeline.Request, str | None]:
    """A Request for a path, zoo name, YAML text or pattern; the YAML text when it is one."""
    text = str(source)
    if isinstance(source, Path) or Path(text).is_file() or catalog.find(text) is not None:
        return pipeline.Request.of(spec=text), None
    if "->" in text:
        return pipeline.Request.of(pattern=text), None
    if "\n" in text or text.lstrip().startswith(("input:", "name:", "{")):
        return pipeline.Request(), text
    raise SpecError(f"no such spec file or zoo model: {text}", Location(text),
                    hint="give a path, a zoo name (cnncalc.zoo() lists them), YAML text or a pattern with ->",
                    code="CNN001")


def _analysis(source: str | Path, convention: str | None, input: str | None) -> Analysis:
    request, text = _request(source)
    if text is not None:
        return pipeline.analyze_text(text, "<text>", convention)
    if input is not None:
        request = pipeline.Request.of(request.spec, request.pattern, input)
    return pipeline.analyze_source(pipeline.resolve_source(request), convention)


def _checked(analysis: Analysis) -> Analysis:
    errors = [d for d in analysis.diagnostics if d.severity == "error"]
    if errors:
        first = errors[0]
        raise SpecError(first.message, first.loc, hint=first.hint, code=first.code)
    return analysis


def analyze(source: str | Path, *, batch: int = 1, dtype: str = "float32", optimizer: str | None = None,
            convention: str | None = None, memory_model: str | None = None, device: str = "cpu",
            amp: str | None = None, cpu: str | None = "auto", threads: int | None = None,
            input: str | None = None, count: str = "torchvision") -> ModelReport:
    """What `cnncalc analyze` computes, as an object (`to_dict()` equals `--format json`)."""
    analysis = _checked(_analysis(source, convention, input))
    options = pipeline.report_options(batch, dtype, optimizer, False, memory_model, device, amp, cpu, threads,
                                      count=count)
    return ModelReport(build(analysis, options), analysis)


def fit(source: str | Path, memory: str | int, *, mode: str = "train", batch: int | None = None,
        resolution: bool = False, dtype: str = "float32", optimizer: str | None = None,
        convention: str | None = None, memory_model: str | None = None, device: str = "cpu",
        amp: str | None = None):
    """What `cnncalc fit` computes: the largest batch (or square input) within `memory` ("24GiB" or bytes)."""
    from cnncalc import fitting as fit_mod
    from cnncalc.units import parse_size

    budget = memory if isinstance(memory, int) else parse_size(memory, "memory")
    analysis = _checked(_analysis(source, convention, None))
    options = pipeline.report_options(batch or 1, dtype, optimizer, False, memory_model, device, amp)
    return fit_mod.fit(analysis, options, budget, mode, None if resolution else batch, resolution)


def verify(source: str | Path, *, batch: int = 1, seed: int = 0, convention: str | None = None):
    """What `cnncalc verify` checks, on numpy tensors (needs numpy): a Verification with `.ok`."""
    import time

    from cnncalc import executor
    from cnncalc.verification import compare

    analysis = _checked(_analysis(source, convention, None))
    report = build(analysis, pipeline.report_options(batch, memory_model="textbook"))
    plan = executor.plan(analysis, batch)
    started = time.perf_counter()
    execution = executor.execute(plan, seed)
    return compare(report, plan, execution, time.perf_counter() - started)


def zoo() -> tuple[catalog.Entry, ...]:
    """The models installed with cnncalc (name, title, file, source)."""
    return catalog.entries()


