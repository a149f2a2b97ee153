"""Python identifiers from cnncalc's names: attributes from layer names, classes from block and
spec names; deterministic, and unique where they must be."""

from __future__ import annotations

import keyword
import re

#: attributes an nn.Module has already: a layer of that name gets a trailing underscore.
MODULE_ATTRIBUTES = frozenset({
    "forward", "training", "eval", "train", "to", "cuda", "cpu", "float", "double", "half", "type",
    "apply", "parameters", "buffers", "children", "modules", "state_dict", "load_state_dict",
    "load_weights", "register_buffer", "register_parameter", "zero_grad", "requires_grad_", "extra_repr",
    "named_parameters", "named_buffers", "named_children", "named_modules", "add_module", "get_submodule",
    "dump_patches", "call_super_init", "share_memory", "bfloat16", "ipu", "xpu", "mtia", "compile",
})


def identifier(text: str) -> str:
    """A valid, non-reserved Python name: other characters become _, a leading digit gets one."""
    name = re.sub(r"\W", "_", text, flags=re.ASCII) or "_"
    if name[0].isdigit():
        name = f"_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in MODULE_ATTRIBUTES or name == "self":
        name += "_"
    return name


def class_name(text: str, fallback: str = "Net") -> str:
    """CamelCase of a name's words (bottleneck_projection -> BottleneckProjection, ResNet-50 -> ResNet50)."""
    words = re.findall(r"[A-Za-z0-9]+", text, flags=re.ASCII)
    name = "".join(w[0].upper() + w[1:] for w in words)
    if not name or len(words) > 4 or len(name) > 40:
        return fallback
    return f"{fallback}{name}" if name[0].isdigit() else name


class Names:
    """Hands out unique names in first-come order: a taken name gets _2, _3, ..."""

    def __init__(self, taken=()):
        self.taken = set(taken)

    def claim(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self.taken:
            n += 1
            name = f"{wanted}_{n}"
        self.taken.add(name)
        return name
