"""What the REST routes share: names in paths, the Bearer key, and the context request and how it
runs. :mod:`memory.service.app` and :mod:`memory.service.inspect_routes` both build their routes on these."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends
from fastapi import Path as PathParam
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from memory.errors import InvalidArgument
from memory.memory import Memory
from memory.models import Context
from memory.service.limits import config_overrides_model
from memory.validation import MAX_NAME, MAX_QUERY_CHARS, MAX_SYSTEM_CHARS, NAME_RULE, check_name

NAME_PATTERN = r"^[^\x00-\x1f]*[^\x00-\x1f\s][^\x00-\x1f]*$"  # what check_name accepts (but '.', '..', '\\')


def _path_name(value: str) -> str:
    """The name rule (memory.validation.NAME_RULE) on a path segment: '.', '..' and '\\' too."""
    return check_name(value, "name")  # refused: request_error words it for the segment's own field


NAME = Annotated[
    str,
    PathParam(min_length=1, max_length=MAX_NAME, pattern=NAME_PATTERN, description=NAME_RULE),
    AfterValidator(_path_name),
]
_bearer = HTTPBearer(auto_error=False, description="an API key from the server's key file")
Creds = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
KeyPatterns = Callable[[HTTPAuthorizationCredentials | None], list[str]]  # a request's key -> its namespace patterns
Authorize = Callable[[str, HTTPAuthorizationCredentials | None], None]  # raises unless the key may use the namespace


def no_surrogates(value: str | None, field: str) -> str | None:
    if value is not None and any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValueError(f"{field}: not valid Unicode text (a lone surrogate); send UTF-8 text")
    return value


def as_of_json(value: Any) -> Any:
    """``as_of`` as JSON gives it: an integer (a seq), a number with a fraction or a string (a time).
    A boolean (which the union would take for 1) or anything else is refused before it is coerced;
    the 422 then carries the memory's own words (:func:`memory.validation.check_as_of_form`)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, str))):
        raise ValueError("not a seq or a time")
    return value


if TYPE_CHECKING:  # to the checker a model like any other; at run time the class built from the allow-list
    ConfigOverrides = BaseModel
else:
    ConfigOverrides = config_overrides_model()


class ContextRequest(BaseModel):
    """``POST .../context``: the context for the next model call."""

    model_config = ConfigDict(extra="forbid")

    query: str | None = Field(
        None, max_length=MAX_QUERY_CHARS, description=f"null: the recent window only; at most {MAX_QUERY_CHARS} chars"
    )
    budget: int = Field(4000, ge=1, le=10_000_000, strict=True)
    system: str | None = Field(None, max_length=MAX_SYSTEM_CHARS)
    now: str | float | None = None
    timezone: str | None = Field(
        None,
        max_length=64,
        description="the user's IANA time zone ('America/Los_Angeles'): relative times in the query are its days",
        examples=["America/Los_Angeles"],
    )
    as_of: int | float | str | None = Field(
        None,
        description="build the context from what existed at a point: a seq of the session (an integer: the last "
        "message the asker had seen) or a time (ISO 8601, or a Unix time with a fraction); `now` defaults to it",
        examples=[12, "2024-05-03T14:00:00Z"],
    )
    config: ConfigOverrides = Field(default_factory=ConfigOverrides)

    @field_validator("query", "system")
    @classmethod
    def _text(cls, value: str | None, info: ValidationInfo) -> str | None:
        return no_surrogates(value, str(info.field_name))

    _as_of = field_validator("as_of", mode="before")(as_of_json)


def build_context(mem: Memory, ns: str, session: str | None, body: ContextRequest) -> Context:
    """``mem.assemble`` for a request; a bad override is named ``config.<field>``."""
    overrides = body.config.model_dump(exclude_unset=True)
    try:
        return mem.assemble(
            body.query,
            session=session,
            namespace=ns,
            budget=body.budget,
            system=body.system,
            now=body.now,
            timezone=body.timezone,
            as_of=body.as_of,
            **overrides,
        )
    except InvalidArgument as exc:
        if exc.field and exc.field in overrides:
            raise InvalidArgument(f"config.{exc}", field=f"config.{exc.field}") from None
        raise


def context_response(mem: Memory, ns: str, session: str | None, body: ContextRequest) -> Response:
    """The context as the routes answer it: already a validated model, so serialized once instead
    of FastAPI's validate-then-encode."""
    ctx = build_context(mem, ns, session, body)
    return Response(ctx.model_dump_json(), media_type="application/json")


__all__ = [
    "Authorize",
    "KeyPatterns",
    "NAME",
    "NAME_PATTERN",
    "ConfigOverrides",
    "ContextRequest",
    "as_of_json",
    "Creds",
    "build_context",
    "context_response",
    "no_surrogates",
]
