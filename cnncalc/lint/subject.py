"""What a rule's check reads: the analysed model and the run's options."""

from __future__ import annotations

from cnncalc.records import dataclass
from functools import cached_property

from cnncalc.analysis import Analysis
from cnncalc.lint.options import LintOptions
from cnncalc.report import Options, Report, build


@dataclass(frozen=True)
class Subject:
    analysis: Analysis
    options: LintOptions

    @property
    def finished(self) -> bool:
        """Every layer's shape is known and valid, so totals mean something."""
        return self.analysis.complete and self.analysis.ok

    @cached_property
    def report(self) -> Report:
        o = self.options
        return build(self.analysis, Options(o.batch, o.dtype, o.optimizer, memory_model=o.memory_model,
                                            device=o.device, amp=o.amp, cpu=o.cpu, gpu=o.gpu))
