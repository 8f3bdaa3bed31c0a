"""What every store takes and gives back: prepared writes, stored rows, name checks, and the
wording of the errors a store raises (one text per mistake, whichever store raises it)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from memory.errors import Conflict, IdempotencyConflict, InvalidArgument, InvalidMessage, NotFound
from memory.models import Hit, Message, StoredMessage

# (call_id, call_seq, result_seq): one tool call and where its result is, if it came
ToolLink = tuple[str, int, "int | None"]
# name -> (version, JSON value or None when removed, updated_at)
StateRow = tuple[int, "str | None", float]


@dataclass
class PreparedChunk:
    """A chunk ready to store: its text, token count, kind, position and vector."""

    part: int
    parts: int
    kind: str
    text: str
    tokens: int
    vector: np.ndarray


@dataclass
class PreparedMessage:
    message: Message
    ts: float
    tokens: int
    chunks: list[PreparedChunk]


@dataclass
class AppendResult:
    seqs: list[int]
    new_chunk_ids: list[int]
    new_chunk_sessions: list[str]
    new_vectors: np.ndarray | None
    replayed: bool = False


@dataclass
class PendingClaim:
    """Chunks without a vector that one indexer now holds (``rows``: ``(id, text, speaker name)`` in
    id order) and, of the ids it asked for, those another process holds (``busy``: wait for them)."""

    rows: list[tuple[int, str, str | None]]
    busy: list[int]


@dataclass
class ChunkRow:
    id: int
    message_id: int
    namespace: str
    session: str
    seq: int
    part: int
    parts: int
    kind: str
    text: str
    tokens: int

    def hit(self, *, role: str, rank: int, scores: dict[str, float], reason: str = "retrieved") -> Hit:
        return Hit(
            chunk_id=self.id,
            text=self.text,
            namespace=self.namespace,
            session=self.session,
            seq=self.seq,
            part=self.part,
            parts=self.parts,
            role=role,
            rank=rank,
            scores=scores,
            reason=reason,
            tokens=self.tokens,
        )


CHUNK_COLS = "id, message_id, namespace, session, seq, part, parts, kind, text, tokens"  # ChunkRow's fields
#: a candidate's columns (:class:`CandidateRow` without the name), from ``chunks c`` joined to ``messages m``
CANDIDATE_COLS = ", ".join("c." + c.strip() for c in CHUNK_COLS.split(",")) + ", m.pos, m.ts, m.role, m.tokens"


@dataclass
class CandidateRow:
    """A retrieval candidate: its chunk and what scoring and packing read of its message (position,
    time, role, token cost, and the speaker's ``name`` when asked for), in one query without the
    message's body."""

    chunk: ChunkRow
    pos: int
    ts: float
    role: str
    tokens: int
    name: str | None = None

    @classmethod
    def of(cls, r: Sequence[Any]) -> CandidateRow:
        """From a row of :data:`CANDIDATE_COLS` (and the name, if selected)."""
        return cls(ChunkRow(*r[:10]), *r[10:])


@dataclass
class MessageRow:
    id: int
    namespace: str
    session: str
    seq: int
    pos: int
    role: str
    ts: float
    tokens: int
    data: dict[str, Any]

    def message(self) -> Message:
        return Message.model_validate(self.data)

    def stored(self) -> StoredMessage:
        return StoredMessage.model_validate(
            {**self.data, "namespace": self.namespace, "session": self.session, "seq": self.seq}
        )


# -- the errors, worded once -----------------------------------------------------------------


def base_seq_conflict(last_seq: int, base_seq: int) -> Conflict:
    if base_seq > last_seq:  # not a seq this session gave: there is nothing "since" it to fetch
        return Conflict(
            f"base_seq: the session is at seq {last_seq}, and {base_seq} is ahead of it (a seq from "
            f"another session or store?); read the session again and retry with base_seq={last_seq}",
            current_seq=last_seq,
        )
    return Conflict(
        f"base_seq: the session is at seq {last_seq}, not {base_seq}; fetch what you "
        f"missed with since({base_seq}) and retry with base_seq={last_seq}",
        current_seq=last_seq,
    )


def request_fingerprint(messages: Sequence[PreparedMessage], base_seq: int | None) -> str:
    """What an idempotency key answers for: sha256 of the canonical JSON of the messages and
    ``base_seq``. Timestamps are left out: a retry of messages sent without one is stamped anew."""
    records = [{k: v for k, v in m.message.to_record().items() if k != "timestamp"} for m in messages]
    canonical = json.dumps([records, base_seq], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def key_expired(created_at: float, ttl_s: float | None) -> bool:
    """Whether an idempotency key is past its window (None: kept forever)."""
    return ttl_s is not None and created_at < time.time() - ttl_s


def idempotency_mismatch(key: str, session: str, last_seq: int) -> IdempotencyConflict:
    return IdempotencyConflict(
        f"idempotency_key: {key!r} already answered another request to session {session!r} (other "
        "messages or base_seq); nothing was stored. Use a new key for a new request, the same key "
        "only to retry the same one",
        current_seq=last_seq,
    )


def call_id_reused(i: int, call_id: str, session: str) -> InvalidMessage:
    return InvalidMessage(
        f"messages[{i}].tool_calls: call id {call_id!r} is already used in session "
        f"{session!r}; give every tool call a new id",
        field=f"messages[{i}].tool_calls",
    )


def no_such_call(i: int, call_id: str, session: str) -> InvalidMessage:
    field = f"messages[{i}].tool_call_id"
    return InvalidMessage(
        f"{field}: no assistant message in session {session!r} made a tool call with id "
        f"{call_id!r}; add the assistant message with that tool_calls entry first "
        "(in the same add() or an earlier one)",
        field=field,
    )


def call_answered(i: int, call_id: str, result_seq: int) -> InvalidMessage:
    field = f"messages[{i}].tool_call_id"
    return InvalidMessage(
        f"{field}: tool call {call_id!r} already has its result (seq {result_seq}); a retried tool gets a new call id",
        field=field,
    )


def state_conflict(name: str, have: int, want: int) -> Conflict:
    return Conflict(
        f"blocks.{name}: the block is at version {have}, not {want}; read the state again and retry",
        current_seq=have,
    )


SUMMARY_SUFFIX = "::summaries"


def deleted_sessions(session: str) -> tuple[str, str]:
    """What a session delete removes: the session's companion ``<session>::summaries`` (its rolling
    summaries quote its words), then the session itself (so the session's deletion is recorded last)."""
    return (session + SUMMARY_SUFFIX, session)


def nothing_to_delete(namespace: str, session: str | None) -> NotFound:
    what = f"namespace {namespace!r}" if session is None else f"session {session!r} in {namespace!r}"
    return NotFound(f"{what} does not exist")


StateCheck = Callable[[dict[str, StateRow], "str | None"], None]


def plan_state_write(
    current: dict[str, StateRow],
    values: dict[str, str | None],
    *,
    expected: dict[str, int] | None,
    check: StateCheck | None,
    spec: str | None,
    now: float,
) -> dict[str, StateRow]:
    """The rows a conditional state write adds, given the current rows read under the write lock.

    Raises :class:`Conflict` when a block moved past the version the caller read, or whatever
    ``check(current, machine_spec)`` raises (a stage change the session's machine forbids).
    A machine-governed ``stage`` set to the stage it is already in is left out: a no-op move
    writes no new version (see :func:`unchanged_stage`)."""
    for name, want in (expected or {}).items():
        have = current.get(name, (0, None, 0.0))[0]
        if have != want:
            raise state_conflict(name, have, want)
    if check is not None:
        check(current, spec)
    return {
        name: (current.get(name, (0, None, 0.0))[0] + 1, value, now)
        for name, value in values.items()
        if not (spec is not None and unchanged_stage(name, current.get(name), value))
    }


def unchanged_stage(name: str, row: StateRow | None, value: str | None) -> bool:
    """True when ``value`` (JSON text) sets the ``stage`` block to the stage ``row`` holds."""
    return (
        name == "stage"
        and row is not None
        and row[1] is not None
        and value is not None
        and (json.loads(row[1]) == json.loads(value))
    )


REEMBED_BATCH = 256  # chunks embedded and written per step of a re-embedding


def embedded(embed: Callable[[list[str]], np.ndarray], texts: list[str], dim: int | None) -> np.ndarray:
    """``embed(texts)`` as float32 rows, one per text, all of one dimension (``dim`` once known)."""
    vecs = np.ascontiguousarray(embed(texts), dtype=np.float32)
    if vecs.ndim != 2 or vecs.shape[0] != len(texts) or vecs.shape[1] < 1 or (dim is not None and vecs.shape[1] != dim):
        raise InvalidArgument(
            f"embedder: asked for {len(texts)} vectors{'' if dim is None else f' of {dim} dimensions'}, "
            f"got an array of shape {vecs.shape}; nothing was re-embedded",
            field="embedder",
        )
    return vecs
