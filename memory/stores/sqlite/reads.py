"""The SQLite store's reads of the log: seqs and positions, sessions, messages, tool-call links."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from memory.stores.rows import MessageRow, ToolLink
from memory.stores.sqlite.connection import SQLiteBase

MSG_COLS = "id, namespace, session, seq, pos, role, ts, tokens, data"
_MSG_COLS_M = ", ".join("m." + c.strip() for c in MSG_COLS.split(","))


def msg_row(r: tuple[Any, ...]) -> MessageRow:
    return MessageRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]))


class LogReads(SQLiteBase):
    """Everything read from the messages, sessions, namespaces and tool_calls tables."""

    def last_seq(self, namespace: str, session: str) -> int:
        row = (
            self._conn()
            .execute("SELECT last_seq FROM sessions WHERE namespace=? AND session=?", (namespace, session))
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    def last_pos(self, namespace: str) -> int:
        row = self._conn().execute("SELECT last_pos FROM namespaces WHERE namespace=?", (namespace,)).fetchone()
        return 0 if row is None else int(row[0])

    def namespaces(self) -> list[str]:
        return [r[0] for r in self._conn().execute("SELECT namespace FROM namespaces ORDER BY namespace")]

    def sessions(self, namespace: str) -> list[dict[str, Any]]:
        rows = self._conn().execute(
            "SELECT session, last_seq, created_at, updated_at FROM sessions WHERE namespace=? "
            "ORDER BY created_at, session",
            (namespace,),
        )
        return [{"session": r[0], "last_seq": r[1], "created_at": r[2], "updated_at": r[3]} for r in rows]

    def messages_since(
        self, namespace: str, session: str, since: int = 0, limit: int | None = None
    ) -> list[MessageRow]:
        sql = f"SELECT {MSG_COLS} FROM messages WHERE namespace=? AND session=? AND seq>? ORDER BY seq"
        args: tuple[Any, ...] = (namespace, session, since)
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        return [msg_row(r) for r in self._conn().execute(sql, args)]

    def tail(
        self, namespace: str, session: str | None, before_pos: int | None = None, limit: int = 64
    ) -> list[MessageRow]:
        """The latest messages (newest first) of a session, or of the whole namespace."""
        if session is None:
            sql = f"SELECT {MSG_COLS} FROM messages WHERE namespace=?"
            args: tuple[Any, ...] = (namespace,)
        else:
            sql = f"SELECT {MSG_COLS} FROM messages WHERE namespace=? AND session=?"
            args = (namespace, session)
        if before_pos is not None:
            sql += " AND pos<?"
            args += (before_pos,)
        sql += " ORDER BY pos DESC LIMIT ?"
        return [msg_row(r) for r in self._conn().execute(sql, (*args, limit))]

    def messages_by_pos(self, namespace: str, positions: Iterable[int]) -> dict[int, MessageRow]:
        pos = list(dict.fromkeys(positions))
        out: dict[int, MessageRow] = {}
        conn = self._conn()
        for start in range(0, len(pos), 500):
            batch = pos[start : start + 500]
            sql = f"SELECT {MSG_COLS} FROM messages WHERE namespace=? AND pos IN ({','.join('?' * len(batch))})"
            for r in conn.execute(sql, (namespace, *batch)):
                row = msg_row(r)
                out[row.pos] = row
        return out

    def messages_by_seq(self, namespace: str, session: str, seqs: Iterable[int]) -> dict[int, MessageRow]:
        s = list(dict.fromkeys(seqs))
        out: dict[int, MessageRow] = {}
        conn = self._conn()
        for start in range(0, len(s), 500):
            batch = s[start : start + 500]
            sql = (
                f"SELECT {MSG_COLS} FROM messages WHERE namespace=? AND session=? "
                f"AND seq IN ({','.join('?' * len(batch))})"
            )
            for r in conn.execute(sql, (namespace, session, *batch)):
                row = msg_row(r)
                out[row.seq] = row
        return out

    def messages_by_keys(self, namespace: str, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], MessageRow]:
        """Messages by (session, seq) across sessions, one query per 400 keys."""
        out: dict[tuple[str, int], MessageRow] = {}
        conn = self._conn()
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), 400):
            batch = keys[start : start + 400]
            params: list[object] = []
            for session, seq in batch:
                params += [session, int(seq)]
            params.append(namespace)
            values = ",".join("(?,?)" for _ in batch)
            # driven by the keys through the (namespace, session, seq) unique index: O(keys log n)
            sql = (
                f"WITH k(session, seq) AS (VALUES {values}) SELECT {_MSG_COLS_M} FROM k "
                "CROSS JOIN messages m ON m.namespace=? AND m.session=k.session AND m.seq=k.seq"
            )
            for r in conn.execute(sql, params):
                row = msg_row(r)
                out[(row.session, row.seq)] = row
        return out

    def all_messages(self, namespace: str, session: str | None = None) -> list[MessageRow]:
        if session is None:
            rows = self._conn().execute(f"SELECT {MSG_COLS} FROM messages WHERE namespace=? ORDER BY pos", (namespace,))
        else:
            rows = self._conn().execute(
                f"SELECT {MSG_COLS} FROM messages WHERE namespace=? AND session=? ORDER BY seq", (namespace, session)
            )
        return [msg_row(r) for r in rows]

    def tool_links(
        self, namespace: str, session: str, *, call_seqs: Iterable[int] = (), call_ids: Iterable[str] = ()
    ) -> list[ToolLink]:
        """``(call_id, call_seq, result_seq)`` rows for calls made at these seqs or with these ids."""
        out: list[ToolLink] = []
        conn = self._conn()
        for column, values in (("call_seq", list(call_seqs)), ("call_id", list(call_ids))):
            if values:
                sql = (
                    "SELECT call_id, call_seq, result_seq FROM tool_calls WHERE namespace=? AND session=? "
                    f"AND {column} IN ({','.join('?' * len(values))})"
                )
                out.extend(conn.execute(sql, (namespace, session, *values)).fetchall())
        return out

    def session_tool_links(self, namespace: str, session: str) -> list[ToolLink]:
        """Every ``(call_id, call_seq, result_seq)`` of a session, in call order."""
        return (
            self._conn()
            .execute(
                "SELECT call_id, call_seq, result_seq FROM tool_calls WHERE namespace=? AND session=? "
                "ORDER BY call_seq, rowid",
                (namespace, session),
            )
            .fetchall()
        )

    def update_message_tokens(self, tokens: dict[int, int]) -> None:
        with self._write() as conn:
            conn.executemany("UPDATE messages SET tokens=? WHERE id=?", [(t, i) for i, t in tokens.items()])

    def iter_message_rows(self) -> Iterator[MessageRow]:
        for r in self._conn().execute(f"SELECT {MSG_COLS} FROM messages ORDER BY id"):
            yield msg_row(r)
