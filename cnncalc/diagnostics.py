"""Findings as data: what `analyze` prints and what `lint` reports in every format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cnncalc.errors import CnnCalcError, Location

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    code: str
    message: str
    loc: Location
    hint: str = ""

    @classmethod
    def from_error(cls, error: CnnCalcError) -> Diagnostic:
        return cls("error", error.code, error.message, error.loc, error.hint)

    def sort_key(self) -> tuple:
        return (self.loc.path, self.loc.line, self.loc.col, self.code)
