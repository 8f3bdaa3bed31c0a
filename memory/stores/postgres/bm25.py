"""BM25 over PostgreSQL full text, computed in one SQL statement from the GIN matches.

PostgreSQL's own rankings (``ts_rank``, ``ts_rank_cd``) have no inverse document frequency: a
word in every chunk counts as much as a name said once. This ranks a namespace's matches with
Okapi BM25 exactly as SQLite's FTS5 ``bm25()`` does (k1 = 1.2, b = 0.75, the same IDF with its
floor), from what the database already holds:

- the matches: chunks of the namespace whose ``tsv`` matches the OR of the query terms (the GIN
  index), each term through ``plainto_tsquery`` so that no user text is parsed as tsquery syntax;
- term frequency: the positions of each query lexeme in a match's ``tsv``, picked out in C
  (``setweight`` marks the query's lexemes, ``ts_filter`` keeps them) before ``unnest``;
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
SCAN_BELOW = 50_000  # a namespace with fewer chunks is read first, then matched (measured: module doc)


def bm25_query(
    terms: Sequence[str],
    namespace: str,
    k: int,
    sessions: Sequence[str] | None = None,
    *,
    scan_below: int = SCAN_BELOW,
    among: str | None = None,
) -> tuple[str, list[Any]]:
    """The SQL and parameters for the top ``k`` chunks of ``namespace`` for ``terms``: rows of
    ``(chunk id, BM25 score)``, best first (ties by id).

    The matches come from one of two branches, chosen in the statement by ``namespaces.chunks``
    (the other branch is never run: a one-time filter): below ``scan_below`` chunks, the
    namespace's rows are read through ``chunks_by_ns`` and then matched; otherwise the GIN index
    finds the matches of the whole table, intersected with the namespace. Both give the same rows.
    ``among`` (a ``bigint[]`` literal of chunk ids: a point in the history) narrows the matches
    returned as ``sessions`` does, not the statistics."""
    match = " || ".join(["plainto_tsquery('english', %s)"] * len(terms))
    conds = (["t.session = ANY(%s)"] if sessions else []) + (["t.id = ANY(%s::bigint[])"] if among is not None else [])
    only = ("WHERE " + " AND ".join(conds)) if conds else ""
    sql = f"""
WITH st AS MATERIALIZED (
    SELECT greatest(chunks, 1)::float8 AS docs, greatest(chunk_tokens::float8 / greatest(chunks, 1), 1) AS avgdl,
           {K1}::float8 AS k1, {B}::float8 AS b, chunks < %s AS small
    FROM namespaces WHERE namespace = %s
), m AS MATERIALIZED (  -- the matches: the namespace's rows first (small), or the GIN's (large)
    SELECT c.id, c.session, c.tokens, c.tsv
    FROM (SELECT id, session, tokens, tsv FROM chunks WHERE namespace = %s OFFSET 0) c
    WHERE (SELECT small FROM st) AND c.tsv @@ ({match})
    UNION ALL
    SELECT c.id, c.session, c.tokens, c.tsv FROM chunks c
    WHERE NOT (SELECT small FROM st) AND c.namespace = %s AND c.tsv @@ ({match})
), t AS MATERIALIZED (  -- per match, the query's lexemes (setweight marks them, ts_filter keeps them)
    SELECT m.id, m.session, m.tokens, u.lexeme, cardinality(u.positions) AS tf FROM m CROSS JOIN LATERAL
    unnest(ts_filter(setweight(m.tsv, 'A', tsvector_to_array(to_tsvector('english', %s))), '{{a}}')) u
), df AS (
    SELECT t.lexeme, greatest(ln((st.docs - count(*) + 0.5::float8) / (count(*) + 0.5::float8)), {IDF_FLOOR}) AS idf
    FROM t CROSS JOIN st GROUP BY t.lexeme, st.docs
)
SELECT t.id, sum(df.idf * t.tf * (st.k1 + 1) / (t.tf + st.k1 * (1 - st.b + st.b * t.tokens / st.avgdl)))
FROM t JOIN df USING (lexeme) CROSS JOIN st
{only}
GROUP BY t.id ORDER BY 2 DESC, t.id LIMIT %s
"""
    args: list[Any] = [int(scan_below), namespace, namespace, *terms, namespace, *terms, " ".join(terms)]
    if sessions:
        args.append(list(sessions))
    if among is not None:
        args.append(among)
    args.append(k)
    return sql, args
