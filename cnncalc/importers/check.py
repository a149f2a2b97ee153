"""The written spec analysed by cnncalc, every layer's shape compared with the one the ONNX graph states.

The Builder listed the graph's shapes in the order cnncalc's graph numbers the layers (a construct's
branches, then its merge), so the comparison is one walk over both lists."""

from __future__ import annotations

from cnncalc.errors import Location
from cnncalc.importers.errors import SHAPE_DISAGREES, ImportFailed


def _same(ours: tuple[int, ...], theirs: tuple[int, ...], kind: str) -> bool:
    if ours == theirs:
        return True
    # a global pool keeps 1x1 where ReduceMean(keepdims=0) or a squeeze drops it: the same numbers
    return kind == "global_pool" and ours[-1:] == theirs[-1:] and all(d == 1 for d in ours[:-1])


def check(text: str, path: str, expected: list[tuple[tuple[int, ...], str]]):
    """The analysis of the spec text; CNN704 on the first layer whose shape differs from the graph's."""
    from cnncalc import pipeline

    analysis = pipeline.analyze_text(text, path)
    errors = [d for d in analysis.diagnostics if d.severity == "error"]
    if errors:
        first = errors[0]
        raise ImportFailed(f"the imported spec does not analyse: {first.message} [{first.code}]", Location(path),
                           code=SHAPE_DISAGREES, hint="this is a bug of the importer; report it with the model")
    results = analysis.results[1:]
    if len(results) != len(expected):
        raise ImportFailed(f"the spec has {len(results)} layers but the graph maps to {len(expected)}",
                           Location(path), code=SHAPE_DISAGREES, hint="this is a bug of the importer")
    for result, (shape, where) in zip(results, expected):
        ours = tuple(result.output.dims)
        if not _same(ours, tuple(shape), result.node.type):
            raise ImportFailed(
                f"{result.node.name} ({result.node.type}) from {where}: cnncalc computes "
                f"{'x'.join(map(str, ours))}, the graph says {'x'.join(map(str, shape))}",
                Location(path), code=SHAPE_DISAGREES,
                hint="the mapping of that node disagrees with ONNX; report it with the model")
    return analysis
