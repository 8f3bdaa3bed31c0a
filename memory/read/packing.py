"""Packing a context: units (a tool call with its results), their costs, the recent window, and
the retrieved hits (the last step of retrieval, :func:`pack_hits`).

A :class:`Packer` holds the state of one assembly: what is in, what it cost, and how a
message joins (whole, by its retrieved parts, or as a stub), always as a whole unit so a
call never travels without its results. :func:`render` turns a stored message (or some of
its chunks) into the OpenAI dict that is counted and sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from memory.models import Hit, MessageRef
from memory.read.candidates import Pool
from memory.read.config import AssembleConfig
from memory.read.ranking import Ranked
from memory.stores.base import ContextStore
from memory.stores.rows import ChunkRow, MessageRow
from memory.tokens import TokenCounter, count_message

UNIT_KINDS = ("tool_call", "tool_result")  # chunks of messages that travel in a unit (call + results)
NEIGHBORS_AHEAD = 64  # neighbours' first chunks read in the first query when packing reaches one
ROWS_AHEAD = 32  # the fewest message rows read in one query when packing reaches one not read yet


@dataclass
class Item:
    """One rendered message in the context, with how it got there."""

    row: MessageRow
    rendered: dict[str, Any]
    tokens: int
    origin: Literal["window", "retrieved"]
    partial: bool = False
    parts: set[int] = field(default_factory=set)
    unit_key: tuple[str, int] = ("", 0)
    unit_order: int = 0


class Packer:
    """State of one assembly: what is in, what it cost, and how to add a unit."""

    def __init__(self, store: ContextStore, counter: TokenCounter, namespace: str, config: AssembleConfig) -> None:
        self.store = store
        self.counter = counter
        self.namespace = namespace
        self.config = config
        self.items: dict[tuple[str, int], Item] = {}  # (session, seq) -> item
        self.used = 0
        self.pending: list[MessageRef] = []
        self.window_count = 0
        self._rows: dict[tuple[str, int], MessageRow] = {}

    # -- rows and units --------------------------------------------------------------------

    def remember(self, rows: Sequence[MessageRow]) -> None:
        for r in rows:
            self._rows[(r.session, r.seq)] = r

    def rows(self, session: str, seqs: Sequence[int]) -> list[MessageRow]:
        missing = [s for s in seqs if (session, s) not in self._rows]
        if missing:
            self.remember(list(self.store.messages_by_seq(self.namespace, session, missing).values()))
        return [self._rows[(session, s)] for s in seqs if (session, s) in self._rows]

    def rows_for(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], MessageRow]:
        """Rows of (session, seq) keys across sessions, in one query for those not seen yet."""
        missing = [k for k in dict.fromkeys(keys) if k not in self._rows]
        if missing:
            self.remember(list(self.store.messages_by_keys(self.namespace, missing).values()))
        return {k: self._rows[k] for k in keys if k in self._rows}

    def unit(self, row: MessageRow) -> list[MessageRow] | None:
        """The message with everything it must travel with, call first; None if pending."""
        if row.role == "tool":
            links = self.store.tool_links(self.namespace, row.session, call_ids=[row.data["tool_call_id"]])
            if not links:  # pragma: no cover - the log rejects orphan results
                return None
            call = self.rows(row.session, [links[0][1]])
            return self.unit(call[0]) if call else None
        if row.role == "assistant" and row.data.get("tool_calls"):
            links = self.store.tool_links(self.namespace, row.session, call_seqs=[row.seq])
            if any(result is None for _, _, result in links):
                ref = MessageRef(namespace=self.namespace, session=row.session, seq=row.seq)
                if ref not in self.pending:
                    self.pending.append(ref)
                return None
            results = sorted({int(r) for _, _, r in links if r is not None})
            return [row, *self.rows(row.session, results)]
        return [row]

    # -- costs -----------------------------------------------------------------------------

    def full(self, row: MessageRow, origin: Literal["window", "retrieved"], key: tuple[str, int], order: int) -> Item:
        if self.config.text_only and isinstance(row.data.get("content"), list):
            rendered = render(row, text_only=True)  # images and files as their surrogates: recount
            return Item(row, rendered, count_message(self.counter, rendered), origin, unit_key=key, unit_order=order)
        rendered = render(row)
        return Item(row, rendered, row.tokens, origin, unit_key=key, unit_order=order)

    def partial(self, row: MessageRow, chunks: Sequence[ChunkRow], key: tuple[str, int], order: int) -> Item:
        parts = {c.part for c in chunks}
        rendered = render(row, chunks=sorted(chunks, key=lambda c: c.part), parts_total=chunks[0].parts)
        tokens = count_message(self.counter, rendered)
        return Item(row, rendered, tokens, "retrieved", partial=True, parts=parts, unit_key=key, unit_order=order)

    def stub(self, row: MessageRow, key: tuple[str, int], order: int) -> Item:
        rendered = render(row)
        rendered["content"] = f"[tool output omitted from memory: {row.tokens} tokens]"
        tokens = count_message(self.counter, rendered)
        return Item(row, rendered, tokens, "retrieved", partial=True, unit_key=key, unit_order=order)

    def try_add(self, items: Sequence[Item], limit: int) -> bool:
        """Add items (replacing partial versions of the same message) if they fit ``limit``."""
        delta = 0
        for it in items:
            old = self.items.get((it.row.session, it.row.seq))
            delta += it.tokens - (old.tokens if old else 0)
        if self.used + delta > limit:
            return False
        for it in items:
            self.items[(it.row.session, it.row.seq)] = it
        self.used += delta
        return True

    def has(self, row: MessageRow) -> bool:
        return (row.session, row.seq) in self.items

    # -- window ----------------------------------------------------------------------------

    def window(
        self,
        session: str | None,
        limit: int,
        start_pos: int | None = None,
        *,
        room: int | None = None,
        now: float | None = None,
        conversation: bool = False,
    ) -> int | None:
        """Add newest units while they fit; return the pos to continue from (None: exhausted).

        A unit bigger than the whole ``room`` could never be shown whole: it is passed over
        (retrieval may still show its relevant parts) instead of ending the window, so one
        huge message or tool output does not hide every turn before it. With ``conversation``
        (a query will retrieve the rest), the window is the current conversation: it ends at
        a pause longer than ``window_gap_hours`` (from ``now`` to the newest turn, or between
        two turns).
        """
        before = start_pos
        gap = self.config.window_gap_hours
        gap_s = gap * 3600.0 if (gap is not None and conversation) else None
        last_ts = now
        cap = self.config.window_max_messages
        batch = 8 if (cap is not None and start_pos is None) else 64  # a capped window needs few rows
        while True:
            rows = self.store.tail(self.namespace, session, before_pos=before, limit=batch)
            if not rows:
                return None
            self.remember(rows)
            for row in rows:
                if gap_s is not None:
                    if last_ts is not None and last_ts - row.ts > gap_s:
                        return row.pos + 1  # an earlier conversation: retrieval's, then the fill's
                    last_ts = row.ts
                before = row.pos
                if self.has(row):
                    continue
                unit = self.unit(row)
                if unit is None:
                    continue  # a pending call: skipped, reported
                key = (unit[0].session, unit[0].seq)
                items = [self.full(r, "window", key, i) for i, r in enumerate(unit) if not self._full_in(r)]
                if not items:
                    continue
                if cap is not None and self.window_count + len(items) > cap and start_pos is None:
                    return row.pos + 1
                if not self.try_add(items, limit):
                    if room is not None and sum(r.tokens for r in unit) > room:
                        continue
                    return row.pos + 1
                self.window_count += len(items)
            if len(rows) < batch:
                return None
            batch = min(batch * 4, 256)

    def _full_in(self, row: MessageRow) -> bool:
        it = self.items.get((row.session, row.seq))
        return it is not None and not it.partial


def render(
    row: MessageRow, *, chunks: Sequence[ChunkRow] = (), parts_total: int = 1, text_only: bool = False
) -> dict[str, Any]:
    """The stored message as an OpenAI dict; with ``chunks``, only those pieces of its text."""
    msg = row.message()
    data = msg.to_openai(text_only=text_only)
    if chunks:
        pieces = []
        last = -1
        for c in chunks:
            if c.part != last + 1:
                pieces.append("[…]")
            pieces.append(c.text)
            last = c.part
        if last != parts_total - 1:
            pieces.append("[…]")
        data["content"] = "\n".join(pieces)
        if msg.tool_calls:
            data.pop("content", None)
            data["content"] = None
    return data


def unit_pos(packer: Packer, item: Item) -> int:
    head = packer.items.get(item.unit_key)
    return head.row.pos if head is not None else item.row.pos


def unit_items(
    packer: Packer, row: MessageRow, chunk: ChunkRow, shown: dict[tuple[str, int], list[ChunkRow]]
) -> list[Item] | None:
    """Items to add for a hit on ``chunk`` of ``row``: the message (whole or partial) and,
    for tool messages, the rest of its unit."""
    unit = packer.unit(row)
    if unit is None:
        return None
    key = (unit[0].session, unit[0].seq)
    items: list[Item] = []
    for order, member in enumerate(unit):
        mkey = (member.session, member.seq)
        existing = packer.items.get(mkey)
        if member.seq == row.seq and member.session == row.session:
            if chunk.parts > 1:
                chunks = [*shown.get(mkey, []), chunk]
                items.append(packer.partial(member, chunks, key, order))
            elif existing is None or existing.partial:
                items.append(packer.full(member, "retrieved", key, order))
        elif existing is None:
            if member.role == "tool" and member.tokens > packer.config.stub_tokens:
                items.append(packer.stub(member, key, order))
            else:
                items.append(packer.full(member, "retrieved", key, order))
    return items


def pack_hits(packer: Packer, ranked: Ranked, room: int) -> list[Hit]:
    """Add the ranked candidates greedily, in their order, while the context has ``room``: each
    as its whole unit (a tool result brings its call), a chunk of a long message as that part.
    Rows are read only for the candidates packing reaches, a batch at a time."""
    pool, order = ranked.pool, ranked.order
    hits: list[Hit] = []
    shown_parts: dict[tuple[str, int], list[ChunkRow]] = {}
    rows_by_key: dict[tuple[str, int], MessageRow] = {}
    asked: set[tuple[str, int]] = set()

    def hit(j: int, c: ChunkRow, role: str, reason: str) -> Hit:
        return c.hit(role=role, rank=len(hits) + 1, scores=ranked.scores(j), reason=reason)

    for at, j in enumerate(order):
        if not pool.fetched[j]:  # a neighbour: read its first chunk with the next ones packing reaches
            # (the next NEIGHBORS_AHEAD the first time; all the others the second: packing that gets
            # this far usually runs to the end of the list, looking for something small enough)
            ahead = [i for i in order[at:] if not pool.fetched[i]]
            pool.fill(ahead if pool.fills else ahead[:NEIGHBORS_AHEAD])
        meta = pool.cands[j]
        if meta is None:
            continue  # a neighbour that does not exist, or over neighbor_tokens
        c = meta.chunk
        key = pool.keys[j]
        existing = packer.items.get(key)
        if existing is not None and (not existing.partial or c.part in existing.parts):
            # Already in the context (recent window, or brought by an earlier hit's unit).
            if ranked.reasons[j] != "neighbor":
                hits.append(hit(j, c, existing.row.role, f"retrieved; already in context ({existing.origin})"))
            continue
        if packer.used >= room:
            break
        if existing is None and c.tokens > room - packer.used:
            continue  # its own text alone cannot fit: skip building its unit (tool links, rendering, counts)
        if c.parts == 1 and c.kind not in UNIT_KINDS and meta.tokens > room - packer.used:
            continue  # a plain whole message that cannot fit (its token count is in its meta): no row read
        if key not in asked:  # read this row with the next ones packing will reach
            ahead_keys = _ahead(pool, order, at, asked, 2 * (room - packer.used))
            rows_by_key.update(packer.rows_for(ahead_keys))
            asked.update(ahead_keys)
        row = rows_by_key.get(key)
        if row is None:
            continue
        items = unit_items(packer, row, c, shown_parts)
        if items is None:
            continue
        if not packer.try_add(items, room):
            continue
        shown_parts.setdefault(key, []).append(c)
        hits.append(hit(j, c, row.role, ranked.reasons[j]))
    return hits


def _ahead(
    pool: Pool, order: Sequence[int], at: int, asked: set[tuple[str, int]], tokens: int
) -> list[tuple[str, int]]:
    """The messages packing is about to reach from ``order[at]``, not read yet: at least
    ``ROWS_AHEAD`` and until their chunks add up to ``tokens`` (twice the room left: about what
    packing will get through before the budget is full), so that most contexts read their
    candidates' rows in one or two queries. A neighbour not read yet counts no tokens."""
    keys: dict[tuple[str, int], None] = {}
    for i in order[at:]:
        key = pool.keys[i]
        if key in asked or key in keys or not pool.exists(i):
            continue
        keys[key] = None
        c = pool.cands[i]
        tokens -= c.chunk.tokens if c is not None else 0
        if tokens <= 0 and len(keys) >= ROWS_AHEAD:
            break
    return list(keys)
