"""The one OpenAI-compatible HTTP client and its retry policy: request, error mapping, retries.

:func:`http_client` is the client of every OpenAI-compatible endpoint (base URL, key, timeout):
:class:`memory.session.summaries.ChatSummarizer` (rolling summaries), the eval's
``OpenAISummarizer``, the eval's answer model and judge (:mod:`eval.answers`) and
:class:`memory.embedders.OpenAIEmbedder`. Any endpoint that speaks the API works: OpenAI, vLLM,
llama.cpp server, Ollama. (The turnmem REST client, :mod:`memory.client`, is not one of them: it
talks to turnmem's own service and retries only what is safe to repeat there.)

:func:`chat_reply` posts one request and returns the text with the endpoint's token usage and
the latency; a 429, a 5xx or a broken connection is retried ``retries`` times with exponential
backoff (honouring ``Retry-After``); what still fails is an :class:`UpstreamError` whose
``status`` is the last HTTP status (None when nothing answered).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from memory.errors import UpstreamError

RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class ChatReply:
    """One completion: its text, the endpoint's token counts (None if it sent none), latency."""

    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float


def http_client(
    base_url: str, *, api_key: str | None = None, timeout: float = 120.0, max_connections: int = 100
) -> httpx.Client:
    """An httpx client for ``base_url`` (``.../v1``); ``api_key`` defaults to ``$OPENAI_API_KEY``
    and no ``Authorization`` header is sent without a key (local servers need none)."""
    key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, limits=limits)


def _wait_s(attempt: int, backoff_s: float, retry_after: str | None) -> float:
    if retry_after is not None:
        try:
            return min(MAX_BACKOFF_S, max(0.0, float(retry_after)))
        except ValueError:
            pass  # an HTTP date: fall back to our own backoff
    return min(MAX_BACKOFF_S, backoff_s * 2.0**attempt * (0.5 + random.random() / 2))


def chat_reply(
    client: httpx.Client,
    body: dict[str, Any],
    *,
    what: str,
    retries: int = 0,
    backoff_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ChatReply:
    """POST ``body`` to ``/chat/completions``; retry 429/5xx/connection errors; :class:`UpstreamError` otherwise."""
    payload = json.dumps(body)
    attempt = 0
    while True:
        t0 = time.perf_counter()
        try:
            resp = client.post("/chat/completions", content=payload, headers={"Content-Type": "application/json"})
        except httpx.RequestError as exc:
            if isinstance(exc, httpx.TransportError) and attempt < retries:
                sleep(_wait_s(attempt, backoff_s, None))
                attempt += 1
                continue
            raise UpstreamError(f"{what}: no usable answer from {client.base_url}: {exc}") from exc
        ms = (time.perf_counter() - t0) * 1000
        if resp.status_code in RETRY_STATUSES and attempt < retries:
            sleep(_wait_s(attempt, backoff_s, resp.headers.get("retry-after")))
            attempt += 1
            continue
        if resp.status_code >= 400:
            raise UpstreamError(
                f"{what}: {resp.request.url} answered {resp.status_code}: {resp.text[:200]}", status=resp.status_code
            )
        try:
            data = resp.json()
            text = str(data["choices"][0]["message"]["content"] or "")
            usage = data.get("usage") or {}
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise UpstreamError(
                f"{what}: no usable answer from {client.base_url}: {exc!r}", status=resp.status_code
            ) from exc
        return ChatReply(
            text=text,
            prompt_tokens=usage.get("prompt_tokens") if isinstance(usage, dict) else None,
            completion_tokens=usage.get("completion_tokens") if isinstance(usage, dict) else None,
            latency_ms=ms,
        )


def chat_completion(client: httpx.Client, body: dict[str, Any], *, what: str, retries: int = 0) -> str:
    """The text of one completion (see :func:`chat_reply`)."""
    return chat_reply(client, body, what=what, retries=retries).text


__all__ = ["RETRY_STATUSES", "ChatReply", "chat_completion", "chat_reply", "http_client"]
