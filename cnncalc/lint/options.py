"""What a lint run checks: the convention, the selected rules and the budgets."""

from __future__ import annotations

from cnncalc.records import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnncalc.cpu import Cpu
    from cnncalc.cuda.gpus import Gpu


@dataclass(frozen=True, slots=True)
class LintOptions:
    #: --convention; None: the spec's own `convention:`, else `configured_convention`, else strict
    #: (pipeline.resolve_convention, as for every command)
    convention: str | None = None
    #: [tool.cnncalc]'s convention
    configured_convention: str | None = None
    #: codes, code prefixes (CNN3) or rule names; empty = every rule.
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    max_params: int | None = None
    max_macs: int | None = None
    max_memory: int | None = None
    batch: int = 1
    dtype: str = "float32"
    #: which memory --max-memory limits: "train" (one training step, as fit and sweep) or "infer".
    mode: str = "train"
    optimizer: str = "momentum"
    #: the memory options of analyze (None: the memory model follows the convention; the CPU is this machine)
    memory_model: str | None = None
    device: str = "cpu"
    amp: str | None = None
    cpu: Cpu | None = None
    gpu: Gpu | None = None


def matches(selector: str, code: str, name: str) -> bool:
    selector = selector.strip()
    return bool(selector) and (code.upper().startswith(selector.upper()) or selector.lower() == name)


def enabled(options: LintOptions, code: str, name: str, default: bool = True) -> bool:
    """Whether a rule runs: selected (or on by default when nothing is selected) and not ignored.
    An opt-in rule runs only where a selector names it, e.g. `--select CNN311` or `--select CNN3`."""
    selected = any(matches(s, code, name) for s in options.select) if options.select else default
    return selected and not any(matches(s, code, name) for s in options.ignore)
