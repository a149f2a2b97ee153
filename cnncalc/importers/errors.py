"""The errors of `cnncalc import`: each a located CnnCalcError with its code (CNN700-CNN709,
documented in cnncalc/lint/rules/importing.py). The location is the model file; the message names
the node (its index in the graph, its name, its op type and its inputs)."""

from __future__ import annotations

from cnncalc.errors import EXIT_USAGE, CnnCalcError


class ImportFailed(CnnCalcError):
    """A model cnncalc cannot turn into a spec (exit 1: the model is the problem)."""

    code = "CNN701"


class UnreadableModel(CnnCalcError):
    """The file is not an ONNX model, or is truncated (exit 2, as for unreadable input)."""

    exit_code = EXIT_USAGE
    code = "CNN700"


class MissingExtra(CnnCalcError):
    """onnx (or torch for --torch) is not installed (exit 2)."""

    exit_code = EXIT_USAGE
    code = "CNN708"


UNMAPPED_OP = "CNN701"
DYNAMIC_SHAPE = "CNN702"
CONTROL_FLOW = "CNN703"
SHAPE_DISAGREES = "CNN704"
NOT_SERIES_PARALLEL = "CNN705"
UNSUPPORTED_ATTRIBUTE = "CNN706"
BAD_FACTORY = "CNN707"
