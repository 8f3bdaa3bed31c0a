"""``prepare``: the first step of a write, which touches no stored state.

Validates the messages, gives each one without a timestamp the call's (default: now), counts
its tokens as sent and splits it into chunks; with an embedder (``index_writes="sync"``) it also
embeds the chunks, else their vectors stay empty for the background indexer to fill in after the
commit. :class:`memory.write.writer.Writer` stores what it makes; the REST service prepares
outside its lock; the store conformance suite (``tests/memory/stores/test_contract.py``) builds
its batches with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import numpy as np

from memory.embedders import Embedder
from memory.errors import InvalidMessage
from memory.models import Message, MessageInput, parse_message
from memory.stores.rows import PreparedChunk, PreparedMessage
from memory.tokens import TokenCounter, count_message
from memory.validation import as_timestamp
from memory.write.chunking import Chunker
from memory.write.pending import embed_text


def prepare(
    messages: Iterable[MessageInput],
    *,
    counter: TokenCounter,
    chunker: Chunker,
    embedder: Embedder | None = None,
    timestamp: Any = None,
) -> list[PreparedMessage]:
    """Validate, timestamp, count and chunk ``messages`` (and embed their chunks with ``embedder``;
    None leaves the vectors empty, to be embedded after the commit)."""
    if isinstance(messages, (dict, Message)):
        raise InvalidMessage("messages: pass a list of messages (wrap a single message in [...])", field="messages")
    try:
        items = list(messages)
    except TypeError:
        raise InvalidMessage("messages: pass a list of OpenAI chat messages", field="messages") from None
    if not items:
        raise InvalidMessage("messages: the list is empty; pass at least one message", field="messages")
    default_ts = time.time() if timestamp is None else as_timestamp(timestamp, "timestamp")
    parsed = [parse_message(m, index=i) for i, m in enumerate(items)]
    prepared: list[PreparedMessage] = []
    texts: list[str] = []
    for msg in parsed:
        ts = msg.timestamp.timestamp() if msg.timestamp is not None else default_ts
        if msg.timestamp is None:
            msg = msg.model_copy(update={"timestamp": datetime.fromtimestamp(ts, tz=timezone.utc)})
        tokens = count_message(counter, msg.to_openai(priced=True))
        pieces = chunker.split(msg)
        chunks = [
            PreparedChunk(
                part=p,
                parts=len(pieces),
                kind=piece.kind,
                text=piece.text,
                tokens=piece.tokens,
                vector=np.zeros(0, dtype=np.float32),  # empty: embedded after the commit
            )
            for p, piece in enumerate(pieces)
        ]
        texts.extend(embed_text(msg.name, piece.text) for piece in pieces)
        prepared.append(PreparedMessage(message=msg, ts=ts, tokens=tokens, chunks=chunks))
    if embedder is not None and texts:
        vectors = embedder.embed(texts)
        for ch, vec in zip((ch for pm in prepared for ch in pm.chunks), vectors):
            ch.vector = vec
    return prepared
