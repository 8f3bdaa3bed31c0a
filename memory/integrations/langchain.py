"""A LangChain chat message history backed by turnmem (``pip install 'turnmem[langchain]'``).

    history = TurnmemChatMessageHistory(Memory.open("data"), session="user-42")
    history.add_messages([HumanMessage("hi")])
    history.messages                       # the whole session, as LangChain messages
    history.context("what did I order?", budget=1000)   # a budgeted, relevant selection

Works with ``RunnableWithMessageHistory`` like any ``BaseChatMessageHistory``; ``Memory`` or
the REST ``Client`` may back it. Messages go through LangChain's own OpenAI-format converters,
so tool calls and tool results keep their ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage, convert_to_messages, convert_to_openai_messages

from memory.errors import NotFound

if TYPE_CHECKING:
    from memory.client import Client
    from memory.memory import Memory


def to_langchain(messages: Sequence[dict[str, Any]]) -> list[BaseMessage]:
    """OpenAI-format dicts (a Context's messages, stored messages) as LangChain messages."""
    keep = ("role", "content", "name", "tool_calls", "tool_call_id")
    return list(convert_to_messages([{k: v for k, v in m.items() if k in keep and v is not None} for m in messages]))


def from_langchain(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as OpenAI-format dicts turnmem stores."""
    return list(convert_to_openai_messages(list(messages)))  # a list in, a list out


class TurnmemChatMessageHistory(BaseChatMessageHistory):
    """One turnmem session as a LangChain ``BaseChatMessageHistory``."""

    def __init__(self, memory: Memory | Client, session: str, namespace: str = "default") -> None:
        self.memory = memory
        self.session = session
        self.namespace = namespace

    # LangChain declares ``messages`` an attribute and documents a property as the way to implement it
    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        stored = self.memory.since(self.session, 0, namespace=self.namespace)
        return to_langchain([m.to_openai() for m in stored])

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        if messages:
            self.memory.add(from_langchain(messages), session=self.session, namespace=self.namespace)

    def clear(self) -> None:
        try:
            self.memory.delete(self.namespace, self.session)
        except NotFound:
            pass

    def context(
        self, query: str | None, *, budget: int = 4000, system: str | None = None, **overrides: Any
    ) -> list[BaseMessage]:
        """The budgeted context for ``query`` (pinned, recent window, retrieved), as LangChain messages."""
        ctx = self.memory.assemble(
            query, session=self.session, namespace=self.namespace, budget=budget, system=system, **overrides
        )
        return to_langchain(ctx.messages)


__all__ = ["TurnmemChatMessageHistory", "from_langchain", "to_langchain"]
