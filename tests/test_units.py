"""Sizes people write on the command line (--max-memory)."""

import pytest

from cnncalc.units import parse_bytes


@pytest.mark.parametrize("text, expected", [
    ("4GiB", 4 * 1024**3), ("4 GiB", 4 * 1024**3), ("512MiB", 512 * 1024**2), ("1.5GiB", 3 * 1024**3 // 2),
    ("2GB", 2 * 10**9), ("100", 100), ("100B", 100), ("64kb", 64_000), ("1TiB", 1024**4),
])
def test_sizes_parse(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "GiB", "4 GiBs", "-1GiB", "nan", "lots"])
def test_nonsense_sizes_are_refused(text):
    assert parse_bytes(text) is None
