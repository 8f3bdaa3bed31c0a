"""Test tiers: the ``unit`` tier needs no infrastructure; the rest of the suite runs as before.

A test is marked ``unit`` (``pytest -m unit``, ``make test-unit``) unless it is marked ``slow``
or needs one of :data:`NEEDS`: the real embedding model, PostgreSQL, Chroma, a server process,
Chromium, or any other process. What a test needs is read, at collection, from

- its fixtures: a fixture that loads or starts one of these says so with ``@starts(kind)``
  under its ``@pytest.fixture``, and every test whose fixture closure reaches it (directly or
  through ``open_memory``, ``pg_dsn``, ``alpha``...) needs it too. ``memory_embedder`` (what
  ``open_memory`` and ``mem`` embed with) is the real model but for tests marked
  ``fake_embedder``, which get the fake one (tests/fakes.py) and can join the unit tier;
- a ``needs(kind, ...)`` mark, for what fixtures cannot show: a parameter that opens
  PostgreSQL through ``request.getfixturevalue``, a test that runs the CLI in a subprocess.

Strict both ways. While a unit test runs (setup, call and teardown, but for the teardown that
also ends shared fixtures, at the end of a module or class), a guard fails it if it
starts a process (pgserver, ``chroma run``, Chromium, uvicorn and the CLI all do), loads a
sentence-transformers or ONNX model, opens a Chroma client, connects to PostgreSQL, or
imports a model runtime (torch, onnxruntime) or chromadb: the test then needs a ``needs``
mark or one of the fixtures above. A run of only unit tests also checks, at its end, that
none of those modules was ever imported. A test marked ``unit`` by hand that needs
infrastructure is a collection error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

import pytest

# kind -> what it is, for the messages
NEEDS = {
    "model": "the real embedding model (MiniLM on torch or ONNX Runtime)",
    "postgres": "PostgreSQL (pgserver)",
    "chroma": "Chroma (a persistent client or a `chroma run` server)",
    "server": "a turnmem server process",
    "chromium": "Chromium (playwright)",
    "process": "a subprocess or a child process",
}
# modules that only the infrastructure tiers import: a unit-only run ends without any of them
HEAVY_MODULES = {
    "torch": "model",
    "sentence_transformers": "model",
    "transformers": "model",
    "onnxruntime": "model",
    "chromadb": "chroma",
    "pgserver": "postgres",
}
PROCESS_EVENTS = {
    "subprocess.Popen",
    "os.fork",
    "os.forkpty",
    "os.posix_spawn",
    "os.spawn",
    "os.exec",
    "os.system",
}
# commands that are no infrastructure: `platform.processor()` asks `uname -p` (the eval's run record)
HARMLESS_COMMANDS = {"uname"}
_ATTR = "__turnmem_starts__"
F = TypeVar("F", bound=Callable[..., Any])


def starts(*kinds: str, unless_marked: str | None = None) -> Callable[[F], F]:
    """Declare that a fixture loads or starts ``kinds`` (keys of :data:`NEEDS`); put it under
    ``@pytest.fixture``. Tests that use the fixture, however indirectly, leave the unit tier,
    but for those marked ``unless_marked`` (the fixture then provides a stand-in)."""
    _check_kinds(kinds, "starts")

    def mark(fn: F) -> F:
        setattr(fn, _ATTR, (tuple(kinds), unless_marked))
        return fn

    return mark


def _check_kinds(kinds: Iterable[str], where: str) -> None:
    unknown = sorted(set(kinds) - set(NEEDS))
    if unknown or not kinds:
        raise ValueError(f"{where}: give one or more of {', '.join(NEEDS)} (got {unknown or 'none'})")


def needs_of(item: pytest.Item) -> dict[str, str]:
    """What ``item`` needs, each kind with where it comes from (a fixture or the mark)."""
    found: dict[str, str] = {}
    for mark in item.iter_markers("needs"):
        _check_kinds(mark.args, f"{item.nodeid}: needs mark")
        for kind in mark.args:
            found.setdefault(kind, "its needs mark")
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return found
    for name in getattr(item, "fixturenames", ()):
        # the fixture that is in force is the last definition; an override that requests the
        # name it overrides also brings the one before it
        for fixturedef in reversed(info.name2fixturedefs.get(name, ())):
            kinds, unless = getattr(fixturedef.func, _ATTR, ((), None))
            if unless is None or item.get_closest_marker(unless) is None:
                for kind in kinds:
                    found.setdefault(kind, f"fixture {name!r}")
            if name not in fixturedef.argnames:
                break
    return found


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "unit: needs no infrastructure (set by tests/tiers.py from the fixtures and needs marks; "
        "`make test-unit` runs these)",
    )
    config.addinivalue_line(
        "markers",
        f"needs(kind, ...): the test needs infrastructure its fixtures do not show; kinds: {', '.join(NEEDS)}",
    )
    config.addinivalue_line(
        "markers",
        "fake_embedder: the test's memories (`open_memory`, `mem`) embed with tests/fakes.FakeEmbedder, "
        "not the real model: for tests where the model is not the point",
    )
    _GUARD.install()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    errors = []
    for item in items:
        needed = needs_of(item)
        if not needed and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.unit)
        elif item.get_closest_marker("unit") is not None:
            why = ", ".join(f"{k} ({w})" for k, w in needed.items()) or "nothing, but is marked slow"
            errors.append(f"{item.nodeid}: marked unit but needs {why}")
    if errors:
        raise pytest.UsageError("unit tier:\n" + "\n".join(errors))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    _GUARD.active = item.nodeid if item.get_closest_marker("unit") is not None else None
    try:
        yield
    finally:
        _GUARD.active = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    # before another module or class (or at the end), pytest also ends the module- and
    # session-scoped fixtures that earlier tests started: not this test's doing
    shared = nextitem is None or nextitem.parent is not item.parent
    active, _GUARD.active = _GUARD.active, (None if shared else _GUARD.active)
    try:
        yield
    finally:
        _GUARD.active = active


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    found = _GUARD.take(item.nodeid)
    if found:
        report.outcome = "failed"
        lines = "\n".join(f"  - {f}" for f in dict.fromkeys(found))
        report.longrepr = (
            f"unit tier: {item.nodeid} ({call.when}) uses infrastructure:\n{lines}\n"
            "give the test the fixture that provides it (e.g. `embedder`, `pg_dsn`), or a "
            "`@pytest.mark.needs(...)` mark, or make it not need it (tests/fakes.FakeEmbedder)"
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    items = getattr(session, "items", [])
    if not items or any(i.get_closest_marker("unit") is None for i in items):
        return
    loaded = sorted(m for m in HEAVY_MODULES if m in sys.modules)
    if loaded:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        msg = f"unit tier: a run of unit tests only imported {', '.join(loaded)} (infrastructure modules)"
        if reporter is not None:
            reporter.write_line(msg, red=True, bold=True)
        else:  # pragma: no cover
            print(msg, file=sys.stderr)


class TierViolation(RuntimeError):
    """Raised where a unit test would start infrastructure (a process, a Chroma client, a
    PostgreSQL connection), so that nothing starts; the test is failed with the reason."""


class _Guard:
    """Records what a running unit test starts; one per test session, process-wide (the
    indexer's threads load the model too)."""

    def __init__(self) -> None:
        self.active: str | None = None
        self.found: list[tuple[str, str]] = []
        self.installed = False

    def take(self, nodeid: str) -> list[str]:
        mine = [what for who, what in self.found if who == nodeid]
        self.found = [(who, what) for who, what in self.found if who != nodeid]
        return mine

    def note(self, what: str, *, stop: bool = False) -> None:
        if self.active is None:
            return
        if (self.active, what) not in self.found:
            self.found.append((self.active, what))
        if stop:
            raise TierViolation(f"unit tier: {what}")

    def install(self) -> None:
        if self.installed:
            return
        self.installed = True
        sys.addaudithook(self._audit)
        from memory.embedders.onnx import OnnxEmbedder
        from memory.embedders.sentence import SentenceTransformerEmbedder

        self._wrap(SentenceTransformerEmbedder, "_load", "loads a sentence-transformers model", stop=False)
        self._wrap(OnnxEmbedder, "_load", "loads an ONNX model", stop=False)
        from indexers.chroma_index import ChromaIndex

        self._wrap(ChromaIndex, "__init__", "opens a Chroma client", stop=True)
        import multiprocessing.process

        self._wrap(multiprocessing.process.BaseProcess, "start", "starts a child process", stop=True)
        import psycopg

        # only a connection that succeeds is PostgreSQL: a refused one is a unit test of the error
        self._wrap(psycopg.Connection, "connect", "connects to PostgreSQL", after=True, classmethod_=True)
        self._wrap(psycopg, "connect", "connects to PostgreSQL", after=True)

    def _wrap(
        self, owner: Any, name: str, what: str, *, stop: bool = False, after: bool = False, classmethod_: bool = False
    ) -> None:
        """Replace ``owner.name`` by a function that notes ``what`` (before the call, or after
        it returned with ``after``) and raises :class:`TierViolation` instead of calling with ``stop``."""
        original = getattr(owner, name)
        guard = self

        if classmethod_:
            func = original.__func__

            def wrapped_cls(cls: Any, *args: Any, **kwargs: Any) -> Any:
                if not after:
                    guard.note(what, stop=stop)
                out = func(cls, *args, **kwargs)
                if after:
                    guard.note(what)
                return out

            setattr(owner, name, classmethod(wrapped_cls))
            return

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not after:
                guard.note(what, stop=stop)
            out = original(*args, **kwargs)
            if after:
                guard.note(what)
            return out

        wrapped.__wrapped__ = original  # type: ignore[attr-defined]
        wrapped.__doc__ = original.__doc__
        setattr(owner, name, wrapped)

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if self.active is None:
            return
        if event in PROCESS_EVENTS:
            shown = args[1] if event == "subprocess.Popen" and len(args) > 1 else args[:1]
            if event == "subprocess.Popen" and _command(shown) in HARMLESS_COMMANDS:
                return
            self.note(f"starts a process ({event} {str(shown)[:160]})", stop=True)
        elif event == "import" and args and str(args[0]).partition(".")[0] in HEAVY_MODULES:
            top = str(args[0]).partition(".")[0]
            if str(args[0]) == top:
                self.note(f"imports {top} ({NEEDS[HEAVY_MODULES[top]]})")


def _command(args: Any) -> str:
    """The program's name in a ``Popen`` argument list (or command string)."""
    first = args if isinstance(args, (str, bytes, os.PathLike)) else next(iter(args or ()), "")
    return os.path.basename(os.fsdecode(first)).split(" ", 1)[0]


_GUARD = _Guard()
