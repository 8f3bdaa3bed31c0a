"""Fakes for tests: a deterministic embedder (for tests where the model is not the point) and a
small OpenAI-compatible server on loopback (uvicorn in a thread), for tests that would otherwise
call a paid LLM endpoint."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import httpx
import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from memory.service.process import free_port

_WORD = re.compile(r"\w+")


@lru_cache(maxsize=65536)
def _bucket(word: str, dim: int) -> tuple[int, float]:
    """The word's bucket and sign, from a hash that is the same in every process and run."""
    h = int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")
    return h % dim, (1.0 if h >> 63 else -1.0)


class FakeEmbedder:
    """A deterministic bag-of-words embedder: each lower-cased word is hashed to one of ``dim``
    signed buckets and the counts are scaled to unit length (a text without words gets the first
    axis). Texts that share words are near, others nearly orthogonal; no model, no download,
    microseconds a text. For tests where the model is not the point (chunking, validation,
    stores, packing, state, idempotency...); tests of retrieval quality or of the model's
    identity keep the real MiniLM (the ``embedder`` fixture)."""

    def __init__(self, dim: int = 384, name: str = "fake-bag-of-words") -> None:
        self.dim = dim
        self.name = name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                col, sign = _bucket(word, self.dim)
                out[row, col] += sign
        out[~out.any(axis=1), 0] = 1.0  # no words (or signs that cancel out)
        return np.ascontiguousarray(out / np.linalg.norm(out, axis=1, keepdims=True))


class FakeOpenAI:
    """Records every request; answers chat completions with ``reply(body)``.

    ``status`` answers every request with that status; ``fail(body)`` may return a status for
    one request (None: answer normally), e.g. a 429 once or a 500 for one question. A 429
    carries ``Retry-After: 0``.
    """

    def __init__(
        self,
        reply: Callable[[dict[str, Any]], str] | None = None,
        status: int = 200,
        fail: Callable[[dict[str, Any]], int | None] | None = None,
    ) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.reply = reply or (lambda body: "summary: nothing")
        self.status = status
        self.fail = fail
        self.app = FastAPI()

        @self.app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            self.headers.append(dict(request.headers))
            status = self.status if self.status != 200 else (self.fail(body) if self.fail else None) or 200
            if status != 200:
                headers = {"Retry-After": "0"} if status == 429 else None
                return JSONResponse(
                    {"error": {"message": "boom", "type": "server_error"}}, status_code=status, headers=headers
                )
            text = self.reply(body)
            return JSONResponse(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free 127.0.0.1 port; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.2)
        except httpx.HTTPError:
            pass
