"""The one-way pipeline as functions: text -> spec -> graph -> analysis -> report."""

from __future__ import annotations

import sys
from pathlib import Path

from cnncalc import conventions, graph, report, spec, yamlsource
from cnncalc.analysis import Analysis, analyze
from cnncalc.errors import Location, ReadError


def read_text(path: str) -> str:
    """The spec's text; `-` reads standard input."""
    if path == "-":
        return yamlsource.decode(sys.stdin.buffer.read(), "<stdin>")
    file = Path(path)
    try:
        if file.is_dir():
            raise ReadError(f"{path} is a directory", Location(path), hint="name a spec file")
        with file.open("rb") as handle:
            data = handle.read(yamlsource.MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ReadError(f"no such file: {path}", Location(path), hint="check the path") from None
    except OSError as exc:
        raise ReadError(f"cannot read {path}: {exc.strerror}", Location(path)) from None
    return yamlsource.decode(data, path)


def display_path(path: str) -> str:
    return "<stdin>" if path == "-" else path


def parse(text: str, path: str) -> spec.Spec:
    """A YAML spec with `layers:`, or with `pattern:` (the text lets a multi-line pattern report exact columns)."""
    root = yamlsource.load(text, path)
    if root.is_mapping and "pattern" in root.value:
        from cnncalc import pattern  # the pattern DSL builds the same items; a `layers:` spec never imports it

        return pattern.spec_from_yaml(root, path, text)
    return spec.parse_spec(root, path)


def analyze_spec(parsed: spec.Spec, convention: str | None = None) -> Analysis:
    """`convention` None means the spec's own `convention:`, or strict."""
    model = graph.build(parsed)
    return analyze(model, conventions.get(convention or model.convention or conventions.DEFAULT.name))


def analyze_text(text: str, path: str, convention: str | None = None) -> Analysis:
    """`convention` None means the spec's own `convention:`, or strict."""
    return analyze_spec(parse(text, path), convention)


def analyze_file(path: str, convention: str | None = None) -> Analysis:
    return analyze_text(read_text(path), display_path(path), convention)


def report_file(path: str, convention: str | None = None, options: report.Options | None = None) -> report.Report:
    return report.build(analyze_file(path, convention), options or report.Options())
