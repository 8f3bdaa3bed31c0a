"""Rolling summaries of :class:`memory.memory.Memory`: condense a session's older turns.

A summary is a system message in the companion session ``<session>::summaries``, written through
the write path like a turn (so it is chunked, indexed and searchable) and saying which seqs it
covers. With a :class:`memory.session.summaries.RollingSummary` policy, a write that takes a session past
``every + keep_last`` unsummarized turns queues one on the indexer (or writes it at once with
``index_writes="sync"``).
"""

from __future__ import annotations

from memory.errors import Conflict, InvalidArgument
from memory.models import StoredMessage
from memory.parts import MemoryParts
from memory.session.summaries import ExtractiveSummarizer, Summarizer, summary_session
from memory.validation import DEFAULT_NAMESPACE, check_name


class Summaries(MemoryParts):
    """``summarize`` and ``summaries``, and the rolling policy's step after a write."""

    def _roll_summary(self, namespace: str, session: str, last_seq: int) -> None:
        """The rolling policy's step after a write that took ``session`` to ``last_seq``."""
        policy = self.rolling_summary
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

    def summaries(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StoredMessage]:
        """The session's summaries, oldest first (each covers ``metadata["summary_of"]``)."""
        return self.since(summary_session(session), 0, namespace=namespace)

    def summarize(
        self,
        session: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        keep_last: int = 50,
        min_turns: int = 20,
        max_tokens: int = 400,
        summarizer: Summarizer | None = None,
    ) -> StoredMessage | None:
        """Condense the turns after the last summary, except the newest ``keep_last``, into one
        summary message (if there are at least ``min_turns`` of them); returns it, or None.

        The summary lives in the companion session ``<session>::summaries``, is indexed like a
        turn, and says which seqs it covers. Concurrent calls store one summary per range:
        the write is conditional on the companion session not having moved.
        """
        check_name(session, "session")
        check_name(namespace, "namespace")
        for name, value, low in (
            ("keep_last", keep_last, 0),
            ("min_turns", min_turns, 1),
            ("max_tokens", max_tokens, 16),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise InvalidArgument(f"{name}: give an int >= {low} (got {value!r})", field=name)
        target = summary_session(session)
        base, covered = self._last_summary(namespace, session)  # one read: the write below is conditional on it
        start = covered + 1
        end = self.store.last_seq(namespace, session) - keep_last
        if end - start + 1 < min_turns:
            return None
        turns = [m for m in self.since(session, start - 1, namespace=namespace) if m.seq <= end]
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
            [seq], _ = self._store(
                self.prepare([message]), target, namespace, base_seq=base, idempotency_key=f"summary-{end}"
            )
        except Conflict:
            return None  # another writer summarized first; its summary stands
        return self.since(target, seq - 1, namespace=namespace, limit=1)[0]
