"""A record's docstring, the stdlib's text of its signature (cnncalc.records.SignatureDoc imports this module
when a record's docstring is first read: a run of analyze reads none)."""

from __future__ import annotations

from types import GenericAlias

from cnncalc.record_methods import MISSING


def signature_doc(name: str, real: tuple, positional: tuple) -> str:
    """The stdlib's docstring: the class name and `inspect.signature(cls)` (`Name(a: 'int', b: 'str' = 'x')`)."""
    def parameter(f) -> str:
        text = f"{f.name}: {_annotation_text(f.type)}"
        if f.default_factory is not MISSING:
            return text + " = <factory>"
        return text if f.default is MISSING else f"{text} = {f.default!r}"

    keywords = [f for f in real if f.init and f.kw_only]
    try:
        shown = [parameter(f) for f in positional] + (["*", *map(parameter, keywords)] if keywords else [])
    except (TypeError, ValueError):
        return name
    return f"{name}({', '.join(shown)})"


def _annotation_text(annotation) -> str:
    """`inspect.formatannotation`: a string annotation as its repr, a class by its (module and) name."""
    if getattr(annotation, "__module__", None) == "typing":
        import re

        return re.sub(r"[\w\.]+", lambda match: match.group().removeprefix("typing."), repr(annotation))
    if isinstance(annotation, GenericAlias):
        return str(annotation)
    if isinstance(annotation, type):
        module = annotation.__module__
        return annotation.__qualname__ if module == "builtins" else f"{module}.{annotation.__qualname__}"
    return repr(annotation)
