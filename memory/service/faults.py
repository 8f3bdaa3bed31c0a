"""Error answers the service gives outside the validation of a request: a :class:`TurnmemError`
as its JSON body and status (:func:`error_response`), and any other exception a route raised
(:class:`Faults`): a storage fault a driver raised (disk full, a lost database connection) as a
:class:`memory.errors.StorageError` (507, or 503 with ``Retry-After``), anything else as a JSON
500 ``ServiceError``, logged with its traceback.

Why a middleware: an exception no handler takes reaches Starlette's ``ServerErrorMiddleware``,
which answers a plain-text 500 and raises it again; uvicorn then closes the keep-alive
connection, and the client's next request on it fails with "connection reset". Answered here,
the exception ends with the answer and the connection stays open. The drivers' classes cannot
all be registered as handlers (psycopg is an optional extra, not imported here), so a fault is
read by meaning (:func:`memory.stores.faults.storage_error`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi.responses import JSONResponse

from memory.errors import ServiceError, TurnmemError
from memory.stores.faults import storage_error

log = logging.getLogger("turnmem.server")


def error_response(exc: TurnmemError) -> JSONResponse:
    """``exc`` as the service answers it: its body and status, ``Retry-After`` on a 503 and
    ``WWW-Authenticate`` on a 401."""
    status = exc.status_code
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {"Retry-After": "1"} if status == 503 else None
    return JSONResponse(exc.body(), status_code=status, headers=headers)


class Faults:
    """ASGI middleware: an exception a route raised becomes a JSON answer (see the module), logged
    with its traceback; one raised after the answer started goes on (uvicorn closes that connection)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            fault = storage_error(exc) or ServiceError(
                f"internal error ({type(exc).__name__}); nothing of this request is acknowledged; "
                "the server's log has the traceback",
                status=500,
            )
            log.error("%s %s failed: %s", scope.get("method"), scope.get("path"), exc, exc_info=exc)
            await error_response(fault)(scope, receive, send)


__all__ = ["Faults", "error_response"]
