"""``Summaries``: a memory's rolling summaries, which condense a session's older turns.

A summary is a system message in the companion session ``<session>::summaries``, written through
the writer like a turn (so it is chunked, indexed and searchable) and saying which seqs it covers;
the part is given the writer's :meth:`memory.write.writer.Writer.write` and the reader's ``since``
as callables (this layer imports neither). With a :class:`memory.session.summaries.RollingSummary`
policy, the writer runs :meth:`Summaries.roll` after each write: one that takes a session past
``every + keep_last`` unsummarized turns writes a summary (on the indexer, or at once with
``index_writes="sync"``). The summarizers and the policy are :mod:`memory.session.summaries`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from memory.errors import Conflict, InvalidArgument
from memory.models import MAX_INT, MessageInput, StoredMessage
from memory.session.summaries import ExtractiveSummarizer, RollingSummary, Summarizer, summary_session
from memory.stores.base import Store
from memory.tokens import TokenCounter
from memory.validation import check_name


class WriteMessages(Protocol):
    """How the summaries store a summary: the writer's path (chunked, indexed), conditional on ``base_seq``."""

    def __call__(
        self, messages: Sequence[MessageInput], session: str, namespace: str, *, base_seq: int, idempotency_key: str
    ) -> list[int]: ...


class ReadSince(Protocol):
    """How the summaries read a session: the reader's ``since`` (its argument checks included)."""

    def __call__(self, session: str, seq: int, *, namespace: str, limit: int | None) -> list[StoredMessage]: ...


class Summaries:
    """``summarize`` and ``summaries``, and the rolling policy's step after a write (:meth:`roll`)."""

    def __init__(
        self,
        store: Store,
        counter: TokenCounter,
        policy: RollingSummary | None,
        *,
        write: WriteMessages,
        since: ReadSince,
    ) -> None:
        self.store = store
        self.counter = counter
        self.policy = policy
        self._write = write
        self._since = since

    def roll(self, namespace: str, session: str, last_seq: int) -> None:
        """The rolling policy's step after a write that took ``session`` to ``last_seq``."""
        policy = self.policy
        assert policy is not None
        if last_seq - self._last_summary(namespace, session)[1] > policy.every + policy.keep_last:
            self.summarize(
                session,
                namespace=namespace,
                keep_last=policy.keep_last,
                min_turns=policy.every,
                max_tokens=policy.max_tokens,
                summarizer=policy.summarizer,
            )

    def _last_summary(self, namespace: str, session: str) -> tuple[int, int]:
        """``(seq of the session's latest summary, last turn it covers)``; ``(0, 0)`` before the first."""
        last = self.store.tail(namespace, summary_session(session), limit=1)
        if not last:
            return 0, 0
        return last[0].seq, int(last[0].message().metadata.get("summary_of", {}).get("to_seq", 0))

    def summaries(self, session: str, namespace: str) -> list[StoredMessage]:
        """The session's summaries, oldest first."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        return self._since(summary_session(session), 0, namespace=namespace, limit=None)

    def summarize(
        self,
        session: str,
        namespace: str,
        keep_last: int,
        min_turns: int,
        max_tokens: int,
        summarizer: Summarizer | None,
    ) -> StoredMessage | None:
        """Summarize the turns after the last summary but the newest ``keep_last`` (at least
        ``min_turns``) and write it, conditional on the companion session not having moved."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        for name, value, low in (
            ("keep_last", keep_last, 0),
            ("min_turns", min_turns, 1),
            ("max_tokens", max_tokens, 16),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_INT:
                raise InvalidArgument(f"{name}: give an int from {low} to {MAX_INT} (got {value!r})", field=name)
        target = summary_session(session)
        base, covered = self._last_summary(namespace, session)  # one read: the write below is conditional on it
        start = covered + 1
        end = self.store.last_seq(namespace, session) - keep_last
        if end - start + 1 < min_turns:
            return None
        turns = [m for m in self._since(session, start - 1, namespace=namespace, limit=None) if m.seq <= end]
        text = (summarizer or ExtractiveSummarizer()).summarize(turns, max_tokens=max_tokens, counter=self.counter)
        first, last = turns[0].timestamp, turns[-1].timestamp
        when = f", {first:%Y-%m-%d} to {last:%Y-%m-%d}" if first and last else ""
        message = {
            "role": "system",
            "content": f"Summary of session {session}, turns {start}-{end}{when}:\n{text}",
            "timestamp": last,
            "metadata": {"kind": "summary", "summary_of": {"session": session, "from_seq": start, "to_seq": end}},
        }
        try:
            [seq] = self._write([message], target, namespace, base_seq=base, idempotency_key=f"summary-{end}")
        except Conflict:
            return None  # another writer summarized first; its summary stands
        return self._since(target, seq - 1, namespace=namespace, limit=1)[0]
