"""turnmem: a memory layer for LLM chat apps.

``Memory.open(path)`` gives a durable, searchable conversation memory; ``add`` what
happens, ``assemble`` a budgeted context before each model call.

Importing ``memory`` (or ``memory.errors``, which every package may import) loads only the
errors, the models and the session-state models; :data:`_LAZY` names load their module on first
use, and the ``TYPE_CHECKING`` block shows the same names to type checkers.
``tests/memory/test_exported_members.py`` checks that both agree and that ``__all__`` is complete.
"""

import importlib
from typing import TYPE_CHECKING

from memory.errors import (
    BudgetTooSmall,
    Busy,
    Conflict,
    IdempotencyConflict,
    IndexingFailed,
    IndexMismatch,
    InvalidArgument,
    InvalidMessage,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    SchemaMismatch,
    ServiceError,
    StorageError,
    TimedOut,
    TurnmemError,
    UpstreamError,
)
from memory.models import (
    Chunk,
    Context,
    FilePart,
    Hit,
    ImagePart,
    Message,
    MessageRef,
    Source,
    StoredMessage,
    TextPart,
    ToolCall,
    ToolCallState,
)
from memory.session.state import Stage, StateBlock, StateMachine

if TYPE_CHECKING:  # the lazy names, as the checkers see them (keep in step with _LAZY)
    from memory.client import AsyncClient, Client
    from memory.memory import Memory
    from memory.read.config import AssembleConfig
    from memory.session.summaries import ChatSummarizer, ExtractiveSummarizer, RollingSummary

__version__ = "0.1.0"

# Lazy so that low-level modules (indexers, retrievers) can import memory.errors without pulling
# in the whole pipeline (stores, FAISS, the embedders) and without import cycles.
_LAZY = {
    "Memory": "memory.memory",
    "AssembleConfig": "memory.read.config",
    "Client": "memory.client",
    "AsyncClient": "memory.client",
    "RollingSummary": "memory.session.summaries",
    "ChatSummarizer": "memory.session.summaries",
    "ExtractiveSummarizer": "memory.session.summaries",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'memory' has no attribute {name!r}")


__all__ = [
    "AssembleConfig",
    "AsyncClient",
    "BudgetTooSmall",
    "Busy",
    "ChatSummarizer",
    "Chunk",
    "Client",
    "Conflict",
    "Context",
    "ExtractiveSummarizer",
    "FilePart",
    "Hit",
    "IdempotencyConflict",
    "ImagePart",
    "IndexingFailed",
    "IndexMismatch",
    "InvalidArgument",
    "InvalidMessage",
    "InvalidTransition",
    "Memory",
    "Message",
    "MessageRef",
    "NotFound",
    "PermissionDenied",
    "RollingSummary",
    "SchemaMismatch",
    "ServiceError",
    "Source",
    "Stage",
    "StateBlock",
    "StateMachine",
    "StorageError",
    "StoredMessage",
    "TextPart",
    "TimedOut",
    "ToolCall",
    "ToolCallState",
    "TurnmemError",
    "UpstreamError",
]
