"""The argument checks and their messages, shared by ``Memory``, ``Client`` and the REST service.

One set of messages, so the same mistake gets the same answer embedded and through the
service: ``Memory`` runs these checks, ``Client`` runs the ones a URL cannot carry (names),
and the service maps a refusal of its request models back to the check of that field
(:func:`request_error`), so ``budget=0`` reads "budget: give a positive number of tokens (got 0)"
both ways and ``budget="1000"`` is refused both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from memory.errors import InvalidArgument, TurnmemError
from memory.models import MAX_INT, first_error

M = TypeVar("M", bound=BaseModel)

MAX_NAME = 256  # characters in a namespace, session or idempotency key
MAX_QUERY_CHARS = 32_768  # a query: far more than a question; what query analysis and the embedder see
MAX_SYSTEM_CHARS = 262_144  # a system prompt (counted and sent whole in every context)


def check_key(value: Any, field: str) -> str:
    """A non-empty string of at most :data:`MAX_NAME` characters, without control characters or
    lone surrogates (an idempotency key; namespace and session names also follow :func:`check_name`)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{field}: give a non-empty string (got {value!r})", field=field)
    if len(value) > MAX_NAME:
        raise InvalidArgument(f"{field}: at most {MAX_NAME} characters (got {len(value)})", field=field)
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InvalidArgument(
            f"{field}: control characters and lone surrogates are not allowed in {value!r}", field=field
        )
    return value


NAME_RULE = (
    "a namespace or session name is 1 to 256 characters, not '.' or '..', without '/', '\\' or control "
    "characters (it is one segment of the service's URLs)"
)


def check_name(value: Any, field: str, *, existing: bool = False) -> str:
    """A namespace or session name (:data:`NAME_RULE`): the one rule of ``Memory``, the service, the
    client and the inspector.

    ``existing``: a read or a delete, which only finds what is stored: it also takes a name stored
    before the rule refused '.', '..', '/' and '\\' (such data stays readable and deletable through
    ``Memory``; no new data is written under such a name).
    """
    name = check_key(value, field)
    if not existing and (name in (".", "..") or "/" in name or "\\" in name):
        raise InvalidArgument(f"{field}: {name!r} is not a valid name: {NAME_RULE}", field=field)
    return name


DEFAULT_NAMESPACE = "default"  # the namespace of a call that names none (Memory, Client, the CLI)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_budget(budget: object) -> int:
    """A token budget: an int >= 1 (not a bool, a float or a numeric string), at most :data:`MAX_INT`."""
    if not _is_int(budget) or not 0 < budget <= MAX_INT:  # type: ignore[operator]
        raise InvalidArgument(f"budget: give a positive number of tokens (got {budget!r})", field="budget")
    return budget  # type: ignore[return-value]


def check_query(query: object, *, optional: bool = True) -> str | None:
    """A query string of at most :data:`MAX_QUERY_CHARS` characters; with ``optional``, None too (no
    retrieval: the recent window only)."""
    if query is None and optional:
        return None
    if not isinstance(query, str):
        hint = ", or None for the recent window only" if optional else ""
        raise InvalidArgument(f"query: give a string{hint} (got {type(query).__name__})", field="query")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidArgument(
            f"query: at most {MAX_QUERY_CHARS} characters (got {len(query)}); search with the question, "
            "not a document (add documents as messages)",
            field="query",
        )
    return query


def check_system(system: object) -> str | None:
    """A system prompt: None, or a string of at most :data:`MAX_SYSTEM_CHARS` characters."""
    if system is None:
        return None
    if not isinstance(system, str):
        raise InvalidArgument("system: give the system prompt as a string", field="system")
    if len(system) > MAX_SYSTEM_CHARS:
        raise InvalidArgument(
            f"system: at most {MAX_SYSTEM_CHARS} characters (got {len(system)}); put documents in messages "
            "or state, where they are retrieved or pinned by the budget",
            field="system",
        )
    return system


def check_base_seq(base_seq: object) -> int | None:
    """The last seq a writer saw (a conditional write), or None."""
    if base_seq is not None and (not _is_int(base_seq) or not 0 <= base_seq <= MAX_INT):  # type: ignore[operator]
        raise InvalidArgument(
            f"base_seq: give the last seq you saw, an int from 0 to {MAX_INT} (got {base_seq!r})", field="base_seq"
        )
    return base_seq  # type: ignore[return-value]


def check_ttl(ttl_s: object) -> float | None:
    """How long idempotency keys are kept, in seconds (a number > 0), or None: forever."""
    if ttl_s is not None and (isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)) or not ttl_s > 0):
        raise InvalidArgument(
            f"idempotency_ttl_s: give seconds as a number > 0, or None to keep keys forever (got {ttl_s!r})",
            field="idempotency_ttl_s",
        )
    return None if ttl_s is None else float(ttl_s)


def check_seq(seq: object, field: str = "seq") -> int:
    """The last seq a reader saw (``since``): an int from 0 to :data:`MAX_INT`."""
    if not _is_int(seq) or not 0 <= seq <= MAX_INT:  # type: ignore[operator]
        raise InvalidArgument(f"{field}: give an int from 0 to {MAX_INT} (got {seq!r})", field=field)
    return seq  # type: ignore[return-value]


def check_limit(limit: object) -> int | None:
    """At most how many messages a read returns: an int from 1 to :data:`MAX_INT`, or None for all."""
    if limit is not None and (not _is_int(limit) or not 1 <= limit <= MAX_INT):  # type: ignore[operator]
        raise InvalidArgument(f"limit: give an int from 1 to {MAX_INT}, or None for all (got {limit!r})", field="limit")
    return limit  # type: ignore[return-value]


def check_cursor(after: object) -> int:
    """A page cursor (``after``): an int from 0 to :data:`MAX_INT`."""
    if not _is_int(after) or not 0 <= after <= MAX_INT:  # type: ignore[operator]
        raise InvalidArgument(f"after: give a cursor from 0 to {MAX_INT} (got {after!r})", field="after")
    return after  # type: ignore[return-value]


def check_k(k: object) -> int:
    """How many hits a search returns: an int from 1 to :data:`MAX_INT`."""
    if not _is_int(k) or not 1 <= k <= MAX_INT:  # type: ignore[operator]
        raise InvalidArgument(f"k: give the number of hits wanted, an int from 1 to {MAX_INT} (got {k!r})", field="k")
    return k  # type: ignore[return-value]


def apply_overrides(config: M, overrides: Mapping[str, Any]) -> M:
    """``config`` with some fields replaced (``assemble(..., window_share=0.5)``), each checked."""
    if not overrides:
        return config
    fields = type(config).model_fields
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise InvalidArgument(f"{unknown[0]}: not an assemble option; use one of {', '.join(fields)}", field=unknown[0])
    try:
        return type(config).model_validate({**config.model_dump(), **overrides})
    except ValidationError as exc:
        err = first_error(exc)
        name = str(err.loc[0]) if err.loc else "config"
        words = err.reason.removeprefix(f"{name}: ")  # a validator that names its field says it once
        raise InvalidArgument(f"{name}: {words} (got {overrides.get(name)!r})", field=name) from None


# The REST service's request fields, by FastAPI error location, and the check Memory runs on each.
_PATH_CHECKS: dict[str, Callable[[Any], object]] = {
    "ns": lambda v: check_name(v, "namespace"),
    "session": lambda v: check_name(v, "session"),
}
AS_OF_FORMS = "a seq of the session (an int >= 0) or a time (a Unix time as a float, an ISO 8601 string, a datetime)"


def check_as_of_form(value: object) -> None:
    """``as_of`` is None, a seq (an int, not a bool) or something a time is read from (a float, a
    string, a datetime); what it points at is checked against the log (:mod:`memory.read.as_of`)."""
    if value is None or (isinstance(value, (int, float, str, datetime)) and not isinstance(value, bool)):
        return
    raise InvalidArgument(f"as_of: give {AS_OF_FORMS} (got {value!r})", field="as_of")


_QUERY_CHECKS: dict[str, Callable[[Any], object]] = {
    "since": lambda v: check_seq(v, "since"),
    "after": check_cursor,
    "limit": check_limit,
}
_BODY_CHECKS: dict[str, Callable[[Any], object]] = {
    "as_of": check_as_of_form,
    "budget": check_budget,
    "query": check_query,
    "system": check_system,
    "base_seq": check_base_seq,
    "k": check_k,
    "idempotency_key": lambda v: check_key(v, "idempotency_key"),
}
_SEARCH_CHECKS: dict[str, Callable[[Any], object]] = {
    **_BODY_CHECKS,
    "query": lambda v: check_query(v, optional=False),
}


def _as_int(value: Any) -> Any:
    """A query-string value as the int it spells (``"9223372036854775808"``), else as it came."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 40:
        return int(value)
    return value


def _first_error(check: Callable[[Any], object] | None, value: Any) -> TurnmemError | None:
    if check is None:
        return None
    try:
        check(value)
    except TurnmemError as exc:
        return exc
    return None


def request_error(
    loc: Sequence[Any], value: Any, *, search: bool = False, config: BaseModel | None = None
) -> TurnmemError | None:
    """The error ``Memory`` raises for ``value``, which the service's request models refused at ``loc``
    (``("body", "budget")``, ``("path", "ns")``, ``("body", "config", "window_share")``); None when no
    check covers that field or the check passes (the service then keeps pydantic's words).

    ``search``: the request is a search, whose query may not be None. ``config``: the defaults a
    ``config`` override applies to; a bad one is named ``config.<field>``.
    """
    loc = tuple(loc)
    if len(loc) == 2 and loc[0] == "path":
        return _first_error(_PATH_CHECKS.get(str(loc[1])), value)
    if len(loc) == 2 and loc[0] == "query":
        return _first_error(_QUERY_CHECKS.get(str(loc[1])), _as_int(value))
    if len(loc) == 2 and loc[0] == "body":
        return _first_error((_SEARCH_CHECKS if search else _BODY_CHECKS).get(str(loc[1])), value)
    if len(loc) == 3 and loc[:2] == ("body", "config") and config is not None:
        bad = _first_error(lambda v: apply_overrides(config, {str(loc[2]): v}), value)
        if isinstance(bad, InvalidArgument):
            return InvalidArgument(f"config.{bad}", field=f"config.{bad.field}")
    return None


__all__ = [
    "MAX_NAME",
    "MAX_QUERY_CHARS",
    "MAX_SYSTEM_CHARS",
    "NAME_RULE",
    "apply_overrides",
    "check_as_of_form",
    "check_base_seq",
    "check_budget",
    "check_cursor",
    "check_k",
    "check_key",
    "check_limit",
    "check_name",
    "check_query",
    "check_seq",
    "check_system",
    "request_error",
]


MAX_TIMESTAMP = 253402300799  # 9999-12-31T23:59:59Z


def as_timestamp(value: Any, field: str) -> float:
    """A Unix time in seconds from a number, an ISO 8601 string or a datetime (naive: UTC)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 0 <= value <= MAX_TIMESTAMP:  # also false for NaN
            raise InvalidArgument(
                f"{field}: {value!r} is not a Unix time in seconds between 0 and {MAX_TIMESTAMP} (year 9999)",
                field=field,
            )
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgument(
                f"{field}: {value!r} is not an ISO 8601 date-time (e.g. '2024-05-03T14:00:00Z')", field=field
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        try:
            return as_timestamp(value.timestamp(), field)
        except (OverflowError, ValueError, OSError):
            raise InvalidArgument(f"{field}: {value.isoformat()} is out of range", field=field) from None
    raise InvalidArgument(f"{field}: give an ISO 8601 string or a datetime (got {type(value).__name__})", field=field)
