"""The read path: from a query to a budgeted context.

:mod:`~memory.read.config` (``AssembleConfig``); retrieval's steps in order:
:mod:`~memory.read.query_plan` (the query's analysis and a follow-up's expansion),
:mod:`~memory.read.candidates` (gathering), :mod:`~memory.read.ranking` (scores, neighbours, MMR),
:mod:`~memory.read.packing` (rendering under the budget, the window and the hits);
:mod:`~memory.read.assemble` (the whole algorithm), :mod:`~memory.read.as_of` (the same, as of a
point in the history) and :mod:`~memory.read.reader` (``Reader``: ``Memory``'s reads).
May import ``memory.models``, ``memory.errors``, ``memory.tokens``,
``memory.embedders``, ``memory.validation``, ``memory.stores`` (protocols and rows),
``memory.session`` (pinned state), ``retrievers`` and ``indexers``; never ``memory.write``,
``memory.service``, ``memory.client``, ``memory.cli`` or ``eval``.
"""
