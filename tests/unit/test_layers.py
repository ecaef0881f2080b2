"""The package's layers: imports point one way, and the numpy core touches no Ray, click, pyarrow or files.

Read from the source (every ``import`` and ``from ... import``, at module level or inside functions), so a
lazy import counts as an edge too; and checked once in a fresh interpreter, where it matters at run time.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import cluster

PACKAGE = Path(cluster.__file__).resolve().parent
#: What the core may not import: the orchestration and I/O layers' libraries, and the file system.
CORE_BANNED = {"ray", "click", "pyarrow", "os", "pathlib", "io", "shutil", "tempfile", "glob", "subprocess", "pickle"}


def _module_name(path: Path) -> str:
    parts = ["cluster", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from cluster import runs`
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports (a package's ``__init__`` stands for the package)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        edges = {m for m in _imports(path) if m in MODULES and m != name}
        # A submodule's import of its own package's __init__ is Python's doing, not a layer edge.
        graph[name] = {m for m in edges if not name.startswith(f"{m}.")}
    return graph


def test_the_package_import_graph_has_no_cycle() -> None:
    graph = _graph()
    assert len(graph) > 20
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as err:
        pytest.fail(f"import cycle: {' -> '.join(err.args[1])}")
    assert order.index("cluster.core") < order.index("cluster.plan") < order.index("cluster.runs")


def test_the_cycle_check_catches_a_cycle() -> None:
    """The check above can fail: a graph with a back edge is refused."""
    graph = {**_graph(), "cluster.core.shocks": _graph()["cluster.core.shocks"] | {"cluster.plan"}}
    with pytest.raises(CycleError):
        list(TopologicalSorter(graph).static_order())


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n == "cluster.core" or n.startswith("cluster.core.")))
def test_the_core_imports_no_ray_click_pyarrow_or_file_system(name: str) -> None:
    imported = _imports(MODULES[name])
    banned = sorted(m for m in imported if m.split(".")[0] in CORE_BANNED)
    assert not banned, f"{name} imports {banned}"
    outside = sorted(
        m
        for m in imported
        if m.startswith("cluster.")
        and not m.startswith("cluster.core")
        and m not in ("cluster.errors", "cluster.errors.ShapeError")
    )
    assert not outside, f"{name} imports {outside}: the core depends only on numpy and cluster.errors"
    source = MODULES[name].read_text()
    assert "open(" not in source, f"{name} opens a file"


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("cluster.core", ("ray", "click", "pyarrow")),
        ("cluster.runner", ("ray", "click")),
        ("cluster.loaders", ("pymrio", "pandas")),
    ],
)
def test_fresh_interpreter_imports(module: str, absent: tuple[str, ...]) -> None:
    """Importing a layer in a fresh interpreter pulls in none of the libraries of the layers above it."""
    code = f"import sys, {module}; print(sorted(m for m in {absent!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_cli_imports_click_and_only_runner_imports_ray() -> None:
    for name, path in MODULES.items():
        roots = {m.split(".")[0] for m in _imports(path)}
        if "click" in roots:
            assert name == "cluster.cli", f"{name} imports click"
        if "ray" in roots:
            assert name == "cluster.runner", f"{name} imports ray"
