"""A pattern's design space: every combination of its variables' values, each analysed like `analyze`
would, with its first error or its parameters, MACs and memory, then sorted and held to a budget."""

from __future__ import annotations

from cnncalc.records import dataclass
from typing import Literal

from cnncalc import graph, report
from cnncalc.analysis import analyze
from cnncalc.conventions import Convention
from cnncalc.diagnostics import Diagnostic
from cnncalc.errors import CnnCalcError, LimitError
from cnncalc.pattern import PatternSource

#: The most variants one sweep analyses (documented in docs/pattern.md).
MAX_VARIANTS = 10_000
#: the layers all variants of one sweep may hold together (each variant is also bounded by MAX_LAYERS)
MAX_SWEEP_LAYERS = 100_000

#: which memory a budget limits, as --mode names it (fit, lint, sweep)
BudgetMode = Literal["train", "infer"]


@dataclass(frozen=True, slots=True)
class Variant:
    values: tuple[tuple[str, int], ...]
    #: layers after expansion (None when the pattern could not be expanded)
    layers: int | None
    #: the first error, if the variant is invalid
    error: Diagnostic | None = None
    params: int = 0
    macs: int = 0
    inference_bytes: int = 0
    training_bytes: int = 0

    @property
    def valid(self) -> bool:
        return self.error is None

    def memory(self, mode: BudgetMode) -> int:
        return self.training_bytes if mode == "train" else self.inference_bytes


@dataclass(frozen=True, slots=True)
class Budget:
    max_params: int | None = None
    max_memory: int | None = None
    mode: BudgetMode = "train"

    @property
    def memory(self) -> str:
        """The memory limited, as the JSON and the table name it: "training" or "inference"."""
        return "training" if self.mode == "train" else "inference"

    @property
    def given(self) -> bool:
        return self.max_params is not None or self.max_memory is not None

    def allows(self, variant: Variant) -> bool:
        if not variant.valid:
            return False
        if self.max_params is not None and variant.params > self.max_params:
            return False
        return self.max_memory is None or variant.memory(self.mode) <= self.max_memory


def _variant(source: PatternSource, values: dict[str, int], convention: Convention,
             options: report.Options) -> Variant:
    key = tuple(values.items())
    try:
        model = graph.build(source.spec(values), convention)
    except CnnCalcError as error:
        return Variant(key, None, Diagnostic.from_error(error))
    layers = len(model.nodes) - 1
    analysis = analyze(model, convention)
    errors = [d for d in analysis.diagnostics if d.severity == "error"]
    if errors:
        return Variant(key, layers, errors[0])
    built = report.build(analysis, options)
    return Variant(key, layers, None, built.totals.params, built.totals.macs * options.batch,
                   built.memory.inference_bytes, built.memory.training_bytes)


def run(source: PatternSource, convention: Convention, options: report.Options) -> tuple[Variant, ...]:
    """Every variant, in enumeration order (the last variable varies fastest)."""
    source.check_bound()
    combos = 1
    for binding in source.bindings.values():
        combos *= len(binding.values)
        if combos > MAX_VARIANTS:
            raise LimitError(f"the ranges give more than {MAX_VARIANTS:,} variants", binding.loc,
                             hint="narrow the ranges", code="CNN123")
    return tuple(_bounded(source, (_variant(source, values, convention, options) for values in source.variants())))


def _bounded(source: PatternSource, variants):
    """The variants, stopping with a located error once they hold more than MAX_SWEEP_LAYERS layers in all
    (`[[RELU]*N]*M` over N, M = 1..100 is 25 million layers): the work is bounded as it is done."""
    total = 0
    for variant in variants:
        total += variant.layers or 0
        if total > MAX_SWEEP_LAYERS:
            loc = next(iter(source.bindings.values())).loc
            raise LimitError(f"the variants hold more than {MAX_SWEEP_LAYERS:,} layers in all", loc,
                             hint="narrow the ranges, or sweep fewer variables at once", code="CNN123")
        yield variant


def select(variants: tuple[Variant, ...], budget: Budget, sort: str) -> tuple[Variant, ...]:
    """The variants to show: all, or with a budget only those within it; sorted, invalid ones last."""
    shown = [v for v in variants if budget.allows(v)] if budget.given else list(variants)
    if sort == "variant":
        return tuple(shown)
    metric = {
        "params": lambda v: v.params,
        "macs": lambda v: v.macs,
        "inference": lambda v: v.inference_bytes,
        "training": lambda v: v.training_bytes,
    }[sort]
    return tuple(sorted(shown, key=lambda v: (not v.valid, metric(v) if v.valid else 0)))
