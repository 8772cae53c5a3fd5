"""T10ir's layers import downward only (issue 17, item 5), read off the source with
`ast`: every import counts, at module level, inside a function or under
`if TYPE_CHECKING:`.

(a) A floor (a package of `t10ir`, or one of its top-level modules) imports only the
    floors `ALLOWED` lists for it, and the plain-Python floors import nothing of xDSL
    but its affine maps.
(b) No import cycle among T10ir's modules.
(c) Nothing outside `t10ir.tools` imports `t10ir.tools`.

`from package import name` reads the package (its `__init__` runs first and must not
need the importer) and also the submodule `package.name` when there is one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import t10ir

ROOT = Path(t10ir.__file__).resolve().parent

_NEUTRAL = {"t10ir", "errors", "memo"}
"""Imported by every floor: the root package, the error classes and the memo caches,
which import nothing of T10ir."""
_PLANNING = _NEUTRAL | {"planning", "cost", "target"}
"""The plain-Python floor: domains, plans, layouts, schedules, the plan search and the
selection (`planning`), the cost model (`cost`) and the machines (`target`). They
import each other (the search costs plans, the cost model reads plans and machines, a
machine places plans' grids); (b) keeps their modules acyclic."""
_IR = _PLANNING | {"expr", "dialects"}
_LIBRARY = _IR | {"lowering", "passes", "interp", "module_io"}
_REGISTRATION = {"context", "universe"}

ALLOWED: dict[str, set[str]] = {
    "t10ir": set(),
    "errors": set(),
    "memo": set(),
    "planning": _PLANNING,
    "cost": _PLANNING,
    "target": _PLANNING,
    "expr": _NEUTRAL | {"planning"},
    "dialects": _IR,
    "lowering": _IR,
    "passes": _IR | {"lowering"},
    "interp": _IR | {"lowering"},
    "module_io": _IR,
    "universe": _NEUTRAL | {"dialects", "passes"},
    "context": set(),
    "frontend": _LIBRARY | _REGISTRATION,
    "models": _LIBRARY | _REGISTRATION,
    "bench": _LIBRARY | _REGISTRATION | {"frontend", "models"},
    "testing": _LIBRARY | _REGISTRATION,
    "tools": _LIBRARY | _REGISTRATION | {"frontend", "models", "bench"},
}
"""Per floor, the other floors it may import. Passes, the interpreters and the reading
of modules (`module_io`: parse, locate, verify) are siblings: none imports another. No
floor of the library imports `testing` (oracles for the tests) or `tools` (the drivers,
which only print errors)."""

PLAIN_PYTHON = {"planning", "cost", "target", "expr"}
XDSL_IN_PLAIN_PYTHON = ("xdsl.ir.affine",)
"""What of xDSL the plain-Python floors may import: affine maps are plain data."""


def _modules() -> dict[str, Path]:
    """Every module of T10ir by dotted name (a package by its `__init__.py`)."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _read(module: str, is_package: bool, source: str) -> Iterator[tuple[str, bool]]:
    """The dotted names `module` imports; True for a name that is a module only if it
    names one (`from package import name`)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, False
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level:
                base = package.split(".")[: package.count(".") + 2 - node.level]
                name = ".".join([*base, *([name] if name else [])])
            yield name, False
            for alias in node.names:
                yield f"{name}.{alias.name}", True


def _owner(name: str) -> str | None:
    """The T10ir module that defines `name` (the longest prefix that is a module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """T10ir's imports of T10ir modules, and its imports of anything else, as
    (importer, imported) pairs."""
    internal, external = set(), set()
    for module, path in MODULES.items():
        source = path.read_text()
        for name, only_if_module in _read(module, path.name == "__init__.py", source):
            if only_if_module:
                if name in MODULES:
                    internal.add((module, name))
            elif name == "t10ir" or name.startswith("t10ir."):
                owner = _owner(name)
                if owner is not None and owner != module:
                    internal.add((module, owner))
            else:
                external.add((module, name))
    return internal, external


INTERNAL, EXTERNAL = _imports()


def _floor(module: str) -> str:
    """`planning` for `t10ir.planning.search`, `errors` for `t10ir.errors`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_every_floor_has_its_place_in_the_table() -> None:
    floors = {_floor(m) for m in MODULES}
    assert floors <= set(ALLOWED), f"add to ALLOWED: {sorted(floors - set(ALLOWED))}"


def test_floors_import_downward_only() -> None:
    upward = sorted(
        f"{importer} imports {imported}"
        for importer, imported in INTERNAL
        if _floor(imported) != _floor(importer)
        and _floor(imported) not in ALLOWED.get(_floor(importer), set())
    )
    assert not upward, "\n".join(upward)


def test_plain_python_floors_import_no_ir() -> None:
    found = sorted(
        f"{importer} imports {name}"
        for importer, name in EXTERNAL
        if _floor(importer) in PLAIN_PYTHON
        and (name == "xdsl" or name.startswith("xdsl."))
        and not any(
            name == allowed or name.startswith(f"{allowed}.")
            for allowed in XDSL_IN_PLAIN_PYTHON
        )
    )
    assert not found, "\n".join(found)


def test_only_tools_import_tools() -> None:
    found = sorted(
        f"{importer} imports {imported}"
        for importer, imported in INTERNAL
        if _floor(imported) == "tools" and _floor(importer) != "tools"
    )
    assert not found, "\n".join(found)


def _cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, list[str]] = {}
    for importer, imported in sorted(edges):
        graph.setdefault(importer, []).append(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in graph.get(node, []):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    cycles = _cycles(INTERNAL)
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_see_every_kind_of_import() -> None:
    """Function-level, relative and TYPE_CHECKING imports count; so does reading a
    package for one of its names; a cycle is found through three modules."""
    source = """
from typing import TYPE_CHECKING
from . import sibling
from ..up import name
if TYPE_CHECKING:
    from t10ir.hidden import Type
def f():
    import t10ir.late.module
"""
    assert sorted(_read("t10ir.pkg.mod", False, source)) == [
        ("t10ir.hidden", False),
        ("t10ir.hidden.Type", True),
        ("t10ir.late.module", False),
        ("t10ir.pkg", False),
        ("t10ir.pkg.sibling", True),
        ("t10ir.up", False),
        ("t10ir.up.name", True),
        ("typing", False),
        ("typing.TYPE_CHECKING", True),
    ]
    assert _cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [
        ["a", "b", "c"]
    ]
