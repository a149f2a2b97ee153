"""How numbers are written for people: counts with decimal prefixes, bytes with binary ones."""

from __future__ import annotations

_COUNT_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
_BYTE_PREFIXES = ((1024**4, "TiB"), (1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB"))


def short(n: int | float) -> str:
    """3,211,264 -> '3.2M' (as the cs231n table writes counts)."""
    for factor, prefix in _COUNT_PREFIXES:
        if abs(n) >= factor:
            return f"{n / factor:.1f}".rstrip("0").rstrip(".") + prefix
    return f"{n:,}" if isinstance(n, int) else f"{n:g}"


def binary(n: int | float) -> str:
    """60,950,432 -> '58.1 MiB' (1 MiB = 1024 x 1024 bytes)."""
    for factor, prefix in _BYTE_PREFIXES:
        if abs(n) >= factor:
            return f"{n / factor:.1f} {prefix}"
    return f"{int(n):,} B"


def exact(n: int) -> str:
    return f"{n:,}"


_SIZE_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}


def parse_bytes(text: str) -> int:
    """'4GiB' -> 4294967296. Binary for KiB/MiB/GiB/TiB and bare K/M/G/T, decimal for KB/MB/GB/TB.

    Raises ValueError with a readable message for anything else.
    """
    cleaned = text.strip().lower().replace(" ", "").replace("_", "")
    digits = cleaned.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = cleaned[len(digits):]
    try:
        value = float(digits)
    except ValueError:
        raise ValueError(f"cannot read the size {text!r}") from None
    if unit not in _SIZE_UNITS:
        raise ValueError(f"unknown unit {unit!r} in {text!r}")
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"the size {text!r} must be positive")
    return int(value * _SIZE_UNITS[unit])
