"""The PostgreSQL store's reads of the log: seqs and positions, sessions, messages, tool-call links."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from memory.stores.postgres.connection import PgBase, bigint_array, text_array
from memory.stores.rows import MessageRow, ToolLink

MSG_COLS = "id, namespace, session, seq, pos, role, ts, tokens, data"
_MSG_COLS_M = ", ".join("m." + c.strip() for c in MSG_COLS.split(","))


def msg_row(r: Sequence[Any]) -> MessageRow:
    return MessageRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]))  # psycopg: int, float


class LogReads(PgBase):
    """Everything read from the messages, sessions, namespaces and tool_calls tables."""

    def _rows(self, sql: str, args: Sequence[Any]) -> list[MessageRow]:
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()  # one call: iterating the cursor costs a Python call per row
        return [msg_row(r) for r in rows]

    def last_seq(self, namespace: str, session: str) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT last_seq FROM sessions WHERE namespace=%s AND session=%s", (namespace, session)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def last_pos(self, namespace: str) -> int:
        with self._read() as conn:
            row = conn.execute("SELECT last_pos FROM namespaces WHERE namespace=%s", (namespace,)).fetchone()
        return 0 if row is None else int(row[0])

    def namespaces(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in conn.execute('SELECT namespace FROM namespaces ORDER BY namespace COLLATE "C"')]

    def sessions(self, namespace: str) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT session, last_seq, created_at, updated_at FROM sessions WHERE namespace=%s "
                'ORDER BY created_at, session COLLATE "C"',
                (namespace,),
            ).fetchall()
        return [{"session": r[0], "last_seq": int(r[1]), "created_at": r[2], "updated_at": r[3]} for r in rows]

    def messages_since(
        self, namespace: str, session: str, since: int = 0, limit: int | None = None
    ) -> list[MessageRow]:
        return self._rows(
            f"SELECT {MSG_COLS} FROM messages WHERE namespace=%s AND session=%s AND seq>%s ORDER BY seq LIMIT %s",
            (namespace, session, since, limit),
        )

    def tail(
        self, namespace: str, session: str | None, before_pos: int | None = None, limit: int = 64
    ) -> list[MessageRow]:
        """The latest messages (newest first) of a session, or of the whole namespace."""
        sql = f"SELECT {MSG_COLS} FROM messages WHERE namespace=%s"
        args: list[Any] = [namespace]
        if session is not None:
            sql += " AND session=%s"
            args.append(session)
        if before_pos is not None:
            sql += " AND pos<%s"
            args.append(before_pos)
        return self._rows(sql + " ORDER BY pos DESC LIMIT %s", (*args, limit))

    def messages_by_pos(self, namespace: str, positions: Iterable[int]) -> dict[int, MessageRow]:
        pos = bigint_array(dict.fromkeys(positions))
        rows = self._rows(
            f"SELECT {MSG_COLS} FROM messages WHERE namespace=%s AND pos = ANY(%s::bigint[])", (namespace, pos)
        )
        return {r.pos: r for r in rows}

    def messages_by_seq(self, namespace: str, session: str, seqs: Iterable[int]) -> dict[int, MessageRow]:
        rows = self._rows(
            f"SELECT {MSG_COLS} FROM messages WHERE namespace=%s AND session=%s AND seq = ANY(%s::bigint[])",
            (namespace, session, bigint_array(dict.fromkeys(seqs))),
        )
        return {r.seq: r for r in rows}

    def messages_by_keys(self, namespace: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], MessageRow]:
        """Messages by (session, seq) across sessions, driven by the keys through the unique index."""
        keys = list(dict.fromkeys(keys))
        rows = self._rows(
            f"SELECT {_MSG_COLS_M} FROM unnest(%s::text[], %s::bigint[]) AS k(session, seq) "
            "JOIN messages m ON m.namespace=%s AND m.session=k.session AND m.seq=k.seq",
            (text_array(k[0] for k in keys), bigint_array(k[1] for k in keys), namespace),
        )
        return {(r.session, r.seq): r for r in rows}

    def all_messages(self, namespace: str, session: str | None = None) -> list[MessageRow]:
        if session is None:
            return self._rows(f"SELECT {MSG_COLS} FROM messages WHERE namespace=%s ORDER BY pos", (namespace,))
        return self._rows(
            f"SELECT {MSG_COLS} FROM messages WHERE namespace=%s AND session=%s ORDER BY seq", (namespace, session)
        )

    def iter_message_rows(self) -> Iterator[MessageRow]:
        last = 0
        while True:
            rows = self._rows(f"SELECT {MSG_COLS} FROM messages WHERE id>%s ORDER BY id LIMIT 1000", (last,))
            if not rows:
                return
            last = rows[-1].id
            yield from rows

    def update_message_tokens(self, tokens: dict[int, int]) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE messages m SET tokens = k.tokens FROM unnest(%s::bigint[], %s::int[]) AS k(id, tokens) "
                "WHERE m.id = k.id",
                (list(tokens), list(tokens.values())),
            )

    def tool_links(
        self, namespace: str, session: str, *, call_seqs: Iterable[int] = (), call_ids: Iterable[str] = ()
    ) -> list[ToolLink]:
        """``(call_id, call_seq, result_seq)`` rows for calls made at these seqs or with these ids."""
        out: list[ToolLink] = []
        with self._read() as conn:
            for column, values in (("call_seq", [int(c) for c in call_seqs]), ("call_id", list(call_ids))):
                if values:
                    out += conn.execute(
                        "SELECT call_id, call_seq, result_seq FROM tool_calls WHERE namespace=%s AND session=%s "
                        f"AND {column} = ANY(%s)",
                        (namespace, session, values),
                    ).fetchall()
        return out

    def session_tool_links(self, namespace: str, session: str) -> list[ToolLink]:
        """Every ``(call_id, call_seq, result_seq)`` of a session, in call order."""
        with self._read() as conn:
            return conn.execute(
                "SELECT call_id, call_seq, result_seq FROM tool_calls WHERE namespace=%s AND session=%s "
                "ORDER BY call_seq, ord",
                (namespace, session),
            ).fetchall()
