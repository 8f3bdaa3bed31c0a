"""``memory``'s public surface (as httpx's tests/test_exported_members.py checks its own): every
name of ``__all__`` imports, every public class and function the package holds is in
``__all__`` (the lazily loaded ones too), every error of :mod:`memory.errors` is exported, and
the names loaded lazily at run time are the ones type checkers see under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import memory
import memory.errors

INIT = Path(memory.__file__)


def test_every_name_in_all_imports() -> None:
    for name in memory.__all__:
        assert getattr(memory, name) is not None, name
    namespace: dict[str, object] = {}
    exec(f"from memory import {', '.join(memory.__all__)}", namespace)  # the import a user writes
    assert set(memory.__all__) <= set(namespace)


def test_all_is_sorted_public_and_unique() -> None:
    assert memory.__all__ == sorted(set(memory.__all__), key=str.casefold)
    assert [n for n in memory.__all__ if n.startswith("_")] == []


def test_every_public_class_and_function_is_in_all() -> None:
    surface = {name: getattr(memory, name) for name in [*vars(memory), *memory._LAZY]}
    public = {
        name
        for name, obj in surface.items()
        if not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
    }
    assert public == set(memory.__all__)


def test_every_error_is_exported() -> None:
    errors = {
        name
        for name, obj in vars(memory.errors).items()
        if inspect.isclass(obj) and issubclass(obj, memory.errors.TurnmemError) and not name.startswith("_")
    }
    assert errors <= set(memory.__all__), errors - set(memory.__all__)
    assert "TimedOut" in errors


def _type_checking_imports() -> dict[str, str]:
    """name -> module of the imports under ``if TYPE_CHECKING:`` in memory/__init__.py."""
    out: dict[str, str] = {}
    for node in ast.parse(INIT.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module, ast.dump(stmt)
                out |= {(a.asname or a.name): stmt.module for a in stmt.names}
    return out


def test_the_lazy_names_are_the_ones_type_checkers_see() -> None:
    """At run time ``memory.Memory`` loads :mod:`memory.memory` on first use (so that importing
    memory.errors stays light); to mypy and pyright the same name comes from the
    ``TYPE_CHECKING`` import of the same module, so ``from memory import Memory`` is the class."""
    assert _type_checking_imports() == memory._LAZY
    for name, module in memory._LAZY.items():
        assert getattr(memory, name) is getattr(importlib.import_module(module), name), name
