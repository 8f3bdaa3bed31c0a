"""What a session carries besides its turns: pinned state blocks, a stage machine, rolling summaries.

:mod:`~memory.session.state` (``StateBlock``, ``StateMachine``: models and rendering),
:mod:`~memory.session.summaries` (summarizers and the rolling policy),
:mod:`~memory.session.session_states` (``SessionStates``: blocks and machine through the store) and
:mod:`~memory.session.rolling` (``Summaries``: writing summaries through the writer it is given).
May import ``memory.models``, ``memory.errors``, ``memory.tokens``, ``memory.validation``,
``memory.llm`` and ``memory.stores``; never ``memory.read``, ``memory.service``,
``memory.client``, ``memory.cli`` or ``eval``.
"""
