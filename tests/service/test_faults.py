"""Faults through a real uvicorn server: a full disk answers a JSON ``StorageError`` (507) and
loses nothing acknowledged; any other exception in a route answers a JSON 500 and keeps the
connection open; the client retries idempotent calls on a reset connection."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import numpy as np
import psycopg
import psycopg.errors
import pytest

from memory import Memory
from memory.client import Client
from memory.embedders import Embedder
from memory.errors import ServiceError, StorageError
from memory.service.app import create_app
from memory.stores.faults import storage_error
from memory.stores.sqlite.connection import SQLiteBase
from tests.fakes import FakeEmbedder, serve
from tests.service.helpers import ALPHA_KEY, ServerProcess
from tests.service.test_retries import ScriptedTransport

pytestmark = pytest.mark.fake_embedder

FILLER = "filler.bin"


class SmallDisk:
    """A folder whose disk the test fills and frees: a 4 MiB tmpfs when it may mount one (root),
    else SQLite's own cap on the database (``PRAGMA max_page_count`` at the pages it has, on every
    connection), which fails a write with the same ``SQLITE_FULL`` "database or disk is full"."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = root / "disk"
        self.folder.mkdir()
        self.full = False
        mount = ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(self.folder)]
        self.tmpfs = os.geteuid() == 0 and subprocess.run(mount, capture_output=True).returncode == 0
        if not self.tmpfs:
            original = SQLiteBase._conn

            def capped(store: SQLiteBase) -> sqlite3.Connection:
                conn = original(store)
                pages = conn.execute("PRAGMA page_count").fetchone()[0] if self.full else 1_073_741_823
                conn.execute(f"PRAGMA max_page_count = {pages}")
                return conn

            monkeypatch.setattr(SQLiteBase, "_conn", capped)

    def fill(self) -> None:
        self.full = True
        if self.tmpfs:
            chunk = b"\0" * 65536
            with open(self.folder / FILLER, "wb") as f:
                try:
                    while True:
                        f.write(chunk)
                        f.flush()
                except OSError:
                    pass

    def free(self) -> None:
        self.full = False
        (self.folder / FILLER).unlink(missing_ok=True)

    def close(self) -> None:
        if self.tmpfs:
            subprocess.run(["umount", "-l", str(self.folder)], check=False)


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallDisk]:
    small = SmallDisk(tmp_path, monkeypatch)
    try:
        yield small
    finally:
        small.close()


def _turn(i: int) -> dict[str, str]:
    return {"role": "user", "content": f"note {i}: " + uuid.uuid4().hex * 40}


@pytest.mark.needs("process")  # `mount` / `umount` of the tmpfs
def test_a_full_disk_answers_507_storage_error_and_loses_nothing_acknowledged(
    disk: SmallDisk, fake_embedder: FakeEmbedder
) -> None:
    mem = Memory.open(disk.folder / "data", embedder=fake_embedder)
    try:
        with serve(create_app(mem)) as url, Client(url, retries=0) as client:
            acked = [client.add([_turn(i)], session="s", wait_indexed=True)[0] for i in range(3)]
            client.add([_turn(0)], session="other", wait_indexed=True)
            disk.fill()
            refused = None
            for i in range(3, 400):  # the WAL may still have room for a few: write until the disk says no
                try:
                    acked += client.add([_turn(i)], session="s")
                except StorageError as exc:
                    refused = exc
                    break
            assert refused is not None, "the disk never filled up"
            assert refused.status_code == 507 and not refused.transient and "full" in str(refused)
            raw = httpx.post(f"{url}/v1/namespaces/default/sessions/s/messages", json={"messages": [_turn(0)]})
            assert raw.status_code == 507 and raw.json()["error"] == "StorageError"
            assert raw.headers["content-type"] == "application/json"
            # the same connection goes on: what was acknowledged is there, gap-free
            assert [m.seq for m in client.since("s", 0)] == acked == list(range(1, len(acked) + 1))
            gone = httpx.delete(f"{url}/v1/namespaces/default/sessions/other")  # a delete writes too
            assert gone.status_code in (200, 507) and gone.json()["error" if gone.status_code == 507 else "deleted"]
            if gone.status_code == 507:  # refused whole: the session is all there
                assert len(client.since("other", 0)) == 1
            disk.free()
            assert client.add([_turn(999)], session="s") == [len(acked) + 1]  # writes resume
            client.flush(30)
        assert [m.seq for m in mem.since("s", 0)] == list(range(1, len(acked) + 2))
    finally:
        disk.free()
        mem.close()
    with Memory.open(disk.folder / "data", embedder=fake_embedder) as again:  # reopened: all of it, indexed
        assert len(again.since("s", 0)) == len(acked) + 1
        assert "dense" in again.search("note 999", k=1)[0].scores


class RaisingEmbedder:
    """A query ``boom`` raises a plain RuntimeError (a bug), ``full`` SQLite's disk-full error."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if "boom" in texts:
            raise RuntimeError("a bug")
        if "full" in texts:
            raise sqlite3.OperationalError("database or disk is full")
        return self.inner.embed(texts)


def test_a_route_exception_answers_json_and_keeps_the_connection(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    """Before, a plain-text 500 and uvicorn closed the connection: about half the next requests on
    it failed with 'connection reset by peer'."""
    with Memory.open(tmp_path / "m", embedder=RaisingEmbedder(fake_embedder)) as mem:
        mem.add([{"role": "user", "content": "hello"}], session="s")
        with serve(create_app(mem)) as url, httpx.Client(base_url=url) as http:
            for _ in range(20):
                bug = http.post("/v1/namespaces/default/search", json={"query": "boom"})
                assert bug.status_code == 500 and bug.json()["error"] == "ServiceError"
                assert "RuntimeError" in bug.json()["detail"] and "a bug" not in bug.json()["detail"]
                full = http.post("/v1/namespaces/default/search", json={"query": "full"})
                assert full.status_code == 507 and full.json()["error"] == "StorageError"
                patch = http.patch("/v1/namespaces/default/sessions/s/state", json={"blocks": {"n": 1}})
                assert patch.status_code == 200  # not retried by anyone: the connection was still open
            with Client(url, retries=0) as client, pytest.raises(ServiceError) as err:
                client.search("boom")
            assert err.value.status == 500


def test_storage_faults_are_read_by_meaning() -> None:
    full = storage_error(sqlite3.OperationalError("database or disk is full"))
    assert full is not None and full.status_code == 507
    busy = storage_error(sqlite3.OperationalError("database is locked"))
    assert busy is not None and busy.transient and busy.status_code == 503
    assert storage_error(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
    assert storage_error(ValueError("no")) is None
    enospc = storage_error(OSError(28, "No space left on device", "/data/index/x.faiss"))
    assert enospc is not None and enospc.status_code == 507 and "x.faiss" in str(enospc)
    lost = storage_error(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert lost is not None and lost.transient and lost.status_code == 503
    pg_full = storage_error(psycopg.errors.DiskFull("could not extend file"))
    assert pg_full is not None and pg_full.status_code == 507
    assert storage_error(psycopg.errors.UniqueViolation("duplicate key")) is None


@pytest.mark.parametrize(
    "reset",
    [
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=["reset", "disconnected"],
)
def test_reads_and_keyed_writes_are_retried_on_a_reset_connection(
    server: ServerProcess, session_name: str, reset: httpx.TransportError
) -> None:
    class Resetting(ScriptedTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            plan = self.script.get(request.method) or []
            if plan and plan.pop(0) == "reset":
                raise reset
            return super().handle_request(request)

    transport = Resetting({"POST": ["reset"], "GET": ["reset"], "PATCH": ["reset"]})
    with Client(server.url, api_key=ALPHA_KEY, backoff=0.01, transport=transport) as client:
        assert client.add([{"role": "user", "content": "one"}], session=session_name, namespace="alpha") == [1]
        assert [m.seq for m in client.since(session_name, 0, namespace="alpha")] == [1]
        with pytest.raises(ServiceError, match="unreachable"):  # a PATCH may have gone through: not repeated
            client.set_state(session_name, {"n": 1}, namespace="alpha")
    assert transport.sent == ["POST", "GET"]
