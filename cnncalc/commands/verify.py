"""`cnncalc verify`: run the spec with numpy on random tensors and check every prediction against it."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Optional

import typer

from cnncalc.commands.invocation import Invocation
from cnncalc.commands.options import (
    BatchOpt,
    ConventionOpt,
    DefineOpt,
    InputOpt,
    PatternOpt,
    SetOpt,
    SpecArg,
    choices,
    value,
)
from cnncalc.errors import EXIT_INVALID, Location, UsageError

VerifyFormat = choices("VerifyFormat", ("table", "json"))


def verify(
    ctx: typer.Context,
    spec: SpecArg = None,
    batch: BatchOpt = 1,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the random weights and input.")] = 0,
    convention: ConventionOpt = None,
    format: Annotated[VerifyFormat, typer.Option("--format", "-f", help="Output format.")] = VerifyFormat("table"),
    max_memory: Annotated[
        Optional[str],
        typer.Option("--max-memory", metavar="SIZE",
                     help="Refuse runs estimated to need more, e.g. 4GiB (default: half the available memory)."),
    ] = None,
    pattern: PatternOpt = None,
    input: InputOpt = None,
    define: DefineOpt = None,
    settings: SetOpt = None,
    save_weights: Annotated[
        Optional[str],
        typer.Option("--save-weights", metavar="FILE",
                     help="Also write the weights, input and output of the run to this .npz, keyed by layer name "
                     "(`cnncalc export` models load it with load_weights)."),
    ] = None,
) -> None:
    """Run the spec with numpy on random float32 tensors and check every predicted shape, parameter count,
    MAC count and the inference memory against what executes. Exit 0 only if every check holds."""
    import time

    from cnncalc import executor, pipeline
    from cnncalc import report as report_mod
    from cnncalc.verification import compare

    run = Invocation.of(ctx)
    limit = _max_memory(max_memory)
    analysis = run.analysis(pipeline.Request.of(spec, pattern, input, define, settings), value(convention))
    # the prediction verify shows is the textbook model's, whatever memory model the convention implies
    report = report_mod.build(analysis, report_mod.Options(batch, "float32", memory_model="textbook"))
    the_plan = executor.plan(analysis, batch)
    executor.refuse_if_too_big(the_plan, limit, report.memory.inference_bytes)
    _need_numpy()
    started = time.perf_counter()
    with _progress_bar(len(the_plan.steps)) as on_layer:
        execution = executor.execute(the_plan, seed, on_layer, keep_weights=save_weights is not None)
    result = compare(report, the_plan, execution, time.perf_counter() - started)
    if save_weights is not None:
        _save(execution, save_weights)
    _render(result, format)
    if not result.ok:
        raise typer.Exit(EXIT_INVALID)


def _save(execution, path: str) -> None:
    """The run's arrays as an uncompressed .npz (a located error where it cannot be written)."""
    import numpy as np

    if execution.output is None:
        raise UsageError("the run stopped early: no weights are saved", Location(path), code="CNN604")
    try:
        with open(path, "wb") as handle:
            np.savez(handle, **execution.arrays())
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", Location(path)) from None


def _max_memory(text: str | None) -> int:
    from cnncalc.executor import default_max_memory
    from cnncalc.units import parse_size

    if text is None:
        return default_max_memory()
    return parse_size(text, "--max-memory", code="CNN601")


def _need_numpy() -> None:
    import importlib.util

    if importlib.util.find_spec("numpy") is None:
        raise UsageError("cnncalc verify needs numpy, which is not installed", Location("cnncalc"),
                         hint='install it with pip install "cnncalc[verify]"', code="CNN602")


@contextmanager
def _progress_bar(total: int) -> Iterator:
    """A transient progress bar on stderr; yields the executor's `on_layer` callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("verify"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True, auto_refresh=False,
    )
    task = progress.add_task("", total=total)

    shown = [float("-inf")]

    def on_layer(done: int, total_: int, name: str) -> None:
        # drawn at most ten times a second: a redraw costs ~1 ms, more than most layers' forward
        now = time.monotonic()
        if now - shown[0] < 0.1 and done < total_:
            return
        shown[0] = now
        progress.update(task, completed=done, description=name)
        progress.refresh()

    with progress:
        yield on_layer


def _render(result, format) -> None:
    from cnncalc.render import verify as render_verify

    if format.value == "json":
        sys.stdout.write(render_verify.to_json(result))
        return
    from rich.console import Console

    render_verify.render(result, Console(highlight=False))
