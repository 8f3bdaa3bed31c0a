"""A small OpenAI-compatible fake server on loopback (uvicorn in a thread), for tests that
would otherwise call a paid LLM endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from memory.service.process import free_port


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
