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


def _short_error_text(variant: Variant) -> str:
    error = variant.error
    return error.code + (f" at {error.loc.line}:{error.loc.col}" if error.loc.line > 0 else "")


class SweepTable:
    """The variants as a rich table that fits the console: the variables and numbers never shrink (each
    column is as wide as its widest cell). When the statuses do not fit the width left, each error is shortened
    to its code (numbered when one code has several messages), and notes under the table give each full
    message once."""

    def __init__(self, title: str, caption: str, headings: list[str], rows: list[list[str]],
                 variants: tuple[Variant, ...]):
        self.title, self.caption, self.headings, self.rows, self.variants = title, caption, headings, rows, variants

    def _table(self, statuses: list):
        from rich.table import Table

        result = Table(title=self.title, caption=self.caption, header_style="bold")
        for index, heading in enumerate(self.headings):
            widest = max([len(heading), *(len(cells[index]) for cells in self.rows)])
            result.add_column(heading, justify="right", no_wrap=True, min_width=widest)
        result.add_column("Status", overflow="fold")
        for cells, status in zip(self.rows, statuses):
            result.add_row(*cells, status)
        return result

    def fixed_width(self) -> int:
        """The columns before Status with their padding and borders, and Status' padding and borders."""
        widths = [max([len(h), *(len(cells[i]) for cells in self.rows)]) for i, h in enumerate(self.headings)]
        return sum(w + 3 for w in widths) + 1 + 3

    def __rich_console__(self, console, options):
        from rich.text import Text

        full = ["ok" if v.valid else _error_text(v) for v in self.variants]
        if self.fixed_width() + max([len("Status"), *map(len, full)]) <= options.max_width:
            yield self._table([Text(status) for status in full])
            return
        # the note's key is the code, numbered where one code has several messages: CNN202 #1, CNN202 #2
        messages: dict[str, list[str]] = {}
        for variant, text in zip(self.variants, full):
            if not variant.valid and text not in messages.setdefault(variant.error.code, []):
                messages[variant.error.code].append(text)

        def marker(variant: Variant, text: str) -> str:
            same = messages[variant.error.code]
            return variant.error.code + (f" #{same.index(text) + 1}" if len(same) > 1 else "")

        yield self._table([Text("ok" if v.valid else marker(v, text)) for v, text in zip(self.variants, full)])
        for code, texts in messages.items():
            for number, text in enumerate(texts, start=1):
                yield Text(code + (f" #{number}" if len(texts) > 1 else "") + text[len(code):])


def table(title: str, shown: tuple[Variant, ...], every: tuple[Variant, ...], budget: Budget) -> SweepTable:
    counts = summary(every, budget)
    caption = f"{counts['valid']} of {counts['variants']} variants valid"
    if budget.given:
        which = f" ({budget.memory} memory)" if budget.max_memory is not None else ""
        caption += f"; the {counts['within_budget']} within the budget{which} are shown"
    names = _names(every)
    headings = [*names, "Layers", "Params", "MACs", "Inference", "Training"]
    rows: list[list[str]] = []
    for v in shown:
        values = dict(v.values)
        cells = [str(values.get(n, "")) for n in names]
        cells.append("" if v.layers is None else str(v.layers))
        if v.valid:
            cells += [exact(v.params), short(v.macs), binary(v.inference_bytes), binary(v.training_bytes)]
        else:
            cells += ["", "", "", ""]
        rows.append(cells)
    return SweepTable(title, caption, headings, rows, shown)
