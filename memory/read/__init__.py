"""The read path: from a query to a budgeted context.

:mod:`~memory.read.config` (``AssembleConfig``), :mod:`~memory.read.retrieval` (the query,
candidates, scoring, neighbours, MMR), :mod:`~memory.read.packing` (rendering under the budget),
:mod:`~memory.read.assemble` (the whole algorithm) and :mod:`~memory.read.reader` (``Reader``:
``Memory``'s reads). May import ``memory.models``, ``memory.errors``, ``memory.tokens``,
``memory.embedders``, ``memory.validation``, ``memory.stores`` (protocols and rows),
``memory.session`` (pinned state), ``retrievers`` and ``indexers``; never ``memory.write``,
``memory.service``, ``memory.client``, ``memory.cli`` or ``eval``.
"""
