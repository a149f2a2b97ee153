"""The codes `cnncalc import` raises (cnncalc/importers/errors.py), documented for `cnncalc rules`,
docs/lint.md and SARIF."""

from __future__ import annotations

from cnncalc.lint.rule import Rule

RULES = (
    Rule(
        "CNN700", "import-unreadable-model", "error", "the file is not an ONNX model or is truncated",
        what="Reports a `cnncalc import` input whose bytes are not a complete ONNX ModelProto (another file "
        "type, a truncated download, an empty graph).",
        why="A partly read graph would give a spec with layers missing and numbers that look plausible.",
        example="cnncalc import model.onnx.part",
        fix="Export the model again (torch.onnx.export) or download it completely; exits with status 2.",
    ),
    Rule(
        "CNN701", "import-unmapped-op", "error", "an ONNX node has no cnncalc layer kind",
        what="Reports the first node whose op type (or custom domain) cnncalc cannot map, naming its index, "
        "name, op type and inputs.",
        why="Counting an unknown op as zero is the most reported bug of model summarisers: the totals "
        "would be silently low.",
        example="cnncalc import model_with_custom_op.onnx",
        fix="Pass --keep-unknown to record it as an `opaque` layer (its output shape, no counts; the "
        "import says so), or replace the op in the model.",
    ),
    Rule(
        "CNN702", "import-dynamic-shape", "error", "a tensor's size is not fixed in the graph",
        what="Reports an input or intermediate tensor with a symbolic or missing size (other than the batch).",
        why="cnncalc computes every count from sizes; a guessed size would give guessed numbers.",
        example="cnncalc import model_with_dynamic_height.onnx",
        fix="Export with a fixed input size (no dynamic_axes but the batch), or pass --input HxWxC.",
    ),
    Rule(
        "CNN703", "import-control-flow", "error", "the graph has control flow (If, Loop, Scan)",
        what="Reports If, Loop and Scan nodes, whose subgraphs run a data-dependent number of times.",
        why="A spec describes one fixed sequence of layers; a loop's count is not in the graph.",
        example="cnncalc import scripted_model.onnx",
        fix="Export a traced model (torch.onnx.export with dynamo=False traces one path).",
    ),
    Rule(
        "CNN704", "import-shape-disagrees", "error", "cnncalc's shape differs from the graph's",
        what="After writing the spec, `cnncalc import` analyses it and compares every layer's output shape "
        "with the shape the ONNX graph states; a difference names both.",
        why="A spec whose shapes differ from the model counts a different model.",
        example="cnncalc import model.onnx",
        fix="Report it with the model: the mapping of that node is wrong.",
    ),
    Rule(
        "CNN705", "import-not-a-spec-graph", "error", "the graph's connections cannot be written as constructs",
        what="Reports a graph whose branches do not nest (a tensor read by two merges that do not enclose "
        "each other), which the spec's residual/concat/add constructs cannot express, or one with several "
        "inputs or outputs.",
        why="Copying the shared layers into two branches would count them twice.",
        example="cnncalc import two_headed_model.onnx",
        fix="Import the part of the model that is one chain of nested branches.",
    ),
    Rule(
        "CNN706", "import-unsupported-attribute", "error", "a mapped op uses a setting cnncalc cannot express",
        what="Reports a node of a mapped op type whose attributes have no spec equivalent (a Pad that is "
        "not zeros, a Concat along another axis, a Clip other than relu/relu6).",
        why="Mapping it anyway would describe a different computation.",
        example="cnncalc import model_with_reflect_padding.onnx",
        fix="Pass --keep-unknown to record the node as an `opaque` layer.",
    ),
    Rule(
        "CNN707", "import-bad-factory", "error", "`--torch module.path:factory` cannot build a model",
        what="Reports a `--torch` value that is not `module:callable`, a module that cannot be imported, a "
        "missing callable, one that fails, or a result that is not an nn.Module.",
        why="Nothing can be traced.",
        example="cnncalc import --torch torchvision.models:resnet51",
        fix="Name an importable module and a function that returns an nn.Module; exits with status 2.",
    ),
    Rule(
        "CNN708", "import-needs-extra", "error", "`cnncalc import` needs onnx (and torch for --torch)",
        what="Reports a `cnncalc import` run in an environment without the onnx package (or without torch "
        "for --torch).",
        why="The other commands deliberately need neither.",
        example="cnncalc import model.onnx   # onnx missing",
        fix='Install the extra: pip install "cnncalc[onnx]" (and "cnncalc[torch]"); exits with status 2.',
    ),
)
