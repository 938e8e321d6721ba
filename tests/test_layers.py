"""The package layers (README, Architecture): imports only go down.

Every top-level module or package of ``scipipe_tools`` sits on one layer.  A module may
import from its own package and from packages on lower layers; never from a higher
layer, and never sideways from another domain package (what two domain packages share
lives below them).  There are no import loops between packages, and no project import
is hidden inside a function (only heavy third-party modules are deferred, each marked).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "scipipe_tools"

LAYERS: list[tuple[str, set[str]]] = [
    ("kernel", {"__init__", "errors", "redaction", "text"}),
    ("model", {"yamlfile", "yamlemit", "eups", "names"}),
    ("infrastructure", {"infra", "stack", "forge", "eupspkg"}),
    ("domain", {"env", "sourcebuild", "distrib", "release", "changelog"}),
    ("pipelines", {"flows", "installer", "ci", "demo", "image"}),
    ("cli", {"cli", "__main__"}),
]
LAYER_OF = {unit: i for i, (_, units) in enumerate(LAYERS) for unit in units}
DOMAIN = LAYERS[3][1]


def unit_of(parts: list[str]) -> str:
    """The top-level module or package; a name imported from the package root is its own."""
    if not parts or not ((SRC / parts[0]).is_dir() or (SRC / f"{parts[0]}.py").exists()):
        return "__init__"
    return parts[0]


def module_parts(path: Path) -> list[str]:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def project_imports(path: Path) -> list[tuple[int, list[str], bool]]:
    """(line, imported module as parts under scipipe_tools, inside a function?)."""
    tree = ast.parse(path.read_text(), str(path))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(n) for n in ast.walk(node) if isinstance(n, ast.ImportFrom))
            in_function.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Import))
    here = module_parts(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        targets: list[list[str]] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = base + (node.module.split(".") if node.module else [])
                targets = [[*mod, a.name] if not node.module else mod for a in node.names]
            elif node.module and node.module.split(".")[0] == "scipipe_tools":
                targets = [node.module.split(".")[1:]]
        elif isinstance(node, ast.Import):
            targets = [
                a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "scipipe_tools"
            ]
        for t in targets:
            found.append((node.lineno, t, id(node) in in_function))
    return found


def edges() -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        src = unit_of(module_parts(path))
        for line, target, _ in project_imports(path):
            dst = unit_of(target)
            if dst != src:
                out[(src, dst)].append(f"{path.relative_to(SRC)}:{line}")
    return out


def test_every_package_has_a_layer() -> None:
    units = {unit_of(module_parts(p)) for p in SRC.rglob("*.py")}
    assert units - set(LAYER_OF) == set()


def test_imports_only_go_down() -> None:
    bad = []
    for (src, dst), places in sorted(edges().items()):
        if LAYER_OF[dst] > LAYER_OF[src]:
            bad.append(f"{src} -> {dst} goes up: {', '.join(places)}")
        elif src in DOMAIN and dst in DOMAIN:
            bad.append(f"{src} -> {dst} sideways between domain packages: {', '.join(places)}")
    assert bad == []


def test_no_loops_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst in edges():
        graph[src].add(dst)
    loops = []
    for start in list(graph):
        seen, stack = set(), [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, set()):
                if nxt == start:
                    loops.append(" -> ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert loops == []


def test_no_project_import_inside_a_function() -> None:
    """``cli/`` registers its command modules lazily by name, not by import statement."""
    hidden = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        for line, _, inside in project_imports(path)
        if inside
    ]
    assert hidden == []


def test_an_import_inside_a_function_is_a_marked_heavy_one() -> None:
    """Only a heavy third-party module (rattler, PyGithub, jinja2, conda_lock, rich on a
    terminal) is imported where it is used, and the line says so: ``# deferred: heavy``."""
    unmarked = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text()
        lines = text.splitlines()
        for fn in ast.walk(ast.parse(text)):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    seg = " ".join(lines[node.lineno - 1 : node.end_lineno])
                    if "# deferred: heavy" not in seg:
                        unmarked.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert unmarked == []


@pytest.mark.parametrize("shipped", ["githubserver", "gitdaemon", "httpserver", "releaseworld"])
def test_test_fakes_are_not_in_the_package(shipped: str) -> None:
    assert list(SRC.rglob(f"{shipped}.py")) == []
