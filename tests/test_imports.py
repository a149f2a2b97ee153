"""The package's import graph has no cycles, so data flows one way:
text -> spec -> graph -> shapes -> counts/memory -> report -> renderers.

Every module of cnncalc is read with `ast` (nothing is imported), and every import counts: at the
top level, inside functions (the lazy imports that keep `analyze` fast), `from x import y` where y
is a submodule, and relative imports. Only `if TYPE_CHECKING:` blocks are left out: they never run.
Importing `a.b.c` also runs the package `a.b` (its `__init__`), so that is an edge too, unless the
importer is itself inside `a.b`.

Two tests pin the front end's direction beyond "no cycles": the pattern package's modules import
in the order its __init__ documents, and the stages from YAML to the graph never reach the DSL,
the pipeline, the commands or the outputs. The last test states the size goal of issue #13.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "cnncalc"
#: The size a module should stay under (issue #13).
MAX_LINES = 500


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Module name -> file, for every module of the package (a package's name is its __init__)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except the bodies of `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imports_of(module: str, source: str, known: set[str], is_package: bool = False) -> dict[str, int]:
    """The known modules `module` imports (source text `source`) -> the first line that does."""
    here = module if is_package else module.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(target: str, line: int, explicit: bool = True) -> None:
        if target not in known or target == module:
            return
        if not explicit and (target in _ancestors(module) or target == here):
            return  # a submodule needs no edge to its own package
        found[target] = min(line, found.get(target, line))
        for parent in _ancestors(target):
            add(parent, line, explicit=False)

    for node in _import_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
            continue
        base = node.module or ""
        if node.level:
            anchor = here.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            add(submodule if submodule in known else base, node.lineno)
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, dict[str, int]]:
    files = module_files(root, package)
    known = set(files)
    return {
        name: imports_of(name, path.read_text(encoding="utf-8"), known, path.name == "__init__.py")
        for name, path in files.items()
    }


def components(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): each is a knot of cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One shortest cycle through the first module of each component."""
    return [_cycle_in(graph, set(component), component[0]) for component in components(graph)]


def _cycle_in(graph: dict[str, dict[str, int]], members: set[str], start: str) -> list[str]:
    """The shortest path from `start` back to itself inside one component (breadth first)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node]):
            if target == start:
                return paths[node] + [start]
            if target in members and target not in paths:
                paths[target] = paths[node] + [target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")


def describe(graph: dict[str, dict[str, int]], component: list[str]) -> str:
    """A component's members, one cycle through them, and every import among them (file:line)."""
    files = module_files()
    members = set(component)

    def edge(importer: str, target: str) -> str:
        return f"    {importer} -> {target}  ({files[importer].relative_to(ROOT)}:{graph[importer][target]})"

    lines = [f"  {' -> '.join(_cycle_in(graph, members, component[0]))}", "  imports among "
             + ", ".join(component) + ":"]
    lines += [edge(m, t) for m in component for t in sorted(graph[m]) if t in members]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the walker itself


KNOWN = {"pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c", "pkg.sub.d", "pkg.typed"}


def test_every_kind_of_import_is_an_edge():
    source = """
import os
import pkg.a
from pkg.sub import c, NAME
from . import b as again

def later():
    from .sub.d import thing

if TYPE_CHECKING:
    from pkg import typed
else:
    import pkg.b
"""
    found = imports_of("pkg.x", source, KNOWN | {"pkg.x"})
    # `from pkg.sub import NAME` imports the package pkg.sub; d is imported lazily and relatively
    assert found == {"pkg.a": 3, "pkg.sub": 4, "pkg.sub.c": 4, "pkg.b": 5, "pkg.sub.d": 8}


def test_a_submodule_of_another_package_runs_that_package():
    # pkg.a -> pkg.sub.c also runs pkg/sub/__init__.py; pkg.sub.c -> pkg.sub.d does not need it
    assert set(imports_of("pkg.a", "import pkg.sub.c", KNOWN)) == {"pkg.sub", "pkg.sub.c"}
    assert set(imports_of("pkg.sub.c", "from pkg.sub import d", KNOWN)) == {"pkg.sub.d"}
    assert set(imports_of("pkg.sub.c", "from .. import a", KNOWN)) == {"pkg.a"}
    assert set(imports_of("pkg.sub", "from . import c", KNOWN, is_package=True)) == {"pkg.sub.c"}


def test_cycles_are_found_and_named():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3, "d": 4}, "d": {}, "e": {"d": 1}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def test_the_walker_sees_the_real_package():
    graph = import_graph()
    assert len(graph) > 40
    assert "cnncalc.spec" in graph["cnncalc.pipeline"]
    # function-level imports count: the pipeline reaches the pattern DSL only inside its functions, and the
    # CLI each command's module only inside the function that builds it (issue #13: one module per command)
    assert "cnncalc.pattern" in graph["cnncalc.pipeline"]
    assert "cnncalc.commands.analyze" in graph["cnncalc.cli"]


# ---------------------------------------------------------------------------------------------
# the package


def test_the_package_has_no_import_cycles():
    graph = import_graph()
    found = components(graph)
    report = "\n\n".join(describe(graph, component) for component in found)
    assert not found, f"import cycles in {PACKAGE}, {len(found)} knot(s):\n{report}"


#: The pattern package's modules in the order of cnncalc/pattern/__init__.py: each imports only earlier ones.
PATTERN_ORDER = ("vocabulary", "positions", "tree", "syntax", "bindings", "expansion", "source")
#: The stages from YAML to the layer graph, and what drives them (the DSL, the pipeline, the commands and
#: the outputs): nothing the first reach, directly or not, is one of the second.
BELOW = ("cnncalc.yamlsource", "cnncalc.spec", "cnncalc.blocks", "cnncalc.graph", "cnncalc.window", "cnncalc.layers")
ABOVE = ("cnncalc.pattern", "cnncalc.pipeline", "cnncalc.cli", "cnncalc.commands", "cnncalc.sweep", "cnncalc.fitting",
         "cnncalc.report", "cnncalc.render", "cnncalc.lint", "cnncalc.exporters")


def _reachable(graph: dict[str, dict[str, int]], start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for target in graph[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_pattern_modules_import_in_one_direction():
    graph = import_graph()
    assert {m for m in graph if m.startswith("cnncalc.pattern.")} == {f"cnncalc.pattern.{m}" for m in PATTERN_ORDER}
    for position, name in enumerate(PATTERN_ORDER):
        later = {f"cnncalc.pattern.{m}" for m in PATTERN_ORDER[position:]}
        assert not later & set(graph[f"cnncalc.pattern.{name}"]), name


def test_the_stages_below_the_pattern_dsl_never_reach_up():
    graph = import_graph()
    for module in (m for m in graph if _within(m, BELOW)):
        upstream = sorted(m for m in _reachable(graph, module) if _within(m, ABOVE))
        assert upstream == [], f"{module} reaches {upstream}"


def over_limit() -> list[str]:
    result = []
    for path in module_files().values():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            result.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    return result


def test_no_module_is_over_500_lines():
    assert over_limit() == []
