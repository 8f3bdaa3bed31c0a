"""Pinned session state: named, versioned blocks, and an optional stage machine.

A chat's state is more than its turns: who the user is (``profile``), what is being done
(``task``), where a guided flow stands (``stage``). turnmem keeps such facts as *state
blocks* per session: each update is atomic (several blocks in one transaction), gets the
block's next version (the history stays), can be conditional (``expected`` versions, else
:class:`~memory.errors.Conflict`), and every block is pinned in each assembled context,
counted first, right after the system prompt.

A :class:`StateMachine` (stages, allowed transitions, per-stage instructions) may govern
the ``stage`` block: a transition it does not allow raises :class:`InvalidTransition`
naming the allowed ones, and the current stage's instructions are pinned with the blocks.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from memory.errors import InvalidArgument, InvalidTransition
from memory.models import depth_message, too_deep

STAGE = "stage"
MAX_VALUE_CHARS = 50_000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


class StateBlock(BaseModel):
    """One named piece of session state at one version (``value`` None: the block was removed)."""

    model_config = ConfigDict(frozen=True)

    name: str
    value: Any
    version: int
    updated_at: datetime


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instructions: str = Field("", description="pinned in the context while the session is in this stage")
    next: list[str] = Field(default_factory=list, description="stages this one may move to")


class StateMachine(BaseModel):
    """Stages, the allowed transitions between them, and what to tell the model in each.

    ``StateMachine(initial="intake", stages={"intake": Stage(next=["quote"]), "quote": Stage(...)})``
    """

    model_config = ConfigDict(extra="forbid")

    initial: str
    stages: dict[str, Stage]

    @model_validator(mode="after")
    def _check(self) -> StateMachine:
        if not self.stages:
            raise ValueError("stages: give at least one stage")
        if self.initial not in self.stages:
            raise ValueError(f"initial: {self.initial!r} is not one of the stages ({', '.join(self.stages)})")
        for name, stage in self.stages.items():
            unknown = [n for n in stage.next if n not in self.stages]
            if unknown:
                raise ValueError(f"stages.{name}.next: unknown stage {unknown[0]!r}; declare it in stages")
        return self

    def check(self, current: str | None, target: Any) -> None:
        """Raise :class:`InvalidTransition` unless ``current -> target`` is allowed."""
        if not isinstance(target, str) or target not in self.stages:
            raise InvalidTransition(
                f"stage: {target!r} is not a stage of this session's machine; use one of {', '.join(self.stages)}",
                current=current,
                allowed=list(self.stages),
            )
        if current is None or current == target:
            return
        allowed = self.stages[current].next if current in self.stages else list(self.stages)
        if target not in allowed:
            hint = ", ".join(allowed) if allowed else "none (it is a final stage)"
            raise InvalidTransition(
                f"stage: cannot move from {current!r} to {target!r}; allowed from {current!r}: {hint}",
                current=current,
                allowed=allowed,
            )


def check_block_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgument(
            f"blocks: block name {name!r} must start with a letter or '_' and hold at most 64 letters, "
            "digits, '_', '.', '-' (e.g. 'profile', 'task')",
            field="blocks",
        )
    return name


def encode_value(name: str, value: Any) -> str:
    if too_deep(value) is not None:
        raise InvalidArgument(depth_message(f"blocks.{name}"), field=f"blocks.{name}")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidArgument(
            f"blocks.{name}: give a JSON value (str, number, bool, list, dict), not {type(value).__name__}",
            field=f"blocks.{name}",
        ) from None
    if len(text) > MAX_VALUE_CHARS:
        raise InvalidArgument(
            f"blocks.{name}: {len(text)} characters of JSON, more than {MAX_VALUE_CHARS}; keep pinned state small "
            "(it is in every context) and put documents in messages",
            field=f"blocks.{name}",
        )
    return text


def render(blocks: dict[str, StateBlock], machine: StateMachine | None) -> str | None:
    """The pinned system message holding the session's state (None if there is none)."""
    lines: list[str] = []
    for name in sorted(blocks):
        b = blocks[name]
        shown = b.value if isinstance(b.value, str) else json.dumps(b.value, ensure_ascii=False, sort_keys=True)
        lines.append(f"- {name} (v{b.version}): {shown}")
    stage = blocks.get(STAGE)
    instructions = ""
    if machine is not None and stage is not None and isinstance(stage.value, str) and stage.value in machine.stages:
        instructions = machine.stages[stage.value].instructions
    if not lines:
        return None
    text = "Session state (kept current by the application):\n" + "\n".join(lines)
    if instructions:
        text += f"\nInstructions for the current stage ({stage.value}): {instructions}"  # type: ignore[union-attr]
    return text


__all__ = ["STAGE", "Stage", "StateBlock", "StateMachine", "check_block_name", "encode_value", "render"]


def block_from_row(name: str, version: int, value: str | None, updated_at: float) -> StateBlock:
    """A stored state row (JSON text, None when removed) as a :class:`StateBlock`."""
    return StateBlock(
        name=name,
        value=None if value is None else json.loads(value),
        version=version,
        updated_at=datetime.fromtimestamp(updated_at, tz=timezone.utc),
    )
