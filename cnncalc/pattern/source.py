"""A pattern with everything it needs: from the command line (`from_text`) or a YAML spec (`from_yaml`).

`PatternSource` holds the parsed pattern, where it came from, its input size, the settings of
each layer word (built-in, `defaults:`, per-word keys, `--set`; later ones win) and its bindings;
`spec()` expands it for one set of values, `variants()` lists a sweep's. This is the front door
the CLI and `sweep` use; it puts the syntax, the bindings and the expansion together.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from cnncalc.records import dataclass
from typing import Any

from cnncalc.errors import Location, SpecError
from cnncalc.pattern.bindings import Binding, parse_defines, variable_names, yaml_bindings
from cnncalc.pattern.expansion import Expander, LayerArgs
from cnncalc.pattern.positions import Locator, width
from cnncalc.pattern.syntax import parse, parse_layer_token
from cnncalc.pattern.tree import Chain, Layer, Repeat, Word, leaves, walk
from cnncalc.pattern.vocabulary import BUILTIN_DEFAULTS, CORE_WORDS, LAYER_WORDS, is_variable_word
from cnncalc.shapes import Shape
from cnncalc.inputs import parse_input
from cnncalc.spec import PATTERN_KEYS, Spec, parse_convention, parse_defaults
from cnncalc.yamlsource import YNode


@dataclass(frozen=True, slots=True)
class PatternSource:
    """A parsed pattern and everything needed to turn it into a `Spec` for given bindings."""

    text: str
    ast: Chain
    locator: Locator
    name: str
    path: str
    #: the input size given outside the pattern (--input or YAML `input:`), if any
    input: Shape | None
    input_loc: Location
    #: kind name -> settings (built-in, YAML `defaults:`, per-token keys, --set; later ones win)
    defaults: dict[str, dict[str, Any]]
    bindings: dict[str, Binding]
    #: the spec's own `convention:` (YAML only)
    convention: str | None = None

    def with_bindings(self, bindings: Mapping[str, Binding]) -> PatternSource:
        """These bindings over the source's own (`-D` overrides `vars:`); names the pattern does not use
        are refused, with the nearest used name."""
        names = variable_names(self.ast)
        for binding in bindings.values():
            if binding.name not in names:
                same_case = [n for n in names if n.lower() == binding.name.lower()]
                close = same_case or difflib.get_close_matches(binding.name, list(names), n=1, cutoff=0.5)
                used = ", ".join(sorted(names)) or "none"
                raise binding.error(f"the pattern has no variable or switch '{binding.name}'",
                                    hint=(f"did you mean {close[0]}? " if close else "") + f"its names: {used}")
        merged = dict(self.bindings)
        merged.update(bindings)
        return _replace(self, bindings=merged)

    def with_settings(self, settings: list[str] | tuple[str, ...]) -> PatternSource:
        """`--set 'CONV(f=32)'` over every other default."""
        return _replace(self, defaults=_merge(self.defaults, token_defaults(list(settings))))

    def check_bound(self) -> None:
        """Refuse a repeat count or setting variable that no binding gives (before a sweep starts)."""
        for node in walk(self.ast):
            if isinstance(node, Repeat) and isinstance(node.times, str) and node.times not in self.bindings:
                Expander(self, {}).times(node)
            if isinstance(node, Layer):
                for arg in node.args or ():
                    for value in leaves(arg.value):
                        if isinstance(value, Word) and is_variable_word(value.name) and value.name not in self.bindings:
                            LayerArgs(self.locator.at, {}).ynode(value, self.locator.at(*width(arg.value_span)))

    def variants(self) -> list[dict[str, int]]:
        """Every combination of the bound values, in binding order (the last name varies fastest)."""
        combos: list[dict[str, int]] = [{}]
        for binding in self.bindings.values():
            combos = [{**c, binding.name: v} for c in combos for v in binding.values]
        return combos

    def spec(self, values: Mapping[str, int] | None = None) -> Spec:
        """The spec for single values of every binding (or the given ones, for one sweep variant)."""
        if values is None:
            values = {}
            for binding in self.bindings.values():
                if len(binding.values) != 1:
                    raise binding.error(f"{binding.name} has {len(binding.values)} values here",
                                        hint="give one value, or use `cnncalc sweep` to try each")
                values[binding.name] = binding.values[0]
        return Expander(self, values).spec()


def _replace(source: PatternSource, **changes: Any) -> PatternSource:
    from cnncalc.records import replace

    return replace(source, **changes)


# ---------------------------------------------------------------------------------------------
# sources: a command line or a YAML spec


def _settings_node(layer: Layer, locator: Locator) -> YNode:
    """--set 'CONV(f=32, k=3)' as the YAML mapping {filters: 32, kernel: 3}."""
    return LayerArgs(locator.at, {}).mapping(layer, locator.at(0)) or YNode({}, locator.at(0))


def token_defaults(settings: list[str]) -> dict[str, dict[str, Any]]:
    """Per-token defaults from `--set` options."""
    result: dict[str, dict[str, Any]] = {}
    for index, text in enumerate(settings, start=1):
        locator = Locator.for_text(f"--set #{index}", text)
        layer = parse_layer_token(text, locator)
        node = YNode({layer.word: _settings_node(layer, locator)}, locator.at(0),
                     key_locs={layer.word: locator.at(0, len(layer.word))})
        for kind, values in parse_defaults(node).items():
            result.setdefault(kind, {}).update(values)
    return result


def _merge(*layers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for kind, values in layer.items():
            result.setdefault(kind, {}).update(values)
    return result


def _compact(text: str) -> str:
    return " ".join(text.split())


def from_text(
    text: str,
    *,
    input: str | None = None,
    settings: list[str] | tuple[str, ...] = (),
    defines: list[str] | tuple[str, ...] = (),
    path: str = "<pattern>",
    name: str | None = None,
) -> PatternSource:
    """A pattern from the command line: `--pattern`, `--input`, `--set`, `-D`."""
    locator = Locator.for_text(path, text)
    ast = parse(text, locator)
    shape, input_loc = None, Location(path, 1, 1)
    if input is not None:
        input_loc = Location("--input", 1, 1, 1, 1 + len(input))
        shape = parse_input(YNode(input, input_loc, input))
    source = PatternSource(text, ast, locator, name or _compact(text), path, shape, input_loc,
                           dict(BUILTIN_DEFAULTS), {})
    return source.with_settings(settings).with_bindings(parse_defines(defines))


def from_yaml(root: YNode, path: str, source: str | None = None) -> PatternSource:
    """A YAML spec with `pattern:` (and `vars:`, per-token defaults such as `CONV: {filters: 32}`)."""
    fields = root.value
    if "layers" in fields:
        raise SpecError("the spec gives both `layers:` and `pattern:`", root.key_locs["layers"],
                        hint="keep one: `pattern:` expands into the layers", code="CNN122")
    token_keys = {}
    for key in fields:
        if key in PATTERN_KEYS:
            continue
        if key.upper() in LAYER_WORDS:
            token_keys[key] = fields[key]
            continue
        words = list(PATTERN_KEYS) + list(CORE_WORDS[1:])
        close = difflib.get_close_matches(key, words, n=1, cutoff=0.6) or difflib.get_close_matches(
            key.upper(), words, n=1, cutoff=0.6)
        raise SpecError(f"unknown key '{key}' in a pattern spec", root.key_locs[key],
                        hint=(f"did you mean '{close[0]}'? " if close else "") + "allowed: "
                        + ", ".join(PATTERN_KEYS) + ", and layer words with their default settings (CONV: {...})",
                        code="CNN102")
    node = fields["pattern"]
    if not node.is_scalar or not isinstance(node.value, str) or not node.text.strip():
        raise SpecError("`pattern:` must be the pattern text", node.loc,
                        hint='write pattern: "INPUT -> [CONV3-32 -> RELU]*2 -> POOL2 -> FC-10"', code="CNN122")
    locator = Locator.for_scalar(node, source)
    ast = parse(node.text, locator)
    for key, value in token_keys.items():
        if not value.is_mapping:
            raise SpecError(f"the defaults for {key} must be a mapping of settings", value.loc,
                            hint=f"write {key}: {{filters: 32, kernel: 3}}", code="CNN122")
    per_token = parse_defaults(YNode(token_keys, root.loc, key_locs={k: root.key_locs[k] for k in token_keys}))
    shape, input_loc = None, root.loc
    if "input" in fields:
        shape, input_loc = parse_input(fields["input"]), fields["input"].loc
    name_node = fields.get("name")
    name = name_node.text if name_node is not None and name_node.text else path
    defaults = _merge(BUILTIN_DEFAULTS, parse_defaults(fields.get("defaults")), per_token)
    convention = parse_convention(fields["convention"]) if "convention" in fields else None
    empty = PatternSource(node.text, ast, locator, name, path, shape, input_loc, defaults, {}, convention)
    return empty.with_bindings(yaml_bindings(fields.get("vars")))


def spec_from_yaml(root: YNode, path: str, source: str | None = None) -> Spec:
    """The spec a YAML spec with `pattern:` describes (`pipeline.parse` calls this)."""
    return from_yaml(root, path, source).spec()
