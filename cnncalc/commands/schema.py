"""`cnncalc schema`: the JSON Schema of the spec format."""

from __future__ import annotations

import sys


def schema() -> None:
    """Print the JSON Schema (draft-07) of the spec format, for editors and validators."""
    from cnncalc.schema import schema_text

    sys.stdout.write(schema_text())
