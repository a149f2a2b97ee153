"""Budgets: totals above the limits given with --max-params, --max-macs and --max-memory (or in
[tool.cnncalc]). Each finding points at the layer that contributes most, where a fix starts."""

from __future__ import annotations

from collections.abc import Iterator

from cnncalc.diagnostics import Diagnostic
from cnncalc.lint.rule import Rule
from cnncalc.lint.subject import Subject
from cnncalc.units import binary, exact, short


def _largest(subject: Subject, key):
    return max(subject.report.rows[1:] or subject.report.rows, key=key)


def params_budget(subject: Subject) -> Iterator[Diagnostic]:
    limit = subject.options.max_params
    if limit is None or not subject.finished:
        return
    total = subject.report.totals.params
    if total > limit:
        row = _largest(subject, lambda r: r.params)
        yield PARAMS_BUDGET.at(
            row.loc,
            f"the model has {exact(total)} parameters, over the budget of {exact(limit)} "
            f"(largest: {row.name} with {short(row.params)})",
            "shrink the largest layers, or raise --max-params",
        )


def macs_budget(subject: Subject) -> Iterator[Diagnostic]:
    limit = subject.options.max_macs
    if limit is None or not subject.finished:
        return
    batch = subject.options.batch
    total = subject.report.totals.macs * batch
    if total > limit:
        row = _largest(subject, lambda r: r.macs)
        yield MACS_BUDGET.at(
            row.loc,
            f"the model needs {exact(total)} MACs at batch {batch}, over the budget of {exact(limit)} "
            f"(largest: {row.name} with {short(row.macs * batch)})",
            "downsample earlier, use fewer filters or depthwise-separable convolutions, or raise --max-macs",
        )


def memory_budget(subject: Subject) -> Iterator[Diagnostic]:
    limit = subject.options.max_memory
    if limit is None or not subject.finished:
        return
    o = subject.options
    memory = subject.report.memory
    total = memory.training_bytes if o.mode == "train" else memory.inference_bytes
    if total > limit:
        row = _largest(subject, lambda r: r.activations)
        what = "training" if o.mode == "train" else "inference"
        yield MEMORY_BUDGET.at(
            row.loc,
            f"{what} needs {binary(total)} ({exact(total)} B) at batch {o.batch} in {o.dtype}, over the budget "
            f"of {binary(limit)} (largest activation: {row.name})",
            "lower the batch size or the dtype, downsample earlier, or raise --max-memory",
        )


PARAMS_BUDGET = Rule(
    "CNN401", "params-budget", "error", "more parameters than --max-params allows",
    what="Compares the total parameter count with `--max-params` (or `max-params` in [tool.cnncalc]).",
    why="Parameters set the size of the weights file and part of the memory; a budget in CI stops a "
    "change from silently doubling the model.",
    example="cnncalc lint --max-params 100M specs/vgg16.yaml   # 138,357,544 parameters",
    fix="Shrink the layer named in the message (usually the first FC layer), or raise the budget.",
    check=params_budget,
)
MACS_BUDGET = Rule(
    "CNN402", "macs-budget", "error", "more multiply-accumulates than --max-macs allows",
    what="Compares the total MACs (conv and fc, bias excluded, times --batch) with `--max-macs`.",
    why="MACs set the inference time on the target device; a budget in CI keeps the model within it.",
    example="cnncalc lint --max-macs 10G specs/vgg16.yaml   # 15.5G MACs",
    fix="Downsample earlier, use fewer filters, or raise the budget.",
    check=macs_budget,
)
MEMORY_BUDGET = Rule(
    "CNN403", "memory-budget", "error", "more memory than --max-memory allows",
    what="Compares the textbook memory estimate with `--max-memory`: inference (parameters plus the "
    "largest layer's tensors) with `--mode infer`, training (activations and their gradients, "
    "parameters, gradients, optimizer state) with `--mode train`, at `--batch` and `--dtype`.",
    why="A model that does not fit the target GPU fails at run time; the budget fails the pull request "
    "instead.",
    example="cnncalc lint --max-memory 8GiB --mode train --batch 128 specs/vgg16.yaml",
    fix="Lower the batch size or use float16; downsample earlier; or raise the budget.",
    check=memory_budget,
)

RULES = (PARAMS_BUDGET, MACS_BUDGET, MEMORY_BUDGET)
