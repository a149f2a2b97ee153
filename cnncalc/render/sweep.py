"""A sweep's variants as a table (rich), JSON or CSV: one row per variant."""

from __future__ import annotations

import csv
import io
import json

from cnncalc.sweep import Budget, Variant
from cnncalc.units import binary, exact, short


def _names(variants: tuple[Variant, ...]) -> list[str]:
    names: dict[str, None] = {}
    for variant in variants:
        for name, _ in variant.values:
            names.setdefault(name, None)
    return list(names)


def _error_text(variant: Variant) -> str:
    error = variant.error
    if error is None:
        return ""
    where = f" at {error.loc.line}:{error.loc.col}" if error.loc.line > 0 else ""
    return f"{error.code}{where}: {error.message}"


def variant_dict(variant: Variant, budget: Budget) -> dict:
    error = variant.error
    return {
        "vars": dict(variant.values),
        "layers": variant.layers,
        "valid": variant.valid,
        "within_budget": budget.allows(variant),
        "error": None if error is None else {
            "code": error.code, "message": error.message, "line": error.loc.line, "column": error.loc.col,
        },
        "params": variant.params if variant.valid else None,
        "macs": variant.macs if variant.valid else None,
        "inference_bytes": variant.inference_bytes if variant.valid else None,
        "training_bytes": variant.training_bytes if variant.valid else None,
    }


def summary(every: tuple[Variant, ...], budget: Budget) -> dict:
    return {
        "variants": len(every),
        "valid": sum(v.valid for v in every),
        "within_budget": sum(budget.allows(v) for v in every) if budget.given else None,
    }


def to_json(pattern: str, shown: tuple[Variant, ...], every: tuple[Variant, ...], budget: Budget,
            settings: dict) -> str:
    data = {
        "pattern": pattern,
        **settings,
        "budget": {"max_params": budget.max_params, "max_memory_bytes": budget.max_memory, "memory": budget.memory},
        "summary": summary(every, budget),
        "variants": [variant_dict(v, budget) for v in shown],
    }
    return json.dumps(data, indent=2) + "\n"


def to_csv(shown: tuple[Variant, ...], budget: Budget) -> str:
    names = _names(shown)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*names, "layers", "valid", "within_budget", "error_code", "error", "params", "macs",
                     "inference_bytes", "training_bytes"])
    for v in shown:
        values = dict(v.values)
        numbers = [v.params, v.macs, v.inference_bytes, v.training_bytes] if v.valid else ["", "", "", ""]
        writer.writerow([*(values.get(n, "") for n in names), "" if v.layers is None else v.layers,
                         str(v.valid).lower(), str(budget.allows(v)).lower(), v.error.code if v.error else "",
                         v.error.message if v.error else "", *numbers])
    return out.getvalue()


def table(title: str, shown: tuple[Variant, ...], every: tuple[Variant, ...], budget: Budget):
    from rich.table import Table

    counts = summary(every, budget)
    caption = f"{counts['valid']} of {counts['variants']} variants valid"
    if budget.given:
        which = f" ({budget.memory} memory)" if budget.max_memory is not None else ""
        caption += f"; the {counts['within_budget']} within the budget{which} are shown"
    result = Table(title=title, caption=caption, header_style="bold")
    names = _names(every)
    for name in names:
        result.add_column(name, justify="right")
    for heading in ("Layers", "Params", "MACs", "Inference", "Training"):
        result.add_column(heading, justify="right", no_wrap=True)
    result.add_column("Status", no_wrap=True, overflow="ellipsis")
    for v in shown:
        values = dict(v.values)
        cells = [str(values.get(n, "")) for n in names]
        layers = "" if v.layers is None else str(v.layers)
        if v.valid:
            cells += [layers, exact(v.params), short(v.macs), binary(v.inference_bytes), binary(v.training_bytes),
                      "ok"]
        else:
            cells += [layers, "", "", "", "", _error_text(v)]
        result.add_row(*cells)
    return result
