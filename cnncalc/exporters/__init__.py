"""Exporters: the analysed layer graph written as another framework's code (`cnncalc export`).

They consume the graph and its analysis (and the spec's tree, for its repeats and blocks), never
the other way round. `pytorch` writes a torch `nn.Module` from each layer kind's own
`LayerKind.torch_code`; `tree` pairs the spec's structure with the analysed layers; `loader` is
the weight-loading code every exported file carries.
"""

from __future__ import annotations

from cnncalc.errors import CnnCalcError


class ExportError(CnnCalcError):
    """A layer the target framework cannot express (CNN610), at the layer's location."""
