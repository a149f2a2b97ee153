"""What a lint run checks: the convention, the selected rules and the budgets."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LintOptions:
    convention: str = "strict"
    #: codes, code prefixes (CNN3) or rule names; empty = every rule.
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    max_params: int | None = None
    max_macs: int | None = None
    max_memory: int | None = None
    batch: int = 1
    dtype: str = "float32"
    #: which memory --max-memory limits: "infer" or "train".
    mode: str = "infer"
    optimizer: str = "momentum"
    #: whether a spec's own `convention:` chooses its convention (not when --convention was given on
    #: the command line).
    file_conventions: bool = True


def matches(selector: str, code: str, name: str) -> bool:
    selector = selector.strip()
    return bool(selector) and (code.upper().startswith(selector.upper()) or selector.lower() == name)


def enabled(options: LintOptions, code: str, name: str) -> bool:
    selected = not options.select or any(matches(s, code, name) for s in options.select)
    return selected and not any(matches(s, code, name) for s in options.ignore)
