"""`[tool.cnncalc]` in pyproject.toml: the lint settings a repository keeps next to its specs.

Keys (kebab-case, as ruff's): convention, select, ignore, exclude, max-params, max-macs, max-memory,
batch, dtype, mode, optimizer. Command-line options override them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cnncalc.conventions import CONVENTIONS
from cnncalc.errors import Location, UsageError
from cnncalc.lint.options import LintOptions
from cnncalc.memory import DTYPE_BYTES, MODES, OPTIMIZER_SLOTS
from cnncalc.units import parse_amount, parse_size

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KEYS = ("convention", "select", "ignore", "exclude", "max-params", "max-macs", "max-memory",
        "batch", "dtype", "mode", "optimizer")
CHOICES = {"convention": tuple(CONVENTIONS), "dtype": tuple(DTYPE_BYTES), "mode": MODES,
           "optimizer": tuple(OPTIMIZER_SLOTS)}


def find_pyproject(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _bad(path: Path, message: str, hint: str = "") -> UsageError:
    return UsageError(f"[tool.cnncalc]: {message}", Location(str(path)), hint=hint)


def budget(key: str, value: Any, where: Path | None = None) -> int:
    """A --max-* value: counts with K/M/G/T (decimal), memory as units.parse_size reads sizes."""
    place = str(where) if where is not None else None
    if key == "max-memory":
        return parse_size(value, f"--{key}", where=place)
    return parse_amount(value, f"--{key}", where=place)


def _strings(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(path, f"'{key}' must be a list of strings", hint=f'{key} = ["CNN3", "CNN201"]')
    return tuple(value)


def _not_a_table(path: Path, text: str, key: str, assignment: str) -> UsageError:
    """`[tool]\\ncnncalc = 5`: located at the assignment (tomllib keeps no positions, so it is searched)."""
    import re

    match = re.search(rf"^[ \t]*{assignment}", text, re.MULTILINE)
    line = text.count("\n", 0, match.start()) + 1 if match else 0
    return UsageError(f"'{key}' must be a table of settings", Location(str(path), line, 1 if match else 0),
                      hint="write [tool.cnncalc] on its own line with the settings under it, e.g. select = [\"CNN2\"]")


def read(path: Path) -> dict[str, Any]:
    """The validated [tool.cnncalc] table (keys with underscores), or {} when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", Location(str(path))) from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise _not_a_table(path, text, "tool", r"tool\s*=")
    table = tool.get("cnncalc", {})
    if not isinstance(table, dict):
        raise _not_a_table(path, text, "tool.cnncalc", r"(tool\s*\.\s*)?cnncalc\s*=")
    settings: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            raise _bad(path, f"unknown key '{key}'", hint="known keys: " + ", ".join(KEYS))
        if key in ("select", "ignore", "exclude"):
            value = _strings(path, key, value)
            if key != "exclude":
                from cnncalc.lint import selectors

                selectors.check(value, f"[tool.cnncalc] {key}", str(path))
        elif key.startswith("max-"):
            value = budget(key, value, path)
        elif key == "batch":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise _bad(path, "'batch' must be a positive whole number")
        elif value not in CHOICES[key]:
            raise _bad(path, f"'{key}' must be one of {', '.join(CHOICES[key])}, not {value!r}")
        settings[key.replace("-", "_")] = value
    return settings


def resolve(config_path: str | None, no_config: bool, given: dict[str, Any]) -> tuple[LintOptions, tuple[str, ...]]:
    """The run's options: [tool.cnncalc] (the nearest pyproject.toml, or --config) under the command line's
    `given` values (None: not given), and the exclude patterns."""
    settings: dict[str, Any] = {}
    if not no_config:
        path = Path(config_path) if config_path else find_pyproject(Path.cwd())
        if config_path and not path.is_file():
            raise UsageError(f"no such configuration file: {config_path}", Location(config_path))
        if path is not None:
            settings = read(path)
    if "convention" in settings:  # the spec's own `convention:` outranks it; --convention outranks both
        settings["configured_convention"] = settings.pop("convention")
    for key, value in given.items():
        if value is not None:
            settings[key] = budget(key.replace("_", "-"), value) if key.startswith("max_") else value
    exclude = tuple(settings.pop("exclude", ()))
    return LintOptions(**settings), exclude
