"""Data flows one way: no module may import, directly or through others, a module that imports
it back. The graph is read from the source text (``ast``), so imports inside functions and
under ``if TYPE_CHECKING:`` count too: a circle hidden behind a late import is still a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sync2", "mappers", "catchment", "conflicts")


def _modules() -> dict[str, Path]:
    """Every module of the project's packages: dotted name -> file."""
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    drop = level - 1 if is_package else level
    base = base[: len(base) - drop] if drop else base
    return ".".join([*base, target] if target else base)


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``module`` imports anywhere in its text.

    ``from pkg import name`` points at ``pkg.name`` when that is a module, else at ``pkg``.
    Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, so those packages count
    too, except the ones ``module`` itself lives in (they are running already).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in known else base)
    own = set(_ancestors(module))
    found |= {a for m in found for a in _ancestors(m)} - own
    return {m for m in found if m in known and m != module}


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_walker_sees_late_and_type_checking_imports(tmp_path: Path) -> None:
    """The walker itself: a circle closed only by a function-level import and one closed
    only under TYPE_CHECKING are both found."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .a import x\n")
    (pkg / "c.py").write_text("from .d import y\n")
    (pkg / "d.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.c import z\n"
    )
    (pkg / "e.py").write_text("import pkg.sub.g\n")  # runs pkg/sub/__init__ first
    sub = pkg / "sub"
    sub.mkdir()
    (sub / "__init__.py").write_text("from ..e import w\n")
    (sub / "g.py").write_text("from . import h\n")  # its own package: no edge back
    (sub / "h.py").write_text("")
    files = {
        "pkg": pkg / "__init__.py",
        **{f"pkg.{n}": pkg / f"{n}.py" for n in "abcde"},
        "pkg.sub": sub / "__init__.py",
        "pkg.sub.g": sub / "g.py",
        "pkg.sub.h": sub / "h.py",
    }
    graph = {name: imports_of(name, path, set(files)) for name, path in files.items()}
    assert graph["pkg.sub.g"] == {"pkg.sub.h"}
    assert circles(graph) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d"], ["pkg.e", "pkg.sub"]]


#: Circles known and owned elsewhere, listed so they stay visible. This list must shrink, never
#: grow: the test below fails both on a new circle and on a listed one that is gone (then delete
#: its line).
KNOWN: list[list[str]] = []


def test_no_import_circles() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the walk found the project, not an empty folder
    found = circles(graph)
    new = [c for c in found if c not in KNOWN]
    assert new == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in new)
    gone = [c for c in KNOWN if c not in found]
    assert gone == [], f"no longer a circle, delete it from KNOWN: {gone}"
