"""The import contract: dependencies point one way. Checked on the source (every import, those
inside functions and under ``TYPE_CHECKING`` included) and, for the entry points that must stay
light, on what importing them loads (in a fresh interpreter).

Between the packages (DESIGN.md): ``eval -> memory -> retrievers -> indexers``. indexers/ and
retrievers/ may import ``memory.errors`` and ``memory.models`` (leaf modules) and nothing else of
memory; only eval imports eval; no package imports tests/ or benchmarks/.

Inside memory/, a module imports its own layer and those below, never one above:

=====  ==================================================================  ===============================
layer  modules                                                             what
=====  ==================================================================  ===============================
0      memory.models, memory.errors, memory.validation, memory.tokens,     data, errors, argument checks,
       memory.llm                                                          counting, the chat client
1      memory.embedders                                                    text -> vectors
2      memory.stores                                                       Store protocols, SQLite, Postgres
3      memory.write, memory.read, memory.session, memory.parts             writing, reading, session state
                                                                           and summaries, the parts' base
4      memory.memory                                                       the Memory facade
5      memory.client, memory.service, memory.cli, memory.integrations,     the edges: REST client, service,
       memory.adapters, memory (``__init__``: the public surface)          CLI, adapters, the surface
=====  ==================================================================  ===============================

Modules of one layer may import each other. ``memory/__init__`` loads only layer 0 and the
session-state models eagerly, the rest lazily (``tests/memory/test_exported_members.py``).

And: ``memory.client`` loads neither ``memory.stores`` nor FAISS nor ``memory.memory``; importing
``memory.errors`` loads no FAISS, torch, FastAPI, Chroma, store or embedder; there is no import
cycle; an import inside a function of a project module is a documented lazy import (``# noqa:
PLC0415`` with the reason on its line, or a comment just above it).

:data:`KNOWN` lists the arrows that still break a rule, each with why and what removes it; the
test fails when one of them is gone, so that the list shrinks with the code.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("memory", "indexers", "retrievers", "eval")
NOT_IMPORTABLE = ("tests", "benchmarks")

# The top-level packages each package may import (besides itself); SHARED is open to all.
MAY_IMPORT = {
    "indexers": (),
    "retrievers": ("indexers",),
    "memory": ("retrievers", "indexers"),
    "eval": ("memory", "retrievers", "indexers"),
}
SHARED = ("memory.errors", "memory.models")

LAYERS: tuple[tuple[str, ...], ...] = (
    ("memory.models", "memory.errors", "memory.validation", "memory.tokens", "memory.llm"),
    ("memory.embedders",),
    ("memory.stores",),
    ("memory.write", "memory.read", "memory.session", "memory.parts"),
    ("memory.memory",),
    ("memory.client", "memory.service", "memory.cli", "memory.integrations", "memory.adapters", "memory"),
)

# (importer, imported) -> why the arrow is still there and what removes it.
KNOWN: dict[tuple[str, str], str] = {
    ("memory.tokens", "memory.embedders.base"): (
        "the tokenizer.json counter finds the bundled MiniLM's folder with bundled_model_path; "
        "goes when that helper moves to a leaf module"
    ),
    ("memory.embedders.identity", "memory.stores.base"): (
        "records which embedder made a store's vectors through Store.get_meta/set_meta/reembed; goes "
        "when it takes a narrow meta capability (or moves up to the writer)"
    ),
}
# import cycles -> why, and what removes them
KNOWN_CYCLES: dict[frozenset[str], str] = {}


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    imported: str  # the module it names (the deepest that exists; ours only)
    path: Path
    line: int
    in_function: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for pkg in PACKAGES + NOT_IMPORTABLE for p in (ROOT / pkg).rglob("*.py")}


def _ours(name: str) -> str | None:
    """The deepest module of ours that ``name`` names (``memory.errors.X`` -> ``memory.errors``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _function_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inside |= {id(n) for n in ast.walk(node) if n is not node}
    return inside


def imports_in(path: Path) -> list[Import]:
    """Every import of one of our modules in ``path``: ``from a.b import c`` names ``a.b.c`` when
    that is a module, else ``a.b``; relative imports resolved."""
    me = module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = _function_nodes(tree)
    found: list[Import] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for name in dict.fromkeys(names):
            target = _ours(name)
            if target is not None and target != me:
                found.append(Import(me, target, path, node.lineno, id(node) in inside))
    return found


ALL_IMPORTS = [imp for name, path in MODULES.items() if name.split(".")[0] in PACKAGES for imp in imports_in(path)]


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer): the longest prefix wins
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), level)
    return None if best is None else best[1]


def test_packages_point_one_way() -> None:
    bad = []
    for imp in ALL_IMPORTS:
        src, dst = imp.importer.split(".")[0], imp.imported.split(".")[0]
        shared = any(imp.imported == s or imp.imported.startswith(s + ".") for s in SHARED)
        if dst in NOT_IMPORTABLE or (dst != src and dst not in MAY_IMPORT[src] and not shared):
            bad.append(f"{imp.path.relative_to(ROOT)}:{imp.line}: {imp.importer} -> {imp.imported}")
    assert not bad, "\n".join(bad)


def test_every_memory_module_has_a_layer() -> None:
    assert [m for m in MODULES if m.split(".")[0] == "memory" and layer_of(m) is None] == []


def test_memory_layers_point_down() -> None:
    arrows = {
        (imp.importer, imp.imported): imp
        for imp in ALL_IMPORTS
        if imp.importer.startswith("memory.") and imp.imported.split(".")[0] == "memory"
    }
    up = {key: imp for key, imp in arrows.items() if (layer_of(key[1]) or 0) > (layer_of(key[0]) or 0)}
    bad = [f"{imp.path.relative_to(ROOT)}:{imp.line}: {a} -> {b}" for (a, b), imp in up.items() if (a, b) not in KNOWN]
    assert not bad, "a lower layer imports a higher one:\n" + "\n".join(bad)
    assert set(KNOWN) <= set(up), f"fixed, take them out of KNOWN: {set(KNOWN) - set(up)}"


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[frozenset[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.add(w)
                    if w == v:
                        break
                if len(component) > 1:
                    out.append(frozenset(component))
    return out


def test_no_import_cycles() -> None:
    """Counting the imports inside functions too: a lazy import must not be what hides a cycle."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES if m.split(".")[0] in PACKAGES}
    for imp in ALL_IMPORTS:
        graph[imp.importer].add(imp.imported)
    found = set(_cycles(graph))
    assert found - set(KNOWN_CYCLES) == set(), sorted(sorted(c) for c in found - set(KNOWN_CYCLES))
    assert set(KNOWN_CYCLES) <= found, f"fixed, take them out of KNOWN_CYCLES: {set(KNOWN_CYCLES) - found}"


_REASON = re.compile(r"#\s*noqa:\s*PLC0415\b\s*[-:–]\s*\S")


def test_imports_inside_functions_are_documented_lazy_imports() -> None:
    """A function-level import of one of our modules says why it is lazy: ``# noqa: PLC0415 -
    why`` on its line, or a comment in the lines just above it (other imports may stand between)."""
    bad = []
    for imp in ALL_IMPORTS:
        if not imp.in_function:
            continue
        lines = imp.path.read_text(encoding="utf-8").splitlines()
        line = lines[imp.line - 1]
        above = imp.line - 2
        while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
            above -= 1
        commented = above >= 0 and lines[above].strip().startswith("#")
        if "noqa: PLC0415" not in line or not (_REASON.search(line) or commented):
            bad.append(f"{imp.path.relative_to(ROOT)}:{imp.line}: {line.strip()}")
    assert not bad, "undocumented imports inside functions:\n" + "\n".join(bad)


def loaded_by(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after ``statement`` (run from the repository root)."""
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def _under(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


HEAVY = ("faiss", "torch", "fastapi", "chromadb", "sentence_transformers", "onnxruntime", "transformers")


@pytest.mark.needs("process")  # a fresh interpreter
@pytest.mark.parametrize("module", ["memory.errors", "memory.models", "memory"])
def test_the_shared_modules_load_nothing_heavy(module: str) -> None:
    """indexers/ and retrievers/ import memory.errors and memory.models; that must not pull in the
    pipeline (stores, embedders, the facade) or a heavy library."""
    loaded = loaded_by(f"import {module}")
    assert module in loaded
    pipeline = ("memory.stores", "memory.embedders", "memory.memory", "memory.write", "memory.read")
    assert _under(loaded, HEAVY + pipeline + ("indexers", "retrievers")) == []


@pytest.mark.needs("process")  # a fresh interpreter
def test_the_client_loads_no_store_index_or_facade() -> None:
    loaded = loaded_by("import memory.client")
    assert "memory.client.clients" in loaded
    assert _under(loaded, ("memory.stores", "faiss", "memory.memory", "memory.embedders") + HEAVY) == []
