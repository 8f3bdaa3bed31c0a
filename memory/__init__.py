"""turnmem: a memory layer for LLM chat apps.

``Memory.open(path)`` gives a durable, searchable conversation memory; ``add`` what
happens, ``assemble`` a budgeted context before each model call.
"""

from memory.assemble import AssembleConfig
from memory.errors import (
    BudgetTooSmall,
    Conflict,
    IndexMismatch,
    InvalidArgument,
    InvalidMessage,
    NotFound,
    TurnmemError,
)
from memory.memory import Memory
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
)

__version__ = "0.1.0"

__all__ = [
    "AssembleConfig",
    "BudgetTooSmall",
    "Chunk",
    "Conflict",
    "Context",
    "FilePart",
    "Hit",
    "ImagePart",
    "IndexMismatch",
    "InvalidArgument",
    "InvalidMessage",
    "Memory",
    "Message",
    "MessageRef",
    "NotFound",
    "Source",
    "StoredMessage",
    "TextPart",
    "ToolCall",
    "TurnmemError",
]
