"""Any OpenAI-compatible ``/v1/embeddings`` endpoint, through httpx."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from memory.embedders.base import normalize
from memory.errors import UpstreamError


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
        import httpx

        self.name = model
        self.model = model
        self.batch_size = batch_size
        self._dim = dim
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = client or httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import httpx

        texts = list(texts)
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
