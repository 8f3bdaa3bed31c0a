"""Shared fixtures: the real MiniLM embedder (loaded once) and a fake one, the o200k counter,
memories in tmp dirs, PostgreSQL. The tiers (``unit`` and the rest) are set in tests/tiers.py
from the fixtures marked ``@starts(...)`` here and in the other conftest files."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memory.embedders import Embedder, default_embedder
from memory.memory import Memory
from memory.tokens import TokenCounter, get_counter

pytest.register_assert_rewrite("tests.tiers")  # a plugin (below), imported here first for @starts

from tests.fakes import FakeEmbedder  # noqa: E402
from tests.tiers import starts  # noqa: E402

pytest_plugins = ["tests.tiers"]

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LOCOMO = SHARED_DATA / "locomo10.json"


@pytest.fixture(scope="session")
@starts("model")
def embedder() -> Embedder:
    emb = default_embedder()
    emb.embed(["warm up"])  # load the real all-MiniLM-L6-v2 once per test session
    return emb


@pytest.fixture(scope="session")
def fake_embedder() -> FakeEmbedder:
    """A deterministic bag-of-words embedder (384-d): for tests where the model is not the point."""
    return FakeEmbedder()


@pytest.fixture(scope="session")
def counter() -> TokenCounter:
    return get_counter("o200k_base")


@pytest.fixture
@starts("model", unless_marked="fake_embedder")
def memory_embedder(request: pytest.FixtureRequest) -> Embedder:
    """The embedder ``open_memory`` and ``mem`` give a memory: the real MiniLM, or the fake one
    (tests/fakes.py) for a test marked ``fake_embedder``, where the model is not the point."""
    if request.node.get_closest_marker("fake_embedder") is not None:
        return request.getfixturevalue("fake_embedder")
    return request.getfixturevalue("embedder")


@pytest.fixture
def open_memory(tmp_path: Path, memory_embedder: Embedder) -> Iterator[Callable[..., Memory]]:
    """Factory: ``open_memory(name="m", **kwargs)`` opens a Memory in a tmp folder (on ``memory_embedder``)."""
    opened: list[Memory] = []

    def factory(name: str = "m", **kwargs: object) -> Memory:
        kwargs.setdefault("embedder", memory_embedder)
        mem = Memory.open(tmp_path / name, **kwargs)  # type: ignore[arg-type]
        opened.append(mem)
        return mem

    yield factory
    for mem in opened:
        mem.close()


@pytest.fixture
def mem(open_memory: Callable[..., Memory]) -> Memory:
    return open_memory()


@pytest.fixture(scope="session")
def locomo_memory_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A memory folder holding LoCoMo conv-26 (ingested once per test session)."""
    from eval.datasets import load_locomo
    from eval.runner import ingest

    folder = tmp_path_factory.mktemp("locomo-conv26")
    ds = load_locomo(LOCOMO, images="caption").select(conversations=["conv-26"])
    mem = Memory.open(folder, embedder=embedder)
    ingest(mem, ds, progress=False)
    mem.close()
    return folder


@pytest.fixture(scope="session")
@starts("postgres", "process")
def pg_server() -> Iterator[str]:
    """A real PostgreSQL 16 with pgvector for this test run (the ``pgserver`` package, ~3 s to start).

    No skip: when PostgreSQL cannot start, every test that needs it fails with the reason."""
    import pgserver
    import psycopg

    # pgserver runs PostgreSQL as its own user when started by root: the folder must be reachable
    folder = Path(tempfile.mkdtemp(prefix="turnmem-pg-"))
    folder.chmod(0o755)
    server = pgserver.get_server(folder, cleanup_mode="stop")
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    yield uri
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def schema_dsn(server_uri: str) -> str:
    """A DSN whose tables live in a fresh schema of their own (``search_path``), so tests share one server."""
    import uuid
    from urllib.parse import quote

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_uri, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in server_uri else "?"
    return f"{server_uri}{sep}options={quote(f'-csearch_path={schema},public')}"


@pytest.fixture
def pg_dsn(pg_server: str) -> str:
    """An empty PostgreSQL database of the test's own (a fresh schema on the shared server)."""
    return schema_dsn(pg_server)


# Property tests run the same examples on every machine: a CI run is reproducible, and a
# failure found locally with `--hypothesis-seed` or `HYPOTHESIS_PROFILE=explore` is a bug to fix.
# The "fresh" profile is not derandomized: tests that use it (the budget property) try new
# examples on every run, CI included, with few examples each so the suite stays fast; a
# failure prints the seed and a blob (`@reproduce_failure`) to replay it.
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("ci", derandomize=True)
_hyp_settings.register_profile("explore", derandomize=False)
_hyp_settings.register_profile("fresh", derandomize=False, max_examples=12, print_blob=True, deadline=None)
_hyp_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
