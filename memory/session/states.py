"""Pinned session state of :class:`memory.memory.Memory`: named, versioned blocks and a stage machine.

Blocks are JSON values set atomically with compare-and-set on their versions; a
:class:`memory.session.state.StateMachine` attached to a session governs its ``stage`` block. Every block
is rendered into each context of the session (:meth:`SessionState._pinned_state`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from memory.errors import InvalidArgument, InvalidTransition
from memory.models import first_error
from memory.parts import MemoryParts
from memory.session.state import STAGE, StateBlock, StateMachine, block_from_row, check_block_name, encode_value
from memory.session.state import render as render_state
from memory.validation import DEFAULT_NAMESPACE, check_name


class SessionState(MemoryParts):
    """``set_state``, ``state``, ``state_history``, ``transition`` and the state machine."""

    def set_state(
        self,
        session: str,
        blocks: dict[str, Any],
        *,
        namespace: str = DEFAULT_NAMESPACE,
        expected: dict[str, int] | None = None,
    ) -> dict[str, StateBlock]:
        """Set named state blocks of a session atomically; each gets its next version.

        ``blocks`` maps names to JSON values (None removes a block; its history stays).
        ``expected`` maps names to the versions you read (0: absent): if any moved, nothing is
        written and :class:`Conflict` says the current version. With a state machine attached,
        a ``stage`` change it does not allow raises :class:`InvalidTransition`. Every block is
        pinned in each context of the session.
        """
        check_name(session, "session")
        check_name(namespace, "namespace")
        if not isinstance(blocks, dict) or not blocks:
            raise InvalidArgument("state: give a dict of block name -> JSON value, e.g. {'task': '...'}", field="state")
        encoded = {check_block_name(k): (None if v is None else encode_value(k, v)) for k, v in blocks.items()}
        for name, version in (expected or {}).items():
            if not isinstance(version, int) or isinstance(version, bool) or version < 0:
                raise InvalidArgument(
                    f"expected.{name}: give the version you read, an int >= 0", field=f"expected.{name}"
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

    def state(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, StateBlock]:
        """The session's current state blocks (removed ones left out)."""
        check_name(session, "session")
        check_name(namespace, "namespace")
        rows = self.store.state(namespace, session)
        return {name: block_from_row(name, *row) for name, row in sorted(rows.items()) if row[1] is not None}

    def state_history(self, session: str, name: str, *, namespace: str = DEFAULT_NAMESPACE) -> list[StateBlock]:
        """Every version of one block, oldest first (value None where it was removed)."""
        return [block_from_row(name, *row) for row in self.store.state_history(namespace, session, name)]

    def set_state_machine(
        self, session: str, machine: StateMachine | dict[str, Any] | None, *, namespace: str = DEFAULT_NAMESPACE
    ) -> None:
        """Attach a :class:`StateMachine` to the session (None detaches it). The ``stage`` block
        starts at the machine's ``initial`` stage unless it is set already."""
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

    def state_machine(self, session: str, *, namespace: str = DEFAULT_NAMESPACE) -> StateMachine | None:
        spec = self.store.state_machine(namespace, session)
        return None if spec is None else StateMachine.model_validate_json(spec)

    def transition(
        self, session: str, stage: str, *, namespace: str = DEFAULT_NAMESPACE, expected_version: int | None = None
    ) -> StateBlock:
        """Move the session to ``stage`` (checked by its state machine, if any)."""
        expected = None if expected_version is None else {STAGE: expected_version}
        return self.set_state(session, {STAGE: stage}, namespace=namespace, expected=expected)[STAGE]

    def _pinned_state(self, namespace: str, session: str | None) -> str | None:
        if session is None:
            return None
        blocks = self.state(session, namespace=namespace)
        if not blocks:
            return None
        return render_state(blocks, self.state_machine(session, namespace=namespace))
