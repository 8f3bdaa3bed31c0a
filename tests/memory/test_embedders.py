from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence

import httpx
import numpy as np
import pytest

from memory.embedders import (
    DEFAULT_MODEL,
    BatchingEmbedder,
    CachedEmbedder,
    Embedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    default_embedder,
)
from memory.errors import InvalidArgument, UpstreamError


def test_default_embedder_is_the_bundled_minilm(embedder: Embedder) -> None:
    assert default_embedder() is embedder  # one model per process
    assert isinstance(embedder, Embedder)
    assert embedder.name == DEFAULT_MODEL and embedder.dim == 384
    vecs = embedder.embed(["Casa Azul is 129 EUR a night.", "hello", ""])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_minilm_embeds_meaning(embedder: Embedder) -> None:
    q, near, far = embedder.embed(
        ["Which hotel did we book in Lisbon?", "We reserved Casa Azul, a hotel in Lisbon.", "The stock market fell."]
    )
    assert float(q @ near) > float(q @ far) + 0.2
    # The same text gives the same vector, alone or in a batch.
    np.testing.assert_allclose(embedder.embed(["The stock market fell."])[0], far, atol=1e-5)


def test_no_silent_download() -> None:
    with pytest.raises(InvalidArgument) as err:
        SentenceTransformerEmbedder("sentence-transformers/some-model-not-here")
    assert err.value.field == "embedder" and "allow_download" in str(err.value)


class _Counting:
    name = "counting"
    dim = 4

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.array([[len(t), 1.0, 0.0, 0.0] for t in texts], dtype=np.float32).reshape(len(texts), 4)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_cached_embedder_embeds_each_text_once() -> None:
    inner = _Counting()
    cached = CachedEmbedder(inner, maxsize=3)
    first = cached.embed(["a", "bb", "a"])
    assert inner.calls == [["a", "bb"]]
    np.testing.assert_array_equal(first[0], first[2])
    again = cached.embed(["bb", "ccc"])
    assert inner.calls[-1] == ["ccc"]
    np.testing.assert_array_equal(again[0], first[1])
    cached.embed(["dddd", "eeeee"])  # evicts the oldest entries (maxsize 3)
    cached.embed(["a"])
    assert inner.calls[-1] == ["a"]
    assert cached.embed([]).shape == (0, 4) and cached.name == "counting" and cached.dim == 4


def test_openai_embedder_batches_orders_and_normalizes() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        assert request.url.path == "/v1/embeddings"
        assert request.headers["authorization"] == "Bearer sk-test"
        data = [{"index": i, "embedding": [float(len(t)), 3.0, 4.0]} for i, t in enumerate(body["input"])]
        return httpx.Response(200, json={"data": list(reversed(data)), "model": body["model"]})

    client = httpx.Client(
        base_url="http://embed.invalid/v1",
        transport=httpx.MockTransport(handler),
        headers={"Authorization": "Bearer sk-test"},
    )
    emb = OpenAIEmbedder("text-embedding-3-small", client=client, batch_size=2, api_key="sk-test")
    vecs = emb.embed(["a", "bbbb", "cc"])
    assert [b["input"] for b in seen] == [["a", "bbbb"], ["cc"]]
    assert all(b["model"] == "text-embedding-3-small" for b in seen)
    expected = np.array([[1, 3, 4], [4, 3, 4], [2, 3, 4]], dtype=np.float32)
    np.testing.assert_allclose(vecs, expected / np.linalg.norm(expected, axis=1, keepdims=True), rtol=1e-6)
    assert emb.dim == 3


@pytest.mark.parametrize(
    ("status", "payload", "match"),
    [
        (500, {"error": {"message": "boom"}}, "500"),
        (200, {"nothing": []}, "no usable embeddings"),
        (200, {"data": [{"index": 0, "embedding": [1.0, 0.0]}]}, "asked for 2 embeddings, got 1"),
        (200, {"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]}, "out of spec"),
    ],
)
def test_openai_embedder_bad_answers_are_upstream_errors(status: int, payload: dict, match: str) -> None:
    client = httpx.Client(
        base_url="http://embed.invalid/v1",
        transport=httpx.MockTransport(lambda r: httpx.Response(status, json=payload)),
    )
    with pytest.raises(UpstreamError, match=match):
        OpenAIEmbedder("m", client=client).embed(["x", "y"])


def test_batching_embedder_coalesces_concurrent_calls_and_keeps_each_answer(embedder: Embedder) -> None:
    import threading

    batching = BatchingEmbedder(embedder)
    texts = [[f"caller {k} sentence {i} about a red bicycle" for i in range(k % 3 + 1)] for k in range(16)]
    got: dict[int, np.ndarray] = {}
    start = threading.Barrier(16)

    def call(k: int) -> None:
        start.wait()
        got[k] = batching.embed(texts[k])

    threads = [threading.Thread(target=call, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(16):
        np.testing.assert_allclose(got[k], embedder.embed(texts[k]), atol=1e-5)
    assert batching.calls == 16 and batching.batches < 16  # several callers shared a forward pass
    assert batching.embed([]).shape == (0, embedder.dim)


def test_batching_embedder_hands_errors_to_every_waiting_caller() -> None:
    class Broken:
        name, dim = "broken", 4

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            if "boom" in texts:
                raise UpstreamError("embedding endpoint down")
            return np.ones((len(texts), 4), dtype=np.float32)

    batching = BatchingEmbedder(Broken())
    with pytest.raises(UpstreamError, match="down"):
        batching.embed(["boom"])
    assert batching.embed(["fine"]).shape == (1, 4)  # the worker survived


def _busy(batching: BatchingEmbedder, n: int = 400) -> threading.Thread:
    """Keep the worker busy with a long call, so the calls made meanwhile queue up and share a pass."""
    t = threading.Thread(target=batching.embed, args=([f"filler sentence number {i} about trains" for i in range(n)],))
    t.start()
    time.sleep(0.2)
    return t


def test_batching_embedder_one_bad_input_fails_only_its_own_call(embedder: Embedder) -> None:
    batching = BatchingEmbedder(embedder, timeout=None)
    filler = _busy(batching)
    good = [[f"caller {k} talks about a red bicycle"] for k in range(4)]
    results: dict[int, object] = {}

    def call(k: int, texts: list) -> None:  # noqa: ANN001
        try:
            results[k] = batching.embed(texts)
        except Exception as exc:  # noqa: BLE001
            results[k] = exc

    threads = [threading.Thread(target=call, args=(k, t)) for k, t in enumerate(good)]
    threads.append(threading.Thread(target=call, args=(99, ["fine text", None])))  # the tokenizer refuses None
    for t in threads:
        t.start()
    for t in [*threads, filler]:
        t.join()
    assert isinstance(results[99], Exception)
    for k, texts in enumerate(good):
        assert isinstance(results[k], np.ndarray), results[k]
        np.testing.assert_allclose(results[k], embedder.embed(texts), atol=1e-5)


def test_batching_embedder_caps_each_forward_pass(fake_embedder: Embedder) -> None:
    batching = BatchingEmbedder(fake_embedder, max_batch=64)  # the passes, not the model
    texts = [f"sentence {i} about the weather in Porto" for i in range(150)]
    out = batching.embed(texts)
    assert batching.batches == 3  # 64 + 64 + 22, not one pass of 150
    np.testing.assert_allclose(out, fake_embedder.embed(texts), atol=1e-5)


def test_batching_embedder_times_out_and_lives_on(embedder: Embedder) -> None:
    from memory.errors import TimedOut

    batching = BatchingEmbedder(embedder, timeout=30)
    filler = _busy(batching, 600)
    batching.timeout = 0.05
    with pytest.raises(TimedOut, match="embedding"):
        batching.embed(["waits behind the filler"])  # queued behind a long pass: gives up, is dropped
    filler.join()
    batching.timeout = 30
    assert batching.embed(["after"]).shape == (1, embedder.dim)
    with pytest.raises(InvalidArgument):
        BatchingEmbedder(embedder, timeout=0)


def test_clip_for_model_cuts_only_text_the_model_cannot_see() -> None:
    from memory.embedders.base import CHARS_PER_TOKEN, clip_for_model

    short, long = "a short turn", "x" * (256 * CHARS_PER_TOKEN + 5)
    assert clip_for_model([short, long], 256) == [short, long[: 256 * CHARS_PER_TOKEN]]


def test_the_onnx_embedder_tokenizes_at_most_a_bounded_prefix(embedder: Embedder) -> None:
    """A 2 MB text reaches the tokenizer as its first max_length * 64 characters (it used to be
    tokenized whole, then truncated), and embeds as that prefix does."""
    from memory.embedders.base import CHARS_PER_TOKEN
    from memory.embedders.onnx import OnnxEmbedder

    assert isinstance(embedder, OnnxEmbedder)
    embedder._load()
    real = embedder._tokenizer
    seen: list[int] = []

    class Recording:
        def encode_batch(self, texts: list[str]) -> object:
            seen.extend(len(t) for t in texts)
            return real.encode_batch(texts)  # type: ignore[union-attr]

    text = "word " * 400_000
    embedder._tokenizer = Recording()  # type: ignore[assignment]
    try:
        vec = embedder.embed([text])[0]
    finally:
        embedder._tokenizer = real
    bound = embedder.max_length * CHARS_PER_TOKEN
    assert seen == [bound]
    assert np.allclose(vec, embedder.embed([text[:bound]])[0], atol=1e-6)
