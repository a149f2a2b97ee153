"""Importers: models in other formats (ONNX, a PyTorch module) read into cnncalc specs.

They stand at the front of the pipeline: what they produce is spec text that `analyze` reads
unchanged. Nothing downstream imports them. `onnx` (and `torch` for `--torch`) are optional extras,
imported only inside these modules' functions:

* `reader` reads an ONNX graph into cnncalc layers (`Layer`), one per mapped node, with the shapes
  the graph itself states (`sizes` evaluates the sizes it computes from its shapes);
* `structure` recovers the spec's constructs (residual, concat, add) from the layer graph;
* `blocks` turns repeated constructs into parameterised `blocks:` and consecutive copies into `repeat:`;
* `writer` writes the spec's YAML; `check` analyses it and compares every shape with the graph's;
* `onnx_import` ties them together; `torch_source` exports a PyTorch module to ONNX in memory first.
"""
