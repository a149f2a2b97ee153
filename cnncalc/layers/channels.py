"""Channel groups (issue #14): ShuffleNetV2's split of the channels into branches and its channel
shuffle (torchvision's shufflenetv2.py: `x1, x2 = x.chunk(2, dim=1)`, `channel_shuffle(out, 2)`).

`channel_slice` is one group of a tensor's channels, as torch.chunk / torch.split return it: a view
(nothing allocated, nothing saved, no MACs). The `split` construct (cnncalc/blocks.py) feeds each of
its branches one slice. `channel_shuffle` interleaves the channels of `groups` groups
(reshape, transpose, contiguous): a new tensor, nothing saved for backward.
"""

from __future__ import annotations

from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.base import (
    Context,
    Inference,
    LayerKind,
    MemoryContext,
    MemoryRule,
    Param,
    integer,
    register,
)
from cnncalc.rule import Rule

GROUPS_DO_NOT_DIVIDE = Rule(
    "CNN226", "channel-groups-do-not-fit", "error",
    "split or channel_shuffle groups that do not divide the channels, or sections that do not sum to them",
    what="Reports a `split`, `channel_slice` or `channel_shuffle` whose groups do not divide the input's "
    "channels, a split whose `sections` do not add up to them, and a slice index beyond the groups.",
    why="torch.chunk into equal groups and ShuffleNet's channel_shuffle (a reshape to groups x C/groups) "
    "need equal groups; torch.split with explicit sections needs them to cover the channels exactly.",
    example="""
    - conv: {filters: 116, kernel: 1}
    - channel_shuffle: 3
    """,
    fix="Use a divisor of the channel count as groups (2 for ShuffleNetV2), or list `sections` that add up "
    "to the channels.",
)

_MAX_SECTIONS = 1024


def sections(node) -> tuple[int, ...]:
    """A list of positive whole numbers: the channels of each group, in order."""
    one = integer(1)
    if not node.is_sequence or not node.value:
        raise SpecError(f"expected a list of channel counts, got {node.text or 'this'!r}", node.loc,
                        hint="write e.g. sections: [24, 40]")
    if len(node.value) > _MAX_SECTIONS:
        raise SpecError(f"more than {_MAX_SECTIONS} sections", node.loc, code="CNN003")
    return tuple(one(item) for item in node.value)


sections.schema = {"type": "array", "items": integer(1).schema, "minItems": 1, "maxItems": _MAX_SECTIONS}


def group_sizes(p, channels: int, label: str) -> tuple[int, ...]:
    """The channels of each group: `sections` as given, else `groups` equal groups; located errors."""
    if p.get("sections") is not None:
        given = tuple(p["sections"])
        if sum(given) != channels:
            raise ShapeError(f"{label}: the sections {list(given)} add up to {sum(given)} channels, the input has "
                             f"{channels}", hint=f"list sections that add up to {channels}", code="CNN226")
        return given
    groups = p["groups"]
    if channels % groups:
        divisors = [d for d in range(2, min(channels, 64) + 1) if channels % d == 0][:6]
        raise ShapeError(f"{label}: {channels} channels do not split into {groups} equal groups",
                         hint="use a divisor of the channels" + (f" ({', '.join(map(str, divisors))})" if divisors
                                                                 else "") + ", or list `sections`", code="CNN226")
    return (channels // groups,) * groups


@register
class ChannelSlice(LayerKind):
    """Group `index` of the input's channels (torch.chunk(x, groups, dim=1)[index], or
    torch.split(x, sections, dim=1)[index]): a view of the input."""

    name = "channel_slice"
    example = "{groups: 2, index: 1}"
    summary = "one group of the input's channels (torch.chunk / torch.split): a view; no params, no MACs"
    rules = (GROUPS_DO_NOT_DIVIDE,)
    params = (
        Param("index", integer(0), 0, "which group, counting from 0"),
        Param("groups", integer(1), 2, "equal groups the channels are split into"),
        Param("sections", sections, None, "the channels of each group instead of equal groups"),
    )

    def bounds(self, p, channels: int, label: str) -> tuple[int, int]:
        """(first, last + 1) channel of the slice."""
        sizes = group_sizes(p, channels, label)
        if p["index"] >= len(sizes):
            raise ShapeError(f"{label}: index {p['index']} of {len(sizes)} groups", code="CNN226",
                             hint=f"use an index from 0 to {len(sizes) - 1}")
        start = sum(sizes[: p["index"]])
        return start, start + sizes[p["index"]]

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        start, stop = self.bounds(p, x.channels, ctx.label)
        return Inference(output=x.with_channels(stop - start))

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """A view of the input; its backward (SplitBackward, SliceBackward) makes an input-sized
        gradient, zeros outside the slice: not a view of the output's gradient."""
        return MemoryRule(aliases_input=True)

    #: a view: channels-last, the slice of the last axis.
    forward_view = True

    def forward(self, p, inputs, run):
        from cnncalc.forward import ForwardResult

        (x,) = inputs
        start, stop = self.bounds(p, x.shape[-1], "channel_slice")
        return ForwardResult(x[..., start:stop])

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        start, stop = self.bounds(p, inputs[0].channels, "channel_slice")
        return torch_ops.ChannelSlice(start, stop)

    def torch_code(self, p, inputs, inference: Inference):
        """Forward code only: the channels' slice of NCHW, a view (as torch.chunk's pieces)."""
        from cnncalc.layers.code import TorchCode

        start, stop = self.bounds(p, inputs[0].channels, "channel_slice")
        return TorchCode(None, f"{{x}}[:, {start}:{stop}]")


@register
class ChannelShuffle(LayerKind):
    """ShuffleNet's channel shuffle (torchvision's channel_shuffle, nn.ChannelShuffle): the channels
    as a groups x C/groups matrix, transposed, so that every group receives channels of every other."""

    name = "channel_shuffle"
    aliases = ("shuffle",)
    shorthand = "groups"
    example = "2"
    summary = "interleaves the channels of `groups` groups (ShuffleNet): a new tensor; no params, no MACs"
    rules = (GROUPS_DO_NOT_DIVIDE,)
    params = (Param("groups", integer(1), 2, "the groups whose channels are interleaved"),)

    def infer(self, p, inputs, ctx: Context) -> Inference:
        (x,) = inputs
        group_sizes(p, x.channels, ctx.label)
        return Inference(output=x)

    def memory_rule(self, p, inputs, inference: Inference, ctx: MemoryContext) -> MemoryRule:
        """view, transpose (views) and contiguous (a copy, CloneBackward): a new output, nothing
        saved; the backward reshapes the transposed gradient, a copy: a new input-sized gradient."""
        return MemoryRule()

    def forward(self, p, inputs, run):
        """Channels-last: (..., groups, C/groups) transposed to (..., C/groups, groups), copied flat."""
        import numpy as np

        from cnncalc.forward import ForwardResult

        (x,) = inputs
        groups = p["groups"]
        split = x.reshape(*x.shape[:-1], groups, x.shape[-1] // groups)
        return ForwardResult(np.ascontiguousarray(np.swapaxes(split, -1, -2)).reshape(x.shape))

    def torch_module(self, p, inputs, inference: Inference, weights=None):
        from cnncalc.layers import torch_ops

        return torch_ops.ChannelShuffle(p["groups"])

    def torch_code(self, p, inputs, inference: Inference):
        """A small class doing what torchvision's channel_shuffle does (view, transpose, reshape), not
        nn.ChannelShuffle: that has no ONNX symbolic, and this exports as Reshape -> Transpose ->
        Reshape, the pattern `cnncalc import` reads back as a channel_shuffle."""
        from cnncalc.layers.code import Construct, TorchCode

        return TorchCode(Construct("ChannelShuffle", (("groups", p["groups"]),)), helpers=(CHANNEL_SHUFFLE_CODE,))


CHANNEL_SHUFFLE_CODE = '''class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle as torchvision's channel_shuffle writes it: the channels viewed as
    groups x channels/groups, transposed, flattened back (nn.ChannelShuffle computes the same but has
    no ONNX export; this is Reshape -> Transpose -> Reshape in ONNX)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        batch, channels, *spatial = x.shape
        x = x.view(batch, self.groups, channels // self.groups, *spatial)
        return torch.transpose(x, 1, 2).reshape(batch, channels, *spatial)
'''

