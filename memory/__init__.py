"""turnmem: a memory layer for LLM chat apps.

``Memory.open(path)`` gives a durable, searchable conversation memory; ``add`` what
happens, ``assemble`` a budgeted context before each model call.
"""

from memory.errors import (
    BudgetTooSmall,
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

__version__ = "0.1.0"

_LAZY = {
    "Memory": "memory.memory",
    "AssembleConfig": "memory.read.assemble",
    "Client": "memory.client",
    "AsyncClient": "memory.client",
    "RollingSummary": "memory.session.summaries",
    "ChatSummarizer": "memory.session.summaries",
    "ExtractiveSummarizer": "memory.session.summaries",
}


def __getattr__(name: str) -> object:
    # Lazy so that low-level modules (indexers, retrievers) can import memory.errors
    # without pulling in the whole pipeline (and without import cycles).
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'memory' has no attribute {name!r}")


__all__ = [
    "AssembleConfig",
    "AsyncClient",
    "ChatSummarizer",
    "Client",
    "ExtractiveSummarizer",
    "BudgetTooSmall",
    "Chunk",
    "Conflict",
    "IdempotencyConflict",
    "Context",
    "FilePart",
    "Hit",
    "ImagePart",
    "IndexingFailed",
    "IndexMismatch",
    "UpstreamError",
    "InvalidArgument",
    "InvalidMessage",
    "InvalidTransition",
    "Memory",
    "Message",
    "MessageRef",
    "NotFound",
    "PermissionDenied",
    "SchemaMismatch",
    "RollingSummary",
    "ServiceError",
    "Source",
    "Stage",
    "StateBlock",
    "StateMachine",
    "StoredMessage",
    "TextPart",
    "ToolCall",
    "TimedOut",
    "ToolCallState",
    "TurnmemError",
]
