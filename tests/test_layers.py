"""The package's import structure (issue 12, part 9): no import cycle anywhere —
counting imports under ``TYPE_CHECKING`` and inside functions — and the layers in
this order, lowest first:

1. ``domain`` (the broker port's types, ``domain.wire``, among it);
2. ``sim``, the store port (``store``), ``algos``;
3. ``risk``, ``resilience``, ``obs``, ``bus``, the broker adapters (``brokers``);
4. ``engine``;
5. ``backtest``, ``service``, ``cli``, ``bootstrap`` and the rest.

A module may import its own layer or a lower one, never a higher one. A module's layer
is the place it sits in the tree: a command-line group (``engine/reconcile_cli.py``,
``risk/cli.py`` …) or an adapter's HTTP routes sit with the part they speak for, so they
are handed what they need from above (the engine and store openers, the service's
auth) by the entry point that composes them (``cli.py``, ``service/app.py``).

And no two top-level parts of the package (its folders and modules) import each other,
even through others: a file-by-file graph without a cycle can still tie two folders
into one, and a folder drawn above another must not be reached back from it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ordergate"

#: the layer of each top-level part of the package (a module not named: the top layer)
LAYERS: dict[str, int] = {
    "domain": 1,
    "clock": 1,
    "heap": 1,
    "algos": 2,
    "sim": 2,
    "store": 2,
    "config": 2,
    "cli_kit": 2,
    "risk": 3,
    "resilience": 3,
    "obs": 3,
    "bus": 3,
    "views": 3,
    "brokers": 3,
    "exchange": 3,
    "testing": 3,
    "engine": 4,
}
TOP = 5


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, name: str, known: set[str]) -> Iterator[str]:
    """Every ordergate module ``path`` imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for named in targets:
            if not named.startswith("ordergate"):
                continue
            target = named
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target not in (name, "ordergate"):
                yield target


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: set(imports_of(path, name, known)) for name, path in found.items()}


def layer(module: str) -> int:
    rest = module.removeprefix("ordergate.")
    best, best_len = TOP, -1
    for prefix, value in LAYERS.items():
        if (rest == prefix or rest.startswith(prefix + ".")) and len(prefix) > best_len:
            best, best_len = value, len(prefix)
    return best


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def part(module: str) -> str:
    """The top-level part of the package a module belongs to (``engine``, ``cli`` …)."""
    rest = module.removeprefix("ordergate")
    return rest.lstrip(".").partition(".")[0] or "ordergate"


def part_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The imports between top-level parts (the package's own ``__init__`` left out: it
    hands the public names on, from above every part)."""
    out: dict[str, set[str]] = {}
    for a, targets in edges.items():
        if part(a) == "ordergate":
            continue
        for b in targets:
            if part(b) not in (part(a), "ordergate"):
                out.setdefault(part(a), set()).add(part(b))
    return out


def test_no_import_cycle_anywhere() -> None:
    assert cycles(graph()) == []


def test_no_two_top_level_parts_import_each_other() -> None:
    edges = graph()
    tangled = cycles(part_graph(edges))
    ties = sorted(
        f"{a} imports {b}"
        for a, targets in edges.items()
        for b in targets
        for component in tangled
        if part(a) != part(b) and {part(a), part(b)} <= set(component)
    )
    assert tangled == [], "\n".join(ties)


def test_the_part_check_sees_a_cycle_between_folders_of_acyclic_files() -> None:
    edges = {
        "ordergate.engine.a_cli": {"ordergate.bootstrap"},
        "ordergate.bootstrap": {"ordergate.engine.core"},
        "ordergate.engine.core": set(),
    }
    assert cycles(edges) == []
    assert cycles(part_graph(edges)) == [["bootstrap", "engine"]]


def test_no_module_imports_a_higher_layer() -> None:
    upward = sorted(
        f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
        for a, targets in graph().items()
        for b in targets
        if layer(b) > layer(a) and not a.endswith("ordergate")
    )
    assert upward == []


def test_the_checker_sees_imports_under_type_checking_and_in_functions(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ordergate.engine.engine import ExecutionEngine\n"
        "def f():\n    from ordergate.bootstrap import build_engine\n"
    )
    path = PACKAGE / "domain" / "probe_for_layers.py"
    known = {"ordergate.engine.engine", "ordergate.bootstrap"}
    path_text = tmp_path / "probe.py"
    path_text.write_text(source)
    found = set(imports_of(path_text, "ordergate.domain.probe_for_layers", known))
    assert found == known
    assert not path.exists()
