"""Sizes people write on the command line (--memory, --max-memory): units.parse_size, the one reader."""

import pytest

from cnncalc.errors import UsageError
from cnncalc.units import parse_size


@pytest.mark.parametrize("text, expected", [
    ("4GiB", 4 * 1024**3), ("4 GiB", 4 * 1024**3), ("512MiB", 512 * 1024**2), ("1.5GiB", 3 * 1024**3 // 2),
    ("2GB", 2 * 10**9), ("100B", 100), ("64kb", 64_000), ("1TiB", 1024**4),
    # issue #13: B is optional after a prefix, decimal K/M/G/T and binary Ki/Mi/Gi/Ti
    ("24G", 24 * 10**9), ("24Gi", 24 * 2**30), ("2.5k", 2500), ("1e3MB", 10**9),
])
def test_sizes_parse(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "GiB", "4 GiBs", "-1GiB", "nan", "lots", "0GiB", "0B"])
def test_nonsense_sizes_are_refused(text):
    with pytest.raises(UsageError):
        parse_size(text)


def test_a_bare_number_is_refused_with_a_hint():
    """`--memory 24` meaning 24 bytes surprises people: a size needs a unit (issue #13)."""
    with pytest.raises(UsageError) as error:
        parse_size("24", "--memory", code="CNN501")
    assert error.value.code == "CNN501" and "no unit" in error.value.message
    assert "24GiB" in error.value.hint and "24B" in error.value.hint


@pytest.mark.parametrize("text", ["9" * 100 + "GiB", "1e999GiB", "1" + "0" * 60])
def test_absurdly_long_numbers_are_a_located_error(text):
    with pytest.raises(UsageError) as error:
        parse_size(text, "--max-memory")
    assert str(error.value).startswith("cnncalc: error: --max-memory: ")
