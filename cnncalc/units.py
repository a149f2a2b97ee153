"""How numbers are written for people: counts with decimal prefixes, bytes with binary ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `analyze` only formats numbers and fractions cost 5 ms to import
    from fractions import Fraction

_COUNT_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
_BYTE_PREFIXES = ((1024**4, "TiB"), (1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB"))


def short(n: int | float) -> str:
    """3,211,264 -> '3.2M' (as the cs231n table writes counts)."""
    for factor, prefix in _COUNT_PREFIXES:
        if abs(n) >= factor:
            return f"{n / factor:.1f}".rstrip("0").rstrip(".") + prefix
    return f"{n:,}" if isinstance(n, int) else f"{n:g}"


def binary(n: int | float, decimals: int = 1) -> str:
    """60,950,432 -> '58.1 MiB' (1 MiB = 1024 x 1024 bytes)."""
    for factor, prefix in _BYTE_PREFIXES:
        if abs(n) >= factor:
            return f"{n / factor:.{decimals}f} {prefix}"
    return f"{int(n):,} B"


#: binary_apart adds decimals up to this many, then writes exact bytes
_MAX_DECIMALS = 3


def binary_apart(*values: int) -> tuple[str, ...]:
    """The sizes as `binary` writes them, with decimals added until different sizes read differently
    (24.0 GiB and 24.0 GiB -> 23.98 GiB and 24.06 GiB); exact bytes when 3 decimals do not tell them apart."""
    for decimals in range(1, _MAX_DECIMALS + 1):
        texts = tuple(binary(v, decimals) for v in values)
        if len(set(texts)) == len(set(values)):
            return texts
    return tuple(f"{int(v):,} B" for v in values)


def exact(n: int) -> str:
    return f"{n:,}"


_COUNT_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9, "t": 10**12}
_BYTE_SUFFIXES = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
}


def _number_and_suffix(text: str) -> tuple[Fraction, str] | None:
    """Exact (a float would turn 36893489T into 36893488999999995904)."""
    import re
    from fractions import Fraction

    match = re.fullmatch(r"\s*([0-9][0-9_,]*(?:\.[0-9]+)?(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    if match is None:
        return None
    return Fraction(match.group(1).replace("_", "").replace(",", "")), match.group(2).lower()


def parse_count(text: str | int) -> int | None:
    """'100M' -> 100,000,000; '1.5G', '25e6', '25_000_000' too (decimal prefixes). None if unreadable."""
    parsed = _number_and_suffix(text)
    if parsed is None or parsed[1] not in _COUNT_SUFFIXES:
        return None
    return round(parsed[0] * _COUNT_SUFFIXES[parsed[1]])


def parse_bytes(text: str | int) -> int | None:
    """'8GiB' -> 8 x 1024^3, '8GB' -> 8 x 10^9, '4096' -> 4096 bytes. None if unreadable."""
    parsed = _number_and_suffix(text)
    if parsed is None or (parsed[1] or "b") not in _BYTE_SUFFIXES:
        return None
    return round(parsed[0] * _BYTE_SUFFIXES[parsed[1] or "b"])
