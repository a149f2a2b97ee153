"""Rules whose findings come from reading and analysing the spec (cnncalc/yamlsource.py, spec.py,
graph.py, window.py and the values every layer kind shares): documented here so that `cnncalc rules`,
the docs and SARIF can name and explain them. The codes a single kind raises are documented with that
kind (`LayerKind.rules`, e.g. CNN204 in cnncalc/layers/merge.py)."""

from __future__ import annotations

from cnncalc.lint.rule import Rule

RULES = (
    Rule(
        "CNN001", "unreadable-file", "error", "the file cannot be read (missing, a directory, not UTF-8)",
        what="Reports a path that does not exist, a glob that matches no file, a directory, or a file whose bytes "
             "are not UTF-8 text: a finding with the path, in every output format.",
        why="Nothing can be checked. `cnncalc lint` exits with status 2 for it, as for a usage error.",
        example="cnncalc lint specs/vgg61.yaml   # no such file",
        fix="Check the path; save the spec as UTF-8.",
    ),
    Rule(
        "CNN002", "invalid-yaml", "error", "the text is not valid YAML",
        what="Reports YAML syntax errors (bad indentation, unclosed brackets, tabs) at the parser's position.",
        why="A spec that does not parse describes no model; editors and CI should point at the exact place.",
        example="""
        layers:
          - conv: {filters: 64, kernel: 3
        """,
        fix="Fix the syntax at the reported line and column (here: close the brace).",
    ),
    Rule(
        "CNN003", "limit-exceeded", "error", "a value exceeds one of cnncalc's safety limits",
        what="Reports sizes above cnncalc's documented limits (10,000,000 per dimension) and specs that "
        "expand to more than 1,000,000 layers.",
        why="Such numbers are typos or attacks; analysing them would take unbounded time and memory.",
        example="input: 224000000x224x3",
        fix="Use realistic sizes and repeat counts.",
    ),
    Rule(
        "CNN004", "bad-option", "error", "a command-line or configuration value cannot be used",
        what="Reports options cnncalc cannot use, such as an unknown budget unit or `[tool.cnncalc]` key.",
        why="A misspelt option silently ignored would let a CI budget pass that should fail.",
        example="cnncalc lint --max-memory 8 gigs specs/",
        fix="Use the documented values (`--max-memory 8GiB`); exits with status 2.",
    ),
    Rule(
        "CNN005", "unsafe-yaml", "error", "YAML features a spec never needs: aliases, tags, deep nesting, huge files",
        what="Refuses YAML aliases (`*name`), non-standard tags (`!!python/object`), nesting deeper than 64 "
        "levels and files over 1 MiB.",
        why="Aliases expand exponentially (the billion-laughs bomb) and tags can construct objects; a spec "
        "is plain data.",
        example="""
        defaults: &d {kernel: 3}
        layers:
          - conv: *d
        """,
        fix="Write the values out, or use `defaults:` and `repeat:` to avoid repetition.",
    ),
    Rule(
        "CNN006", "unknown-rule-in-comment", "warning", "a `# cnncalc: ignore[...]` comment names no rule",
        what="Reports a code, prefix or name inside `# cnncalc: ignore[...]` or `# cnncalc: ignore-file[...]` "
        "that matches no rule, with the nearest code or name. (`--select` and `--ignore` refuse such a word "
        "with exit 2.)",
        why="A misspelt code suppresses nothing: the finding it was meant to silence comes back, or a later "
        "rename leaves a stale comment that no one notices.",
        example="  - conv: {filters: 64, kernel: 4}   # cnncalc: ignore[CNN30e]",
        fix="Write the code or name as `cnncalc rules` lists it (here CNN303), or remove the comment.",
    ),
    Rule(
        "CNN100", "invalid-spec", "error", "any other problem with the spec",
        what="The catch-all code of cnncalc's error root, for problems no more specific code describes.",
        why="The spec cannot be analysed as written.",
        example="layers: 5",
        fix="Follow the message and its `help:` line.",
    ),
    Rule(
        "CNN101", "invalid-value", "error", "a value has the wrong type or range",
        what="Reports values of the wrong type (a string where a number is expected), out of range (a "
        "kernel of 0) or unreadable (an input size such as `224x224xRGB`).",
        why="The layer's meaning depends on the value; guessing would give wrong shapes and counts.",
        example="- conv: {filters: 64, kernel: three}",
        fix="Write the value in the form the message asks for (here `kernel: 3`).",
    ),
    Rule(
        "CNN102", "unknown-key", "error", "a key the spec format does not know",
        what="Reports keys a layer kind, `input`, `repeat` or the top level does not accept, with the "
        "nearest known key.",
        why="A misspelt key (`strides:` for `stride:`) would otherwise be ignored and the default used.",
        example="- conv: {filters: 64, kernel: 3, strides: 2}",
        fix="Use the suggested key (`stride`); `cnncalc schema` lists every key.",
    ),
    Rule(
        "CNN103", "duplicate-key", "error", "the same key twice in one mapping",
        what="Reports a mapping that gives a key twice.",
        why="YAML keeps only one of them silently, so one of the two settings is lost; often a missing `-` "
        "merged two layers.",
        example="""
        layers:
          - conv: {filters: 64, kernel: 3}
            conv: {filters: 64, kernel: 3}
        """,
        fix="Remove or rename one, or start a new list item.",
    ),
    Rule(
        "CNN104", "unknown-layer", "error", "a layer type cnncalc does not know",
        what="Reports a layer whose type is not a registered kind (or alias), with the nearest known type.",
        why="Its output shape and counts cannot be computed.",
        example="- convolution: {filters: 64, kernel: 3}",
        fix="Use a known type (`conv`); `cnncalc schema` and the README list them.",
    ),
    Rule(
        "CNN105", "missing-key", "error", "a required key is missing",
        what="Reports a layer without a required setting (a conv without `filters`), a spec without "
        "`input:` or `layers:`, a repeat without `times:`.",
        why="There is no sensible default for these.",
        example="- conv: {kernel: 3}",
        fix="Add the key to the layer, or set it once under `defaults:`.",
    ),
    Rule(
        "CNN106", "duplicate-layer-name", "error", "two layers with the same name",
        what="Reports a layer `name:` used twice.",
        why="Reports, merges and error messages refer to layers by name.",
        example="""
        - conv: {filters: 64, kernel: 3, name: c1}
        - conv: {filters: 64, kernel: 3, name: c1}
        """,
        fix="Rename one; inside `repeat:` a number is appended automatically.",
    ),
    Rule(
        "CNN201", "non-integral-size", "error", "(W - F + 2P)/S + 1 is not a whole number",
        what="Under the strict convention, reports a window whose output size is fractional, showing the "
        "arithmetic with your numbers and the nearest padding, stride, input or kernel that fits, on each side "
        "where both exist, with the output each gives (AlexNet's conv1 on 224: 223 -> 54 or 227 -> 55).",
        why="cs231n: the neurons do not fit neatly and symmetrically across the input; frameworks silently "
        "drop the last rows (or pad), so the model differs from what the numbers say (AlexNet's 224).",
        example="""
        input: 10x10x3
        layers:
          - conv: {filters: 8, kernel: 3, stride: 2}   # (10 - 3 + 2*0)/2 + 1 = 4.5
        """,
        fix="Apply one of the suggested settings, or choose the framework's convention "
        "(`--convention pytorch`) to floor like it does.",
    ),
    Rule(
        "CNN202", "kernel-larger-than-input", "error", "the window does not fit in the padded input",
        what="Reports a convolution or pooling window larger than its padded input, or an output size "
        "below 1, in every convention (a ceil-mode pool keeps one window, as in PyTorch; under pytorch a "
        "3-D average pool also refuses an unpadded input smaller than the window).",
        why="PyTorch and Keras raise; TensorFlow and Caffe silently produce empty or one-pixel outputs.",
        example="""
        input: 2x2x3
        layers:
          - conv: {filters: 8, kernel: 3}
        """,
        fix="Use a smaller kernel, more padding, or fewer downsampling layers before this one.",
    ),
    Rule(
        "CNN205", "padding-not-allowed", "error", "padding this convention (or layer) does not accept",
        what="Reports padding words outside the convention's vocabulary (ONNX's `same_upper` under "
        "pytorch), `same` with a stride under pytorch, pooling padding beyond the framework's limit "
        "(PyTorch P <= K/2, Caffe P < K), and Theano's ignore_border: false with padding.",
        why="The framework named by the convention raises for these, so the spec cannot be built there.",
        example="- pool: {kernel: 3, stride: 2, padding: 2}   # pytorch: at most 1",
        fix="Use padding the convention accepts, or the convention of the framework you target.",
    ),
    Rule(
        "CNN206", "axes-mismatch", "error", "a value or input with the wrong number of spatial axes",
        what="Reports per-axis lists whose length does not match the input's spatial axes, layers that need "
        "a feature map after the input became a vector, and conv1d/2d/3d on inputs of another rank.",
        why="The layer cannot be applied to that input.",
        example="""
        input: 32x32x3
        layers:
          - conv: {filters: 8, kernel: [3, 3, 3]}
        """,
        fix="Give one value per spatial axis (or a single value), or move the layer before fc/flatten.",
    ),
    Rule(
        "CNN220", "bad-block-parameter", "error", "a block parameter that is invalid, repeated or undefined",
        what="Reports block parameters with invalid names or declared twice, and `$name` references to "
        "parameters the block does not declare.",
        why="The block cannot be expanded.",
        example="""
        blocks:
          basic: {params: [width], layers: [{conv: {filters: $widht, kernel: 3}}]}
        """,
        fix="Declare every parameter once under `params:` and spell references as declared.",
    ),
    Rule(
        "CNN221", "recursive-block", "error", "a block that uses itself",
        what="Reports a block whose expansion reaches itself again, directly or through other blocks.",
        why="The expansion would never end.",
        example="""
        blocks:
          loop: {layers: [loop]}
        """,
        fix="Use `repeat:` for repetition; blocks may use other blocks but not themselves.",
    ),
    Rule(
        "CNN222", "bad-block-expression", "error", "a block expression that cannot be evaluated",
        what="Reports expressions such as `$width * 4` that are unreadable, divide by zero (also with a "
        "field of `$in`: the hint says what `$in` is there), give a fraction with `/` or a float outside "
        "`make_divisible(...)`, call a helper wrongly, use a non-numeric argument, or are too long.",
        why="Sizes must be whole numbers.",
        example="- conv: {filters: $width / 3, kernel: 1}   # width 64",
        fix="Use whole-number arithmetic (`//` to round down) on numeric arguments.",
    ),
    Rule(
        "CNN223", "block-name-taken", "error", "a block named like a layer type or construct",
        what="Reports a block whose name is already a layer type (conv, pool, ...) or a construct (repeat, "
        "residual, concat, add).",
        why="Uses of the block would be ambiguous.",
        example="""
        blocks:
          conv: {layers: [relu]}
        """,
        fix="Choose another name, e.g. my_conv.",
    ),
    Rule(
        "CNN227", "bad-input-field", "error", "`$in` without a field, or a field the block's input lacks",
        what="Reports `$in.<field>` where the tensor entering the block use has no such field (`$in.depth` "
        "on an image, `$in.size` on a map that is not square, `$in.height` on a vector), an unknown "
        "field, `$in` alone, and a field read from a parameter (`$width.channels`).",
        why="The value depends on a size the input does not have.",
        example="""
        blocks:
          se: {layers: [conv: {filters: $in.depth, kernel: 1}]}   # on a 56x56x24 map
        """,
        fix="Use a field of the input: $in.channels, $in.height and $in.width (an image), $in.length (a "
        "sequence), $in.depth (a volume), $in.size (a square map).",
    ),
    Rule(
        "CNN228", "input-outside-block", "error", "`$in` where no block use gives it a value",
        what="Reports `$in.<field>` in the top-level layers, or in an argument written there.",
        why="`$in` is the tensor entering a block use; outside a block's layers there is none.",
        example="""
        layers:
          - conv: {filters: $in.channels, kernel: 1}
        """,
        fix="Move the layers into a block under `blocks:` and use it, or write the number.",
    ),
    Rule(
        "CNN301", "dropped-rows", "warning", "the last input rows/columns are never covered (rounded down)",
        what="Under a floor convention, reports a window whose last `rem = (W - F + 2P) mod S` input "
        "positions are never visited.",
        why="The framework silently ignores those pixels (AlexNet conv1 on 224 drops 1 of every row); "
        "the model sees less of the image than its input size suggests.",
        example="- conv: {filters: 96, kernel: 11, stride: 4}   # on 224: (224 - 11)/4 + 1 = 54.25",
        fix="Adjust padding, stride or input size so that the division is whole (227 for AlexNet).",
    ),
    Rule(
        "CNN302", "asymmetric-same-padding", "warning", "'same' padding needs one pixel more on one side",
        what="Reports 'same' (and SAS automatic) padding whose total is odd, so one side gets an extra "
        "pixel (after in TF/PyTorch/SAME_UPPER, before in SAME_LOWER).",
        why="cuDNN supports only symmetric padding: SAS's GPU path needs forceEqualPadding, which adds "
        "a pixel and changes the output size; frameworks that pad asymmetrically emit an extra copy of "
        "the input, and models ported between frameworks shift by a pixel.",
        example="- conv: {filters: 8, kernel: 2, padding: same}",
        fix="Prefer odd kernels with stride 1, or input sizes divisible by the stride; or give the "
        "padding as numbers.",
    ),
    Rule(
        "CNN501", "bad-memory-size", "error", "`cnncalc fit --memory` is not a size cnncalc can read",
        what="Reports a memory budget that is not a positive number with an optional unit (B, KB, MB, GB, TB "
        "in powers of 1000; KiB, MiB, GiB, TiB in powers of 1024).",
        why="A budget read wrongly would answer a different question; guessing the unit could be off by 7 %.",
        example="cnncalc fit specs/vgg16.yaml --memory 24 gigs",
        fix="Write a number and a unit, e.g. `--memory 24GiB`; exits with status 2.",
    ),
    Rule(
        "CNN502", "unknown-gpu", "error", "`--gpu` names a GPU cnncalc has no entry for",
        what="Reports a `cnncalc analyze --gpu` or `cnncalc fit --gpu` name that is not in cnncalc's GPU table "
        "(cnncalc/cuda/gpus.py: t4, v100-16gb, v100-32gb, a10, l4, rtx3090, rtx4090, a100-40gb, a100-80gb, h100, "
        "h200).",
        why="The GPU sets the memory budget, the cuBLAS workspace and the CUDA context estimate; guessing a "
        "board from a misspelt name would answer for another GPU.",
        example="cnncalc fit specs/resnet50.yaml --gpu rtx5090",
        fix="Use one of the listed names, or give the budget with `--memory` and `--device cuda`; exits with "
        "status 2.",
    ),
    Rule(
        "CNN600", "verify-memory-refused", "error", "`cnncalc verify` would need more memory than it may use",
        what="Before allocating anything, `cnncalc verify` estimates the run's peak (weights, the largest "
        "layer's inputs and output, activations held for later layers, the im2col/padding workspace) and "
        "refuses when it exceeds `--max-memory` (default: half the available memory).",
        why="A run the machine cannot hold would be killed by the operating system after minutes of work, "
        "or push the machine into swap.",
        example="cnncalc verify specs/vgg16.yaml --batch 512",
        fix="Use a smaller --batch or input, or raise --max-memory if the machine has the memory.",
    ),
    Rule(
        "CNN601", "verify-bad-max-memory", "error", "`--max-memory` is not a readable size",
        what="Reports a `cnncalc verify --max-memory` value that is not a positive size.",
        why="The limit protects the machine; a misread limit would protect nothing.",
        example="cnncalc verify specs/vgg16.yaml --max-memory lots",
        fix="Write a size such as 4GiB, 512MiB or 2GB; exits with status 2.",
    ),
    Rule(
        "CNN602", "verify-needs-numpy", "error", "`cnncalc verify` needs numpy, which is not installed",
        what="Reports a `cnncalc verify` run in an environment without numpy.",
        why="The executor computes with numpy; `analyze` and `lint` deliberately do not need it.",
        example="cnncalc verify specs/lenet5.yaml   # numpy missing",
        fix='Install the extra: pip install "cnncalc[verify]"; exits with status 2.',
    ),
    Rule(
        "CNN603", "verify-not-executable", "error", "a layer kind has no numpy forward",
        what="Reports a layer whose kind `cnncalc verify` cannot execute yet.",
        why="Verification runs every layer; a kind without a forward cannot be checked.",
        example="cnncalc verify spec-with-a-new-kind.yaml",
        fix="Use `cnncalc analyze` for this spec; exits with status 2.",
    ),
    Rule(
        "CNN604", "verify-nothing-to-save", "error", "`verify --save-weights` after a run that stopped early",
        what="Reports `cnncalc verify --save-weights` when the run stopped at a layer whose output shape "
        "differed from the prediction, so there is no output to save with the weights.",
        why="A weights file is for reproducing the executor's outputs; a partial run has none.",
        example="cnncalc verify spec.yaml --save-weights w.npz   # a layer's shape is mispredicted",
        fix="Fix the mispredicted layer that verify reports; exits with status 2.",
    ),
    Rule(
        "CNN610", "export-no-torch-code", "error", "a layer cannot be written as PyTorch code",
        what="Reports a layer `cnncalc export --to pytorch` cannot write: its kind declares no PyTorch code, "
        "or this setting has no PyTorch equivalent (asymmetric cropping of a transposed convolution, "
        "dilated average pooling, a ceil-mode pool whose padding PyTorch cannot take, a matrix reading a "
        "flattened map through a merge).",
        why="An exported model that silently lacked a layer, or computed another one, would give other "
        "shapes, counts and values than the spec.",
        example="- pool: {mode: avg, kernel: 3, dilation: 2}",
        fix="Change the layer to one PyTorch has, or export a spec without it.",
    ),
    Rule(
        "CNN611", "export-onnx-needs", "error", "`export --to onnx` needs torch and a file to write",
        what="Reports `cnncalc export --to onnx` without `-o` (ONNX is a binary file), or in an environment "
        "without torch, whose exporter writes it.",
        why="The ONNX file is the exported PyTorch module run through torch.onnx.export; torch is never a "
        "dependency of the other commands.",
        example="cnncalc export specs/resnet18.yaml --to onnx",
        fix="Add `-o model.onnx`; install torch and onnx; exits with status 2.",
    ),
)
