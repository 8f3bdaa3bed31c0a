"""The service's errors: the JSON body every error answer has (:class:`ErrorBody`, made by
:meth:`memory.errors.TurnmemError.body` and answered with the class's ``status_code``), and
FastAPI's validation errors reshaped to name the field the way ``Memory`` does.
:class:`memory.client.Client` reads them back into the same classes (:func:`memory.errors.error_from_body`)."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from memory.errors import InvalidArgument, InvalidMessage
from memory.models import dotted_path, first_error, parse_message
from memory.read.assemble import AssembleConfig
from memory.validation import request_error


class ErrorBody(BaseModel):
    """Every error answer: what went wrong and how to fix it, the field at fault, the class to catch."""

    detail: str
    error: str = Field(description="the memory.errors class the clients raise: InvalidMessage, Conflict, ...")
    field: str | None = Field(None, description="dotted path of the field at fault, e.g. messages[1].role")
    current_seq: int | None = Field(
        None, description="Conflict only (409, or 422 IdempotencyConflict): the session's seq now"
    )
    budget: int | None = None
    required: int | None = None
    current: str | None = Field(None, description="InvalidTransition only: the session's stage")
    allowed: list[str] | None = Field(None, description="InvalidTransition only: the stages it may move to")


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no key, or an unknown key"},
    403: {"model": ErrorBody, "description": "the key may not use this namespace"},
    413: {"model": ErrorBody, "description": "the request body is over the server's byte limit (`field`: body)"},
    422: {"model": ErrorBody, "description": "bad input; `field` names it"},
}
BUSY: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "the embedder is saturated (TimedOut); retry after `Retry-After` s"},
}


def validation_body(exc: RequestValidationError, path: str = "") -> dict[str, Any]:
    """FastAPI's 422, reshaped like ours: the first error, with its field as a dotted path.

    A bad message is validated again by :func:`parse_message`, and a bad argument by the
    check ``Memory`` runs on it, so both read as they do embedded.
    """
    err = first_error(exc, empty="invalid request")
    loc = err.loc
    if err.type != "missing" and err.has_input:  # the words Memory uses for the same value
        mapped = request_error(loc, err.input, search=path.endswith("/search"), config=AssembleConfig())
        if mapped is not None:
            return mapped.body()
    where = loc[1:] if loc and loc[0] in ("body", "query", "path") else loc
    body = getattr(exc, "body", None)
    if len(where) >= 2 and where[0] == "messages" and isinstance(where[1], int) and isinstance(body, dict):
        items = body.get("messages")
        if isinstance(items, list) and where[1] < len(items):
            try:
                parse_message(items[where[1]], index=where[1])
            except InvalidMessage as bad:
                return bad.body()
    if err.type == "json_invalid":  # FastAPI's position in the body is not a field
        return InvalidArgument(f"body: not valid JSON ({err.reason}); send one JSON object", field="body").body()
    field = dotted_path(where) or "body"
    msg = err.msg
    kind = InvalidMessage if field.startswith("messages") else InvalidArgument
    if err.type == "extra_forbidden":
        msg = "unknown field; remove it (see the OpenAPI schema at /docs)"
    elif err.type == "missing":
        msg = "required; add it"
    elif err.type == "value_error":
        msg = err.reason
        name = msg.split(":", 1)[0]
        if ":" in msg and name.isidentifier():  # a model-level check names its field: config.candidates
            if field != name and not field.endswith(f".{name}"):  # a field's own check names itself
                field = f"{field}.{name}" if field != "body" else name
            msg = msg.split(":", 1)[1].strip()
    return kind(f"{field}: {msg}", field=field).body()


__all__ = ["BUSY", "ERRORS", "ErrorBody", "validation_body"]
