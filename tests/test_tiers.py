"""The unit tier's guard (tests/tiers.py): what a unit test starts is stopped or noted, and named."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from indexers.chroma_index import ChromaIndex
from memory.embedders.sentence import SentenceTransformerEmbedder
from tests.tiers import _GUARD, NEEDS, TierViolation, needs_of

PROBE = "tests/test_tiers.py::probe"


@pytest.fixture
def probe() -> Iterator[None]:
    """The guard watching a pretend unit test instead of this one (what it notes is taken here)."""
    active, _GUARD.active = _GUARD.active, PROBE
    try:
        yield
    finally:
        _GUARD.active = active
        _GUARD.take(PROBE)


def test_a_process_and_a_chroma_client_are_stopped_before_they_start(probe: None) -> None:
    with pytest.raises(TierViolation, match="starts a process"):
        subprocess.run(["true"], check=True)
    with pytest.raises(TierViolation, match="opens a Chroma client"):
        ChromaIndex(object(), 8)
    subprocess.run(["uname", "-p"], capture_output=True, check=False)  # platform.processor(): allowed
    assert [n.split(" (")[0] for n in _GUARD.take(PROBE)] == ["starts a process", "opens a Chroma client"]


def test_a_model_load_is_noted(probe: None) -> None:
    emb = SentenceTransformerEmbedder.__new__(SentenceTransformerEmbedder)
    emb._model = "loaded already"  # type: ignore[assignment]  # _load returns it: nothing is read from disk
    assert emb._load() == "loaded already"
    assert _GUARD.take(PROBE) == ["loads a sentence-transformers model"]


def test_nothing_is_noted_outside_a_unit_test() -> None:
    active, _GUARD.active = _GUARD.active, None
    try:
        ChromaIndex(type("Client", (), {"get_max_batch_size": lambda self: 10})(), 8)
    finally:
        _GUARD.active = active
    assert _GUARD.take(PROBE) == []


def test_this_test_is_in_the_unit_tier_and_says_why(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None and needs_of(request.node) == {}
    assert set(NEEDS) == {"model", "postgres", "chroma", "server", "chromium", "process"}


@pytest.mark.needs("postgres")  # only to see the mark work: this test opens no database
def test_a_needs_mark_takes_a_test_out_of_the_unit_tier(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is None
    assert needs_of(request.node) == {"postgres": "its needs mark"}
