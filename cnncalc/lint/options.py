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


def enabled(options: LintOptions, code: str, name: str, default: bool = True) -> bool:
    """Whether a rule runs: selected (or on by default when nothing is selected) and not ignored.
    An opt-in rule runs only where a selector names it, e.g. `--select CNN311` or `--select CNN3`."""
    selected = any(matches(s, code, name) for s in options.select) if options.select else default
    return selected and not any(matches(s, code, name) for s in options.ignore)
