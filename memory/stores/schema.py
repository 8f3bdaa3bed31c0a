"""Schema versions, one mechanism for every store.

A store records its schema version in its ``meta`` table. On open, inside the transaction that
creates or checks the schema, :func:`upgrade` reads the version found and applies the store's
migration steps one by one (``steps[v]`` takes version ``v`` to ``v + 1``). A version newer than
this code knows, or an old one without a migration path, is refused with a message naming both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from memory.errors import SchemaMismatch


def upgrade(
    found: int,
    current: int,
    steps: Mapping[int, Callable[[], object]],
    *,
    where: str,
) -> list[int]:
    """Run the migration steps from ``found`` to ``current``; returns the versions stepped through.

    The caller runs this inside the transaction that then records ``current``, so a failed step
    leaves the store at ``found``.
    """
    if found > current:
        raise SchemaMismatch(
            f"{where}: schema version {found} was written by a newer turnmem; this one reads schema "
            f"version {current}. Upgrade turnmem to open it.",
            found=found,
            supported=current,
        )
    done: list[int] = []
    for version in range(found, current):
        step = steps.get(version)
        if step is None:
            raise SchemaMismatch(
                f"{where}: schema version {found} is older than {current} and has no migration from "
                f"version {version}; export it with the turnmem that wrote it and import it again",
                found=found,
                supported=current,
            )
        step()
        done.append(version + 1)
    return done
