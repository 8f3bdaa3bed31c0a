"""Pydantic models at turnmem's boundaries: OpenAI chat-format messages, chunks, hits, contexts.

One import path for all of them; each concern lives in its own module:

- :mod:`memory.models.messages`: ``Message`` (OpenAI chat format plus turnmem's ``id``,
  ``timestamp``, ``metadata``), content parts, tool calls, ``StoredMessage``, ``MessageRef``;
- :mod:`memory.models.context`: what reads return: ``Chunk``, ``Hit``, ``ToolCallState``,
  ``Source``, ``Context``;
- :mod:`memory.models.parse`: ``parse_message``, which validates outside input and names the
  field that is wrong;
- :mod:`memory.models.provider_rules`: what the model APIs refuse (tool-call function names,
  data URLs), refused when a message is added.
"""

from memory.models.bounds import MAX_DEPTH, MAX_INT, depth_message, json_text_too_deep, too_deep
from memory.models.context import (
    Chunk,
    ChunkKind,
    Context,
    Hit,
    Origin,
    Source,
    ToolCallState,
    ToolStatus,
)
from memory.models.messages import (
    MAX_EXTRACTED_CHARS,
    ROLES,
    TURNMEM_FIELDS,
    ContentPart,
    FilePart,
    FileRef,
    FunctionCall,
    ImagePart,
    ImageURL,
    Message,
    MessageInput,
    MessageRef,
    Role,
    StoredMessage,
    TextPart,
    ToolCall,
)
from memory.models.parse import FieldError, dotted_path, dumps_canonical, field_errors, first_error, parse_message

__all__ = [
    "MAX_DEPTH",
    "MAX_INT",
    "depth_message",
    "json_text_too_deep",
    "too_deep",
    "MAX_EXTRACTED_CHARS",
    "ROLES",
    "TURNMEM_FIELDS",
    "Chunk",
    "ChunkKind",
    "ContentPart",
    "Context",
    "FilePart",
    "FieldError",
    "FileRef",
    "FunctionCall",
    "Hit",
    "ImagePart",
    "ImageURL",
    "Message",
    "MessageInput",
    "MessageRef",
    "Origin",
    "Role",
    "Source",
    "StoredMessage",
    "TextPart",
    "ToolCall",
    "ToolCallState",
    "ToolStatus",
    "dotted_path",
    "dumps_canonical",
    "field_errors",
    "first_error",
    "parse_message",
]
