"""`analyze --depth N`: blocks nested N levels deep fold into one row with their totals."""

from __future__ import annotations

import re

import pytest


def _rows(text: str) -> list[list[str]]:
    """The cells of the layer table (the first table printed)."""
    first = text.split("└", 1)[0]
    lines = [line for line in first.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in line.strip("│").split("│")] for line in lines]


def _number(cell: str) -> int:
    return int(cell.split("=")[-1].replace(",", "")) if re.search(r"\d", cell) else 0


@pytest.mark.parametrize("spec", ["resnet18", "resnet50", "googlenet", "densenet121", "unet_small"])
def test_depth_zero_rows_add_up_to_the_totals(cli, spec):
    rows = _rows(cli("analyze", f"specs/{spec}.yaml", "--depth", "0").stdout)
    body, total = rows[:-1], rows[-1]
    assert total[0] == "Total"
    assert not any(row[0].startswith(" ") or row[0].endswith("/") or row[1] == "subtotal" for row in body)
    assert sum(_number(row[4]) for row in body) == _number(total[4])
    assert sum(_number(row[5]) for row in body) == _number(total[5])


def test_resnet_stages_fold_into_one_row_each(cli):
    rows = _rows(cli("analyze", "specs/resnet18.yaml", "--depth", "0").stdout)
    stage = next(row for row in rows if row[0] == "layer4")
    assert stage[1] == "basic_stage" and stage[2] == "7 x 7 x 512" and stage[4] == "8,393,728"


def test_a_depth_beyond_the_nesting_is_the_full_table(cli):
    assert cli("analyze", "specs/resnet50.yaml", "--depth", "64").stdout == cli("analyze", "specs/resnet50.yaml").stdout


def test_depth_one_shows_first_level_contents_and_folds_the_rest(cli):
    rows = _rows(cli("analyze", "specs/resnet18.yaml", "--depth", "1").stdout)
    names = [row[0] for row in rows]
    assert "layer2/" in names and "basic_projection1" in names and "= layer2" in names
    assert len(names) < 60  # the 2-level blocks of stages 2-4 fold
