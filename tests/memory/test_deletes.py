"""Deletes leave no trace: not in retrieval from another session (summaries included), not in the
vector index of any backend, not in the bytes of the memory folder; and only the touched
namespace's index files are rewritten."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memory.embedders import Embedder
from memory.memory import Memory

pytestmark = pytest.mark.fake_embedder  # what a delete leaves: the model is not the point
SECRET = "quokka7781zebra"
TURNS = [
    {"role": "user", "content": f"Remember this: the vault code is {SECRET}."},
    {"role": "assistant", "content": f"Noted, the vault code is {SECRET}."},
    {"role": "user", "content": "Also book the Lisbon hotel for Friday 14 June."},
    {"role": "assistant", "content": "Booked Casa Azul in Lisbon for 14 June."},
]


def fill(mem: Memory) -> None:
    """Session ``a`` says the secret and is summarized; ``b`` and namespace ``other`` do not."""
    mem.add(TURNS, session="a", namespace="n", idempotency_key="k1")
    mem.set_state("a", {"code": SECRET}, namespace="n")
    summary = mem.summarize("a", namespace="n", keep_last=0, min_turns=1)
    assert summary is not None and SECRET in (summary.content or "")  # the companion quotes it
    mem.add([{"role": "user", "content": "What was the vault code again?"}], session="b", namespace="n")
    mem.add([{"role": "user", "content": "Trains to Porto on Monday."}], session="s", namespace="other")
    mem.flush()  # every vector written and indexed: the delete must find them all


def assert_forgotten(mem: Memory) -> None:
    ctx = mem.assemble("what is the vault code?", session="b", namespace="n", budget=2000)
    assert SECRET not in json.dumps(ctx.messages)
    ctx = mem.assemble("what is the vault code?", namespace="n", budget=2000)
    assert SECRET not in json.dumps(ctx.messages)
    assert all(h.session == "b" for h in mem.search("vault code quokka", namespace="n", k=50))
    assert mem.summaries("a", namespace="n") == [] and mem.state("a", namespace="n") == {}
    assert [s["session"] for s in mem.sessions("n")] == ["b"]
    assert mem.messages(namespace="n", session="a::summaries") == []


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes())


@pytest.mark.parametrize("index", ["faiss", pytest.param("chroma", marks=pytest.mark.needs("chroma"))])
def test_session_delete_forgets_the_secret_everywhere(
    open_memory: Callable[..., Memory], tmp_path: Path, index: str
) -> None:
    mem = open_memory(index=index)
    fill(mem)
    folder = tmp_path / "m"
    assert files_holding(folder, SECRET.encode())  # it is on disk before the delete

    assert mem.delete("n", "a") == 5  # 4 turns and their summary
    assert_forgotten(mem)
    b_ids = {c.id for r in mem.store.all_messages("n", "b") for c in mem.store.chunks_of_message(r.id)}
    assert set(mem.index.ids("n").tolist()) == b_ids  # the vectors of a and a::summaries are gone
    # secure_delete zeroes the freed pages, the full-text segments are merged, the WAL truncated
    assert files_holding(folder, SECRET.encode()) == []
    assert files_holding(folder, b"quokka") == []

    mem.close()
    with Memory.open(folder, embedder=mem.embedder, index=index) as again:  # and after a restart
        assert_forgotten(again)
        assert again.add(TURNS[2:3], session="a", namespace="n", idempotency_key="k1") == [1]  # key forgotten


def test_delete_on_postgres_forgets_the_secret(pg_dsn: str, embedder: Embedder) -> None:
    with Memory.open(pg_dsn, embedder=embedder) as mem:
        fill(mem)
        assert mem.delete("n", "a") == 5
        assert_forgotten(mem)


def test_a_delete_rewrites_only_its_namespaces_index_files(open_memory: Callable[..., Memory], tmp_path: Path) -> None:
    mem = open_memory()
    fill(mem)
    mem.index.persist()
    index_dir = tmp_path / "m" / "index"
    manifest = json.loads((index_dir / "manifest.json").read_text())
    other = {name: (index_dir / name).stat().st_mtime_ns for name in manifest["files"]}
    other = {n: t for n, t in other.items() if n.startswith(manifest["namespaces"]["other"] + ".")}
    assert other

    mem.delete("n", "a")
    after = json.loads((index_dir / "manifest.json").read_text())
    assert after["generation"] > manifest["generation"]
    assert {n: (index_dir / n).stat().st_mtime_ns for n in other} == other  # same files, not rewritten
    assert after["bases"]["other"] == manifest["bases"]["other"]
    assert set(after["files"]) == {
        p.name for p in index_dir.iterdir() if p.name not in ("manifest.json", "persist.lock")
    }
    mem.close()
    with Memory.open(tmp_path / "m", embedder=mem.embedder) as again:  # loads both generations
        assert [h.session for h in again.search("trains to Porto", namespace="other")] == ["s"]
        assert again.reconcile() == {"added": 0, "removed": 0}


USER = "alice@example.com"  # a session (and a namespace) named after a user


@pytest.mark.parametrize("index", ["faiss", pytest.param("chroma", marks=pytest.mark.needs("chroma"))])
def test_a_deleted_session_leaves_no_name_behind(
    open_memory: Callable[..., Memory], tmp_path: Path, index: str
) -> None:
    mem = open_memory(index=index)
    fill(mem)
    mem.add(TURNS, session=USER, namespace="n")
    mem.set_state(USER, {"task": "x"}, namespace="n")
    mem.add(TURNS[:1], session="s", namespace=USER)
    mem.flush()
    folder = tmp_path / "m"
    assert files_holding(folder, USER.encode())  # on disk before the deletes

    mem.delete("n", USER)
    mem.delete(USER)  # the namespace named after the user, too
    # Chroma's own SQLite keeps what it was given (collection and session metadata) in its free
    # pages and queue: a limit the README states; turnmem's own files hold no name
    left = [f for f in files_holding(folder, USER.encode()) + files_holding(folder, b"alice@")]
    assert left == [] if index == "faiss" else all(f.startswith("index-chroma/") for f in left)
    # the tombstones still reach another process's caches and index: by key
    assert [k for _, k in mem.store.deletions_after(0)][-2:] == [
        mem.store.namespace_key("n"),
        mem.store.namespace_key(USER),
    ]
    mem.close()
    with Memory.open(folder, embedder=mem.embedder, index=index) as again:
        assert USER not in again.namespaces() and USER not in [s["session"] for s in again.sessions("n")]
        assert [f for f in files_holding(folder, USER.encode()) if not f.startswith("index-chroma/")] == []


def test_a_deleted_session_on_postgres_leaves_no_name_in_any_row(pg_dsn: str, embedder: Embedder) -> None:
    with Memory.open(pg_dsn, embedder=embedder) as mem:
        fill(mem)
        mem.add(TURNS, session=USER, namespace="n")
        mem.add(TURNS[:1], session="s", namespace=USER)
        mem.flush()
        store: Any = mem.store

        def rows_holding(needle: str) -> list[str]:
            with store._read() as conn:
                tables = [
                    r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                ]
                return [
                    t
                    for t in tables
                    if conn.execute(f'SELECT count(*) FROM "{t}" x WHERE x::text LIKE %s', (f"%{needle}%",)).fetchone()[
                        0
                    ]
                ]

        assert rows_holding(USER)
        mem.delete("n", USER)
        mem.delete(USER)
        assert rows_holding(USER) == [] and rows_holding("alice@") == []
