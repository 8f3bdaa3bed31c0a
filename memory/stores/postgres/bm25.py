"""BM25 over PostgreSQL full text, computed in one SQL statement from the GIN matches.

PostgreSQL's own rankings (``ts_rank``, ``ts_rank_cd``) have no inverse document frequency: a
word in every chunk counts as much as a name said once. This ranks a namespace's matches with
Okapi BM25 exactly as SQLite's FTS5 ``bm25()`` does (k1 = 1.2, b = 0.75, the same IDF with its
floor), from what the database already holds:

- the matches: chunks of the namespace whose ``tsv`` matches the OR of the query terms (the GIN
  index), each term through ``plainto_tsquery`` so that no user text is parsed as tsquery syntax;
- term frequency: the positions of each query lexeme in a match's ``tsv`` (``unnest(tsv)``);
- document frequency: the number of matches holding the lexeme (every chunk holding a one-word
  term matches; a term that stems to several lexemes, e.g. ``e-mail``, matches only with all);
- N and the average length: ``namespaces.chunks`` and ``namespaces.chunk_tokens``, kept by the
  write that adds or deletes chunks, under the namespace row lock it already holds for ``pos``;
- a chunk's length: ``chunks.tokens`` (the counter's tokens; FTS5 counts words, stop words
  included: a near-constant ratio, and BM25 only uses length over average length).

Statistics are per namespace (FTS5's are per table, across namespaces): a tenant's ranking does
not move with what other tenants write. A ``sessions`` filter narrows the matches returned, not
the statistics, as FTS5 does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

K1 = 1.2
B = 0.75
IDF_FLOOR = 1e-6  # FTS5 floors a non-positive IDF (a word in over half the chunks) here


def bm25_query(
    terms: Sequence[str], namespace: str, k: int, sessions: Sequence[str] | None = None
) -> tuple[str, list[Any]]:
    """The SQL and parameters for the top ``k`` chunks of ``namespace`` for ``terms``: rows of
    ``(chunk id, BM25 score)``, best first (ties by id)."""
    match = " || ".join(["plainto_tsquery('english', %s)"] * len(terms))
    only = "WHERE m.session = ANY(%s)" if sessions else ""
    sql = f"""
WITH m AS MATERIALIZED (
    SELECT c.id, c.session, c.tokens, c.tsv FROM chunks c
    WHERE c.namespace = %s AND c.tsv @@ ({match})
), t AS MATERIALIZED (
    SELECT m.id, u.lexeme, cardinality(u.positions) AS tf FROM m CROSS JOIN LATERAL unnest(m.tsv) u
    WHERE u.lexeme = ANY(tsvector_to_array(to_tsvector('english', %s)))
), df AS (
    SELECT lexeme, count(*) AS n FROM t GROUP BY lexeme
), st AS (
    SELECT greatest(chunks, 1)::float8 AS docs,
           greatest(chunk_tokens::float8 / greatest(chunks, 1), 1.0) AS avgdl
    FROM namespaces WHERE namespace = %s
)
SELECT m.id, sum(
    greatest(ln((st.docs - df.n + 0.5) / (df.n + 0.5)), {IDF_FLOOR})
    * t.tf * {K1 + 1} / (t.tf + {K1} * (1 - {B} + {B} * m.tokens / st.avgdl))
) AS s
FROM t JOIN df USING (lexeme) JOIN m ON m.id = t.id CROSS JOIN st
{only}
GROUP BY m.id ORDER BY s DESC, m.id LIMIT %s
"""
    args: list[Any] = [namespace, *terms, " ".join(terms), namespace]
    if sessions:
        args.append(list(sessions))
    args.append(k)
    return sql, args
