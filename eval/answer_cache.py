"""A persistent cache of answers and verdicts, so rerunning an answer eval costs nothing.

Keys are (kind, model, prompt version, content hash): the answer to one prompt (context and
question) from one model with one prompt version, or one judge's verdict on one (question,
gold, answer). Only successes are stored; a failed call is asked again next time. One SQLite
file, read and written from the thread that runs the stage.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from memory.errors import InvalidArgument


def default_cache_path() -> Path:
    """``$TURNMEM_CACHE_DIR/answers.sqlite3``, else ``$XDG_CACHE_HOME/turnmem/...``, else ``~/.cache/turnmem/...``."""
    base = os.environ.get("TURNMEM_CACHE_DIR")
    if base:
        return Path(base) / "answers.sqlite3"
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "turnmem" / "answers.sqlite3"


def content_hash(*parts: str) -> str:
    """SHA-256 of the parts (length-prefixed, so ("ab", "c") and ("a", "bc") differ)."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode("utf-8")
        h.update(len(b).to_bytes(8, "big"))
        h.update(b)
    return h.hexdigest()


class AnswerCache:
    """``get(kind, model, prompt_version, digest)`` / ``put(...)`` over one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS cache (kind TEXT NOT NULL, model TEXT NOT NULL, prompt TEXT NOT NULL,"
                " digest TEXT NOT NULL, value TEXT NOT NULL, created REAL NOT NULL,"
                " PRIMARY KEY (kind, model, prompt, digest))"
            )
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise InvalidArgument(
                f"answer_cache: cannot use {str(self.path)!r} as a cache: {exc}", field="answer_cache"
            ) from exc

    def get(self, kind: str, model: str, prompt: str, digest: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT value FROM cache WHERE kind=? AND model=? AND prompt=? AND digest=?", (kind, model, prompt, digest)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, model: str, prompt: str, digest: str, value: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO cache (kind, model, prompt, digest, value, created) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, model, prompt, digest, json.dumps(value), time.time()),
        )
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM cache").fetchone()[0])

    def close(self) -> None:
        self._db.close()
