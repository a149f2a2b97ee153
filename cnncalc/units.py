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
