"""The import rules: one-way apps, no cycle between files, an inference package that knows no Django.

The graph is read from the source (every import, including those inside functions), so a lazy import that
closes a cycle or climbs a layer counts like any other.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

APPS = ("api", "evaluation", "generation", "catalog", "sdstudio")
# Each app may import only the apps below it: api -> evaluation -> generation -> catalog -> sdstudio.
LAYER = {"sdstudio": 0, "catalog": 1, "generation": 2, "evaluation": 3, "api": 4}
# The project's composition root lives in the sdstudio package too and sits above every app: the URL map, the
# home page, public media, the menu's context, settings and the demo commands see everything.
COMPOSITION_ROOT = ("sdstudio.urls", "sdstudio.views", "sdstudio.media", "sdstudio.context_processors", "sdstudio.settings",
                    "sdstudio.settings_test", "sdstudio.wsgi", "sdstudio.asgi", "sdstudio.management")


def module_files(root: Path, packages) -> dict[str, Path]:
    files = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


def import_graph(root: Path, packages=APPS) -> dict[str, set[str]]:
    """module -> the project modules it imports (anywhere in its body)."""
    files = module_files(root, packages)

    def resolve(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(resolve(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in files else resolve(base))
        graph[name] = {t for t in targets if t and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
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
    return found


def layer(module: str) -> int:
    if module.startswith(COMPOSITION_ROOT):
        return len(LAYER)
    return LAYER[module.split(".")[0]]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{source} -> {target}" for source, targets in graph.items() for target in targets
                  if source.split(".")[0] != target.split(".")[0] and layer(target) > layer(source))


def test_no_app_imports_an_app_above_it():
    assert upward_imports(import_graph(ROOT)) == []


def test_no_import_cycle_between_files():
    assert cycles(import_graph(ROOT)) == []


def test_the_rules_see_a_lazy_cycle_and_a_lazy_climb(tmp_path):
    # a tree where catalog imports generation inside a function, and generation imports it back at the top
    for package in ("catalog", "generation"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "catalog" / "shop.py").write_text("def feed():\n    from generation.models import Job\n    return Job\n")
    (tmp_path / "generation" / "models.py").write_text("from catalog import shop\nJob = object\n")
    (tmp_path / "generation" / "views.py").write_text("from .models import Job\n")
    graph = import_graph(tmp_path, ("catalog", "generation"))
    assert graph["generation.views"] == {"generation.models"}  # a relative import resolves
    assert cycles(graph) == [["catalog.shop", "generation.models"]]
    assert upward_imports(graph) == ["catalog.shop -> generation.models"]


def test_nothing_under_inference_imports_django():
    """Every module of generation.inference (and the modes it runs), imported in a fresh interpreter with no
    settings: the whole import graph, not just each file's own lines, leaves Django unloaded."""
    modules = sorted(name for name in module_files(ROOT, ("generation",)) if name.startswith(("generation.inference", "generation.modes")))
    assert "generation.inference.runner" in modules and "generation.modes.scene" in modules
    code = ("import sys\n" + "".join(f"import {name}\n" for name in modules)
            + "print(sorted({m.split('.')[0] for m in sys.modules if m == 'django' or m.startswith('django.')}))")
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
