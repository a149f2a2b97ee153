"""Receptive-field rules (cnncalc/receptive.py): a classifier whose features never see the whole
input, fields centred between pixels, and branches that meet with misaligned fields."""

from __future__ import annotations

from collections.abc import Iterator

from cnncalc.analysis import LayerResult
from cnncalc.diagnostics import Diagnostic
from cnncalc.lint.rule import Rule
from cnncalc.lint.subject import Subject
from cnncalc.receptive import LayerField, NoFieldRule, fields, last_map


def _fields(subject: Subject) -> tuple[LayerField, ...] | None:
    if not subject.finished:
        return None
    try:
        return fields(subject.analysis)
    except NoFieldRule:
        return None


def _size(values) -> str:
    return "x".join(_text(v) for v in values)


def _text(value) -> str:
    return str(value) if value.denominator == 1 else f"{float(value):g}"


def _final_map(subject: Subject, classifiers_only: bool) -> tuple[LayerResult, LayerField] | None:
    """The last feature map of a network that ends in a vector (or, unless `classifiers_only`, the
    last layer of one that ends in a map) with its field."""
    found = _fields(subject)
    if found is None:
        return None
    index = last_map(subject.analysis, found)
    if index is None and not classifiers_only and found[-1].spatial:
        index = len(found) - 1
    return None if index is None else (subject.analysis.results[index], found[index])


def field_smaller_than_input(subject: Subject) -> Iterator[Diagnostic]:
    final = _final_map(subject, classifiers_only=True)
    if final is None:
        return
    result, field = final
    sizes = subject.analysis.graph.input.spatial
    if any(a.size < w for a, w in zip(field.axes, sizes)):
        yield FIELD_SMALLER.at(
            result.node.loc,
            f"{result.node.label}: the receptive field of the last feature map is "
            f"{_size(a.size for a in field.axes)} on a {_size(sizes)} input: no feature sees the whole image",
            "deepen the network, add a stride or a dilated convolution before it, or check that a classifier "
            "over partial views is what you want (VGG-16's 212 on 224 is)",
        )


def centre_off_grid(subject: Subject) -> Iterator[Diagnostic]:
    final = _final_map(subject, classifiers_only=False)
    if final is None:
        return
    result, field = final
    centres = [a.centre() for a in field.axes]
    if any(c.denominator != 1 for c in centres):
        yield CENTRE_OFF_GRID.at(
            result.node.loc,
            f"{result.node.label}: output 0's field is centred at {_size(centres)}, between input pixels",
            "use odd kernels with padding (F - 1)/2 (even kernels and asymmetric padding shift centres by half a "
            "pixel)",
        )


def misaligned_branches(subject: Subject) -> Iterator[Diagnostic]:
    found = _fields(subject)
    if found is None:
        return
    for result, field in zip(subject.analysis.results, found):
        wrong = field.misalignment
        if wrong is None:
            continue
        parts = ", ".join(f"{name}: centre {_text(centre)}, jump {_text(jump)}" for name, jump, centre in wrong.branches)
        what = "different strides" if wrong.strides_differ else f"centres {_text(wrong.offset)} px apart"
        yield MISALIGNED.at(
            result.node.loc,
            f"{result.node.label}: the branches meet with misaligned receptive fields ({what}; axis {wrong.axis}: "
            f"{parts})",
            "pad the branches alike (padding (F - 1)/2 for odd kernels) so each output position combines views "
            "of the same input area",
        )


FIELD_SMALLER = Rule(
    "CNN310", "field-smaller-than-input", "warning",
    "the last feature map's receptive field is smaller than the input",
    what="Reports a network that ends in a vector (a classifier) whose last feature map has a receptive field "
    "smaller than the input along some axis.",
    why="No single feature sees the whole image; the classifier combines partial views, and objects larger "
    "than the field are never seen whole (Araujo et al., Distill 2019: accuracy grows with the field).",
    example="""
    input: 224x224x3
    layers:
      - repeat: {times: 3, layers: [conv: {filters: 32, kernel: 3, padding: 1}, pool: 2]}
      - global_pool
      - fc: 10
    """,
    fix="Add depth, strides or dilation before the last map. Opt-in (`--select CNN310`): classic designs "
    "such as VGG-16 (212 on 224) and AlexNet (195 on 227) are built this way.",
    check=field_smaller_than_input,
    default=False,
)
CENTRE_OFF_GRID = Rule(
    "CNN311", "field-centre-off-grid", "warning", "the output's receptive field is centred between input pixels",
    what="Reports a last feature map whose output 0 has its receptive field centred on a half pixel.",
    why="Fields centred between pixels shift every output by half a pixel against the input grid, which "
    "misplaces detections and heat maps (even kernels, asymmetric 'same' padding).",
    example="- conv: {filters: 32, kernel: 4, padding: 1}",
    fix="Use odd kernels with symmetric padding (F - 1)/2. Opt-in (`--select CNN311`): every 2x2 pooling "
    "centres its outputs between pixels, as VGG's and the cs231n designs do on purpose.",
    check=centre_off_grid,
    default=False,
)
MISALIGNED = Rule(
    "CNN312", "misaligned-branches", "warning", "branches meet with misaligned receptive fields",
    what="Reports an add or concat whose inputs' fields have different jumps (effective strides) or centres, "
    "with the offset in input pixels.",
    why="Each output position then combines views of different input areas; Google's receptive_field library "
    "refuses such graphs ('Graph is not aligned').",
    example="""
    - concat:
        - [conv: {filters: 8, kernel: 3, padding: 1}]
        - [conv: {filters: 8, kernel: 3, padding: [0, 2, 0, 2]}]
    """,
    fix="Pad the branches alike so their fields share centres; give them the same total stride.",
    check=misaligned_branches,
)

RULES = (FIELD_SMALLER, CENTRE_OFF_GRID, MISALIGNED)
