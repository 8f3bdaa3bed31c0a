"""Any OpenAI-compatible ``/v1/embeddings`` endpoint, through the one OpenAI-compatible httpx client
(:func:`memory.llm.http_client`: base URL, ``$OPENAI_API_KEY``, timeout).

One request per batch and no retries of its own: a write's vectors that fail are retried by the
background indexer (:mod:`memory.write.indexer`), and a query that cannot be embedded fails its
call, which the caller may repeat. httpx is imported when an endpoint embedder is made, not with
:mod:`memory.embedders` (which every memory imports).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memory.embedders.base import clip_for_model, normalize
from memory.errors import UpstreamError

OPENAI_MAX_TOKENS = 8192  # the input limit of OpenAI's embedding models (text-embedding-3-*)


class OpenAIEmbedder:
    """Any OpenAI-compatible ``POST {base_url}/embeddings`` endpoint, through httpx."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        dim: int | None = None,
        batch_size: int = 256,
        timeout: float = 30.0,
        client: object | None = None,
    ) -> None:
        from memory.llm import http_client  # noqa: PLC0415 - lazy: httpx (~0.6 s), see the module docstring

        self.name = model
        self.model = model
        self.batch_size = batch_size
        self._dim = dim
        self._client = client or http_client(base_url, api_key=api_key, timeout=timeout)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import httpx  # noqa: PLC0415 - lazy (see the module docstring)

        texts = clip_for_model(texts, OPENAI_MAX_TOKENS)
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            try:
                resp = self._client.post("/embeddings", json={"model": self.model, "input": batch})  # type: ignore[attr-defined]
                resp.raise_for_status()
                data = sorted(resp.json()["data"], key=lambda d: d["index"])
                got = [list(d["embedding"]) for d in data]
            except httpx.HTTPStatusError as exc:
                raise UpstreamError(
                    f"embedder: {exc.request.url} answered {exc.response.status_code}: {exc.response.text[:200]}"
                ) from exc
            except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
                raise UpstreamError(f"embedder: no usable embeddings from the endpoint: {exc!r}") from exc
            if [d.get("index") for d in data] != list(range(len(batch))) or len({len(r) for r in got}) > 1:
                raise UpstreamError(
                    f"embedder: asked for {len(batch)} embeddings, got {len(got)} (indexes "
                    f"{[d.get('index') for d in data][:10]}); the endpoint answered out of spec"
                )
            rows.extend(got)
        if not rows:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        out = normalize(np.asarray(rows, dtype=np.float32))
        self._dim = out.shape[1]
        return out
