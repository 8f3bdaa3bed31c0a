"""Shared fixtures: the real MiniLM embedder (loaded once), the o200k counter, memories in tmp dirs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memory.embedders import Embedder, default_embedder
from memory.memory import Memory
from memory.tokens import TokenCounter, get_counter

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LOCOMO = SHARED_DATA / "locomo10.json"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    emb = default_embedder()
    emb.embed(["warm up"])  # load the real all-MiniLM-L6-v2 once per test session
    return emb


@pytest.fixture(scope="session")
def counter() -> TokenCounter:
    return get_counter("o200k_base")


@pytest.fixture
def open_memory(tmp_path: Path, embedder: Embedder) -> Iterator[Callable[..., Memory]]:
    """Factory: ``open_memory(name="m", **kwargs)`` opens a Memory in a tmp folder."""
    opened: list[Memory] = []

    def factory(name: str = "m", **kwargs: object) -> Memory:
        kwargs.setdefault("embedder", embedder)
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
