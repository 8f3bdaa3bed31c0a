"""``SessionStates``: a memory's pinned session state: named, versioned blocks and a stage machine.

Blocks are JSON values set atomically with compare-and-set on their versions; a
:class:`memory.session.state.StateMachine` attached to a session governs its ``stage`` block. Every
block is rendered into each context of the session: the reader asks :meth:`SessionStates.pinned`.
The models and the rendering are :mod:`memory.session.state`'s; this part reads and writes them
through the store.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from memory.errors import InvalidArgument, InvalidTransition
from memory.models import MAX_INT, first_error
from memory.session.state import STAGE, StateBlock, StateMachine, block_from_row, check_block_name, encode_value
from memory.session.state import render as render_state
from memory.stores.base import Store
from memory.validation import check_name


class SessionStates:
    """``set_state``, ``state``, ``state_history``, ``transition``, the state machine and the pinned block."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def set_state(
        self,
        session: str,
        blocks: dict[str, Any],
        namespace: str,
        expected: dict[str, int] | None,
    ) -> dict[str, StateBlock]:
        """Check the blocks and the expected versions, then set them in one store call whose
        ``check`` (run inside its transaction) holds a ``stage`` change to the attached machine."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        if not isinstance(blocks, dict) or not blocks:
            raise InvalidArgument(
                "blocks: give a dict of block name -> JSON value, e.g. {'task': '...'}", field="blocks"
            )
        encoded = {check_block_name(k): (None if v is None else encode_value(k, v)) for k, v in blocks.items()}
        if expected is not None and not isinstance(expected, dict):
            raise InvalidArgument(
                f"expected: give a dict of block name -> the version you read, or None (got {type(expected).__name__})",
                field="expected",
            )
        for name, version in (expected or {}).items():
            if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= MAX_INT:
                raise InvalidArgument(
                    f"expected.{name}: give the version you read, an int from 0 to {MAX_INT} (got {version!r})",
                    field=f"expected.{name}",
                )

        def check(current: dict[str, tuple[int, str | None, float]], spec: str | None) -> None:
            if spec is None or STAGE not in blocks:
                return
            machine = StateMachine.model_validate_json(spec)
            row = current.get(STAGE)
            now_stage = json.loads(row[1]) if row and row[1] is not None else None
            if blocks[STAGE] is None:
                raise InvalidTransition(
                    "stage: a state machine governs this session's stage; move it to another stage instead of "
                    "removing it (or detach the machine first)",
                    current=now_stage,
                    allowed=machine.stages[now_stage].next if now_stage in machine.stages else [],
                )
            machine.check(now_stage, blocks[STAGE])

        written = self.store.set_state(namespace, session, encoded, expected=expected, check=check)
        return {name: block_from_row(name, *row) for name, row in written.items()}

    def state(self, session: str, namespace: str) -> dict[str, StateBlock]:
        """The session's current state blocks (removed ones left out)."""
        check_name(session, "session", existing=True)
        check_name(namespace, "namespace", existing=True)
        rows = self.store.state(namespace, session)
        return {name: block_from_row(name, *row) for name, row in sorted(rows.items()) if row[1] is not None}

    def state_at(self, session: str, namespace: str, at: float) -> dict[str, StateBlock]:
        """The session's state blocks as they were at the Unix time ``at`` (removed ones left out)."""
        out: dict[str, StateBlock] = {}
        for name in sorted(self.store.state(namespace, session)):
            then = [row for row in self.store.state_history(namespace, session, name) if row[2] <= at]
            if then and then[-1][1] is not None:
                out[name] = block_from_row(name, *then[-1])
        return out

    def state_history(self, session: str, name: str, namespace: str) -> list[StateBlock]:
        """Every version of one block, oldest first (value None where it was removed)."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        return [block_from_row(name, *row) for row in self.store.state_history(namespace, session, name)]

    def set_state_machine(self, session: str, machine: StateMachine | dict[str, Any] | None, namespace: str) -> None:
        """Attach a :class:`StateMachine` (checked here, errors named by field) or detach one (None)."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        if machine is None:
            self.store.set_state_machine(namespace, session, None, None)
            return
        try:
            m = machine if isinstance(machine, StateMachine) else StateMachine.model_validate(machine)
        except ValidationError as exc:
            err = first_error(exc)
            msg, loc = err.reason, err.dotted
            raise InvalidArgument(f"machine{'.' + loc if loc else ''}: {msg}", field="machine") from None
        self.store.set_state_machine(namespace, session, m.model_dump_json(), m.initial)

    def state_machine(self, session: str, namespace: str) -> StateMachine | None:
        """The attached machine, or None."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        spec = self.store.state_machine(namespace, session)
        return None if spec is None else StateMachine.model_validate_json(spec)

    def transition(self, session: str, stage: str, namespace: str, expected_version: int | None) -> StateBlock:
        """Set the ``stage`` block (:meth:`set_state`, so checked by the machine)."""
        expected = None if expected_version is None else {STAGE: expected_version}
        return self.set_state(session, {STAGE: stage}, namespace=namespace, expected=expected)[STAGE]

    def pinned(self, namespace: str, session: str | None, at: float | None = None) -> str | None:
        """The session's state blocks as the text pinned in its contexts (None: no session, no blocks).

        ``at`` (a Unix time: a point in the history, :mod:`memory.read.as_of`): each block's version
        current then (the last one set at or before ``at``; blocks set only later, or removed by then,
        left out)."""
        if session is None:
            return None
        blocks = self.state(session, namespace=namespace) if at is None else self.state_at(session, namespace, at)
        if not blocks:
            return None
        return render_state(blocks, self.state_machine(session, namespace=namespace))
