"""The outputs of an exported network with side outputs (`output:` in a spec, e.g. Inception-v3's
AuxLogits): what its forward returns in each mode, as torchvision returns its auxiliary heads."""

from __future__ import annotations

from cnncalc.records import dataclass

from cnncalc.analysis import Analysis
from cnncalc.exporters.naming import Names, identifier

INDENT = "    "


@dataclass
class Outputs:
    """The network's outputs when it has side outputs: the namedtuple class `every` (the main output,
    then every side output in the graph's order) that forward returns in training mode, and in eval
    mode the main output alone or, where some side outputs are not training-only, `inference` with
    the main output and those (torchvision's Inception3/GoogLeNet return their aux heads the same way)."""

    every: str
    inference: str | None
    #: per output: (its name in the graph, its field, training-only)
    fields: list[tuple[str, str, bool]]

    @classmethod
    def of(cls, analysis: Analysis, class_names: Names) -> Outputs | None:
        graph = analysis.graph
        if not graph.side_outputs:
            return None
        names = Names()
        fields = [(o.name, names.claim(field_of(o.name)), o.training_only) for o in graph.outputs]
        training_only = {o.training_only for o in graph.side_outputs}
        mixed = training_only == {True, False}
        return cls(class_names.claim("Outputs"), class_names.claim("InferenceOutputs") if mixed else None, fields)

    def definition(self) -> str:
        every = ", ".join(repr(f) for _, f, _ in self.fields)
        text = ("#: forward's result in training mode: the main output, then every side output (`output:`)\n"
                f"{self.every} = namedtuple({self.every!r}, [{every}])\n")
        if self.inference is not None:
            kept = ", ".join(repr(f) for _, f, training_only in self.fields if not training_only)
            text += ("#: in eval mode: the main output and the side outputs that are not training-only\n"
                     f"{self.inference} = namedtuple({self.inference!r}, [{kept}])\n")
        return text

    def returns(self, variables: dict[str, str]) -> list[str]:
        """The end of forward: `variables` holds each output's variable by its graph name."""
        every = ", ".join(variables[name] for name, _, _ in self.fields)
        main = variables[self.fields[0][0]]
        kept = [variables[name] for name, _, training_only in self.fields if not training_only]
        if len(kept) == len(self.fields):  # no head is training-only: every mode returns them all
            return [f"return {self.every}({every})"]
        eval_result = main if self.inference is None else f"{self.inference}({', '.join(kept)})"
        return ["if not self.training:", f"{INDENT}return {eval_result}", f"return {self.every}({every})"]


def field_of(name: str) -> str:
    """A namedtuple field from an output's name (a field cannot start with an underscore)."""
    field_name = identifier(name)
    return f"output{field_name}" if field_name.startswith("_") else field_name
