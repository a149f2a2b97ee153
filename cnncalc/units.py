"""How numbers are written for people: counts with decimal prefixes, bytes with binary ones."""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md


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
#: Sizes: decimal prefixes K, M, G, T (10^3 ...) and binary ones Ki, Mi, Gi, Ti (1024 ...); the B after a
#: prefix is optional (24G = 24GB), a bare B is bytes, and a bare number is refused (24 is rarely 24 bytes).
_SIZE_SUFFIXES = {"b": 1} | {
    prefix + b: factor
    for i, letter in enumerate("kmgt", start=1)
    for prefix, factor in ((letter, 10 ** (3 * i)), (letter + "i", 1024**i))
    for b in ("", "b")
}
#: Longer numbers are refused before any arithmetic (10^99999999 would take minutes to build).
MAX_NUMBER_CHARS = 40
MAX_EXPONENT = 30
SIZE_EXAMPLES = "24GiB, 512MiB (binary: KiB, MiB, GiB, TiB), 16GB or 16G (decimal: K, M, G, T), 4096B"


def _number_and_suffix(text: str) -> tuple[Fraction, str] | None:
    """Exact (a float would turn 36893489T into 36893488999999995904). None if unreadable or absurdly long."""
    import re
    from fractions import Fraction

    match = re.fullmatch(r"\s*([0-9][0-9_,]*(?:\.[0-9]+)?)(?:[eE]([0-9]+))?\s*([A-Za-z]*)\s*", str(text))
    if match is None or len(match.group(1)) > MAX_NUMBER_CHARS or len(match.group(2) or "") > 2:
        return None
    exponent = int(match.group(2) or 0)
    if exponent > MAX_EXPONENT:
        return None
    return Fraction(match.group(1).replace("_", "").replace(",", "")) * 10**exponent, match.group(3).lower()


def parse_count(text: str | int) -> int | None:
    """'100M' -> 100,000,000; '1.5G', '25e6', '25_000_000' too (decimal prefixes). None if unreadable."""
    parsed = _number_and_suffix(text)
    if parsed is None or parsed[1] not in _COUNT_SUFFIXES:
        return None
    return round(parsed[0] * _COUNT_SUFFIXES[parsed[1]])


def _refuse(message: str, option: str, hint: str, code: str, where: str | None):
    from cnncalc.errors import Location, UsageError

    return UsageError(message, Location(where or "cnncalc"), hint=hint, code=code)


def parse_size(text: str | int, option: str = "--memory", code: str = "CNN004", where: str | None = None) -> int:
    """The one reader of memory sizes (fit --memory, verify, sweep and lint --max-memory, [tool.cnncalc]):
    '24GiB' -> 24 x 1024^3, '16GB' and '16G' -> 16 x 10^9, '1.5KiB' -> 1536, '4096B' -> 4096.

    A bare number is refused with a hint, as are nonsense, sizes that are not positive and numbers too
    long to be meant; the error names `option` and is located at `where` (default: the command line)."""
    raw = str(text).strip()
    shown = f"{option} {raw!r}"
    match = _number_and_suffix(raw)
    if match is None:
        import re

        if re.fullmatch(r"[0-9][0-9_,.]*(?:[eE][0-9]+)?\s*[A-Za-z]*", raw):
            raise _refuse(f"{option}: the size {raw[:60]!r}{'...' if len(raw) > 60 else ''} is too long to be meant",
                          option, f"write at most {MAX_NUMBER_CHARS} digits and an exponent up to e{MAX_EXPONENT}, "
                          f"e.g. {SIZE_EXAMPLES}", code, where)
        raise _refuse(f"{option}: cannot read the size {raw!r}", option, f"write a size such as {SIZE_EXAMPLES}",
                      code, where)
    number, suffix = match
    if suffix == "":
        raise _refuse(f"{option}: the size {raw!r} has no unit", option,
                      f"write {raw}GiB, {raw}GB or {raw}B (bytes): sizes need a unit, e.g. {SIZE_EXAMPLES}",
                      code, where)
    if suffix not in _SIZE_SUFFIXES:
        raise _refuse(f"{option}: cannot read the unit {suffix!r} of {shown}", option,
                      f"write a size such as {SIZE_EXAMPLES}", code, where)
    size = round(number * _SIZE_SUFFIXES[suffix])
    if size <= 0:
        raise _refuse(f"{option}: the size {raw!r} is not positive", option, f"write a size such as {SIZE_EXAMPLES}",
                      code, where)
    return size


def parse_amount(text: str | int, option: str, code: str = "CNN004", where: str | None = None) -> int:
    """A positive count for a budget option (--max-params 25M, --max-macs 4G), or a located usage error."""
    value = parse_count(text)
    if value is None or value <= 0:
        raise _refuse(f"{option}: cannot read the amount {str(text).strip()!r}", option,
                      "write a positive amount such as 25M, 1.5G or 25000000 (K, M, G, T = 10^3, 10^6, 10^9, 10^12)",
                      code, where)
    return value
