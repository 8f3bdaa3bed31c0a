"""The REST client: :class:`Client` (sync) and :class:`AsyncClient`, twins over the same models.

:mod:`memory.client.requests` builds each call's request and reads its answer (shared by both);
:mod:`memory.client.transport` sends it (keys, retries, errors rebuilt from the answer). The client
imports no store, index or embedder.
"""

from memory.client.clients import AsyncClient, Client

__all__ = ["AsyncClient", "Client"]
