"""The memory inspector: the page at ``/ui`` and the read routes it needs beside the core API.

The page (``memory/service/ui/static``: plain HTML, CSS and JavaScript, no build step, nothing fetched
from elsewhere) shows only what these public routes and the core ones return, with the same
keys: every namespace route checks the key like the core routes do (401 no or unknown key,
403 a namespace the key may not use), and the routes without a namespace (the assembly config,
eval results) need a known key when the server has keys.

Eval results: ``turnmem serve --eval-dir DIR`` lists the ``results.json`` files that
``turnmem eval`` wrote under ``DIR`` (the folder itself and up to two levels below) by their
folder names; a run is fetched by one of those names, looked up in that listing, never joined
to a path, so no request can read outside ``DIR``. Without ``--eval-dir`` the page reads an
uploaded ``results.json`` in the browser and nothing is sent to the server.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.types import Scope

from memory.errors import InvalidArgument, NotFound
from memory.memory import Memory
from memory.models import Context, StoredMessage
from memory.service.common import NAME, Authorize, ContextRequest, Creds, KeyPatterns, build_context
from memory.service.limits import SERVICE_OVERRIDES
from memory.session.state import STAGE, StateBlock, StateMachine
from memory.stores.rows import SUMMARY_SUFFIX
from memory.tokens import REPLY_PRIMING, count_message

UI_DIR = Path(__file__).resolve().parent / "ui" / "static"
MAX_RESULTS_BYTES = 64 * 1024 * 1024
# The page renders stored text as text; the policy keeps it from loading code, fonts or images from
# anywhere else: a stored remote image URL is shown as a link, opened in a new tab only on a click.
_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class SessionActivity(BaseModel):
    """One session of a namespace as the inspector lists it."""

    session: str
    last_seq: int
    messages: int = Field(description="messages stored (seqs are gap-free and only whole sessions are deleted)")
    created_at: datetime
    last_activity: datetime = Field(description="when the session last stored a message")
    summaries: int = Field(description="rolling summaries of the session (its `<session>::summaries` companion)")


class MachineView(BaseModel):
    machine: StateMachine | None = Field(description="the session's stage machine; null when it has none")
    stage: str | None = Field(description="the current stage (the `stage` state block)")


class Piece(BaseModel):
    """A retrieval piece the inspector can switch off: the override that does it."""

    name: str
    field: str
    off: Any
    description: str


class AssembleView(BaseModel):
    config: dict[str, Any] = Field(description="the server's values of the overridable assembly options")
    pieces: list[Piece]


class ContextExplained(BaseModel):
    """A context and where its tokens went: ``segments`` sum to ``context.tokens``."""

    context: Context
    segments: dict[str, int] = Field(
        description="system (with the reply-priming tokens), state (pinned state blocks), window (recent turns, "
        "and older ones filled in), retrieved, summaries (rolling summaries, whatever brought them)"
    )
    message_tokens: list[int] = Field(description="tokens of each message, parallel to context.messages")


class EvalRuns(BaseModel):
    enabled: bool = Field(description="false when the server was started without --eval-dir")
    runs: list[str] = Field(description="names of the results folders, to GET /v1/eval-results/{run}")


# Each piece and the value of its override that turns it off (all in SERVICE_OVERRIDES).
PIECES: list[Piece] = [
    Piece(name="lexical", field="lexical_weight", off=0.0, description="BM25 candidates fused with dense"),
    Piece(name="recency", field="recency_weight", off=0.0, description="the recency prior"),
    Piece(name="session", field="session_weight", off=0.0, description="the session-topic prior"),
    Piece(name="time", field="time_weight", off=0.0, description="time expressions in the query"),
    Piece(name="answer type", field="answer_type_weight", off=0.0, description="'the turn says when'"),
    Piece(name="speaker", field="speaker_weight", off=0.0, description="said by a participant the query names"),
    Piece(name="person", field="person_weight", off=0.0, description="said by the side the pronouns point at"),
    Piece(name="neighbours", field="neighbors", off=0.0, description="adjacent turns of a hit"),
    Piece(name="conversation query", field="query_turns", off=0, description="recent turns folded into the query"),
    Piece(name="fill window", field="fill_window", off=False, description="older turns in the budget left"),
    Piece(name="pinned state", field="pin_state", off=False, description="the session's state blocks"),
]
assert all(p.field in SERVICE_OVERRIDES for p in PIECES)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def segments(ctx: Context, message_tokens: list[int], system: bool) -> dict[str, int]:
    """Split ``ctx.breakdown`` into system / state / window / retrieved / summaries (summing to ``ctx.tokens``).

    Pinned messages come first: the system prompt (when given), then the state block.
    """
    pinned = ctx.breakdown.get("pinned", 0)
    system_tokens = REPLY_PRIMING + (message_tokens[0] if system and message_tokens else 0)
    summaries = {"window": 0, "retrieved": 0}
    for source, tokens in zip(ctx.sources, message_tokens):
        if source.ref is not None and source.ref.session.endswith(SUMMARY_SUFFIX):
            summaries[source.origin] += tokens
    window = ctx.breakdown.get("window", 0) + ctx.breakdown.get("fill", 0)
    retrieved = ctx.breakdown.get("retrieved", 0)
    return {
        "system": min(system_tokens, pinned),
        "state": max(0, pinned - system_tokens),
        "window": window - summaries["window"],
        "retrieved": retrieved - summaries["retrieved"],
        "summaries": summaries["window"] + summaries["retrieved"],
    }


def explain(mem: Memory, ns: str, session: str | None, body: ContextRequest) -> ContextExplained:
    ctx = build_context(mem, ns, session, body)
    counts = [count_message(mem.counter, m) for m in ctx.messages]
    return ContextExplained(context=ctx, segments=segments(ctx, counts, body.system is not None), message_tokens=counts)


def _finite(value: Any) -> Any:
    """JSON's NaN and Infinity (``json.dumps`` writes them; browsers refuse them) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def eval_folder(path: str | Path | None) -> Path | None:
    """``--eval-dir`` checked: an existing folder, or None."""
    if path is None:
        return None
    if not Path(path).is_dir():
        raise InvalidArgument(
            f"eval_dir: {path} is not a folder; give the --out folder of `turnmem eval`", field="eval_dir"
        )
    return Path(path)


def find_runs(folder: Path | None) -> dict[str, Path]:
    """``results.json`` files in ``folder`` and up to two levels below, by folder name (relative, '/')."""
    if folder is None:
        return {}
    root = folder.resolve()
    runs: dict[str, Path] = {}
    for pattern in ("results.json", "*/results.json", "*/*/results.json"):
        for path in sorted(root.glob(pattern)):
            real = path.resolve()
            if real.is_file() and real.is_relative_to(root):  # a symlink out of the folder is not served
                name = path.parent.relative_to(root).as_posix()
                runs[root.name if name == "." else name] = real
    return runs


class _Static(StaticFiles):
    """The page's files, with a content security policy."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def inspect_router(
    mem: Memory, key_patterns: KeyPatterns, authorize: Authorize, eval_dir: Path | None = None
) -> APIRouter:
    router = APIRouter(tags=["inspect"])

    @router.get("/v1/namespaces/{ns}/session-activity", response_model=list[SessionActivity])
    def session_activity(ns: NAME, creds: Creds) -> list[SessionActivity]:
        """The namespace's sessions with their size and last activity (summary companions folded in)."""
        authorize(ns, creds)
        rows = mem.sessions(ns)
        summaries = {r["session"][: -len(SUMMARY_SUFFIX)]: r["last_seq"] for r in rows if _is_summary(r)}
        return [
            SessionActivity(
                session=r["session"],
                last_seq=r["last_seq"],
                messages=r["last_seq"],
                created_at=_when(r["created_at"]),
                last_activity=_when(r["updated_at"]),
                summaries=summaries.get(r["session"], 0),
            )
            for r in rows
            if not _is_summary(r)
        ]

    @router.get("/v1/namespaces/{ns}/sessions/{session}/summaries", response_model=list[StoredMessage])
    def summaries(ns: NAME, session: NAME, creds: Creds) -> list[StoredMessage]:
        """The session's rolling summaries, oldest first; ``metadata.summary_of`` names the seqs each covers."""
        authorize(ns, creds)
        return mem.summaries(session, namespace=ns)

    @router.get("/v1/namespaces/{ns}/sessions/{session}/state/history", response_model=dict[str, list[StateBlock]])
    def state_history(
        ns: NAME,
        session: NAME,
        creds: Creds,
        name: Annotated[
            str | None,
            Query(min_length=1, max_length=64, description="one block, removed ones too (default: each current block)"),
        ] = None,
    ) -> dict[str, list[StateBlock]]:
        """Every version of each current state block (or of block ``name``), oldest first."""
        authorize(ns, creds)
        names = [name] if name is not None else list(mem.state(session, namespace=ns))
        return {n: mem.state_history(session, n, namespace=ns) for n in names}

    @router.get("/v1/namespaces/{ns}/sessions/{session}/state-machine", response_model=MachineView)
    def state_machine(ns: NAME, session: NAME, creds: Creds) -> MachineView:
        """The session's stage machine (null when none) and its current stage."""
        authorize(ns, creds)
        block = mem.state(session, namespace=ns).get(STAGE)
        stage = block.value if block is not None and isinstance(block.value, str) else None
        return MachineView(machine=mem.state_machine(session, namespace=ns), stage=stage)

    @router.post("/v1/namespaces/{ns}/sessions/{session}/context/explain", response_model=ContextExplained)
    def session_explain(ns: NAME, session: NAME, body: ContextRequest, creds: Creds) -> Response:
        """The session's context (as ``POST .../context``) with where its tokens went."""
        authorize(ns, creds)
        return Response(explain(mem, ns, session, body).model_dump_json(), media_type="application/json")

    @router.post("/v1/namespaces/{ns}/context/explain", response_model=ContextExplained)
    def namespace_explain(ns: NAME, body: ContextRequest, creds: Creds) -> Response:
        """The namespace's context (as ``POST /v1/namespaces/{ns}/context``) with where its tokens went."""
        authorize(ns, creds)
        return Response(explain(mem, ns, None, body).model_dump_json(), media_type="application/json")

    @router.get("/v1/assemble-config", response_model=AssembleView)
    def assemble_config(creds: Creds) -> AssembleView:
        """The server's assembly options that a request may override, and the pieces that can be switched off."""
        key_patterns(creds)
        values = mem.config.model_dump(mode="json")
        return AssembleView(config={k: values[k] for k in SERVICE_OVERRIDES}, pieces=PIECES)

    @router.get("/v1/eval-results", response_model=EvalRuns)
    def eval_runs(creds: Creds) -> EvalRuns:
        """The results folders under the server's ``--eval-dir`` (none without it)."""
        key_patterns(creds)
        return EvalRuns(enabled=eval_dir is not None, runs=list(find_runs(eval_dir)))

    @router.get(
        "/v1/eval-results/{run:path}",
        response_model=dict[str, Any],
        responses={404: {"description": "no results folder of that name"}, 422: {"description": "too big to serve"}},
    )
    def eval_results(run: str, creds: Creds) -> Response:
        """One run's ``results.json`` (NaN as null), by a name ``GET /v1/eval-results`` listed."""
        key_patterns(creds)
        path = find_runs(eval_dir).get(run)
        if path is None:
            raise NotFound(f"run: no results folder named {run!r}; GET /v1/eval-results lists them")
        if path.stat().st_size > MAX_RESULTS_BYTES:
            raise InvalidArgument(f"run: {run!r} is over {MAX_RESULTS_BYTES} bytes; open it in Python", field="run")
        data = _finite(json.loads(path.read_text(encoding="utf-8")))
        return Response(json.dumps(data, allow_nan=False), media_type="application/json")

    return router


def _is_summary(row: dict[str, Any]) -> bool:
    return str(row["session"]).endswith(SUMMARY_SUFFIX)


def install_inspector(
    app: FastAPI, mem: Memory, key_patterns: KeyPatterns, authorize: Authorize, *, eval_dir: Path | None = None
) -> None:
    """Add the inspector's read routes to ``app`` and serve the page at ``/ui``."""
    app.include_router(inspect_router(mem, key_patterns, authorize, eval_dir))
    app.mount("/ui", _Static(directory=UI_DIR, html=True), name="ui")


__all__ = ["ContextExplained", "PIECES", "SessionActivity", "find_runs", "inspect_router", "install_inspector"]
