"""The write path: chunking, the writer (prepare, append), the background indexer and index sync.

:mod:`~memory.write.chunking` splits messages into token-bounded chunks;
:mod:`~memory.write.prepare` validates, timestamps, counts and chunks a write (``prepare``);
:mod:`~memory.write.writer` stores it and hands its chunks to the indexer (``Writer``: ``Memory.add``);
:mod:`~memory.write.indexer` embeds stored chunks off the caller's path (the steps, claims included, in
:mod:`~memory.write.pending`);
:mod:`~memory.write.index_sync` keeps a derived index (FAISS, Chroma) in step with the log;
:mod:`~memory.write.index_handle` holds the index, its sync (none for pgvector) and the lock.
May import ``memory.models``, ``memory.errors``, ``memory.tokens``, ``memory.validation``,
``memory.embedders``, ``memory.stores``, ``memory.session`` and ``indexers``; never
``memory.read``, ``memory.service``, ``memory.client``, ``memory.cli`` or ``eval``.
"""
