"""Benchmark datasets as one shape: conversations of sessions of turns, plus questions.

- :func:`load_locomo`: LoCoMo (``locomo10.json``, CC BY-NC 4.0, Maharana et al. 2024).
- :func:`load_longmemeval`: LongMemEval ``_s`` / ``_m`` / ``_oracle`` JSON (Wu et al. 2024).
- :func:`eval.synthetic.generate`: a seeded synthetic conversation with planted facts.
- :func:`eval.synthetic_chat.generate`: seeded user-assistant histories (chatbot-shaped).
- :func:`eval.synthetic_prefs.generate`: preferences stated once, applied to later requests.
- :func:`eval.synthetic_projects.generate`: parallel long-running projects, asked mid-history.

Every loader takes a local path; nothing here downloads. A turn's ``id`` is what evidence
refers to (LoCoMo ``dia_id``, LongMemEval ``<session id>:<index>``); the runner stores it
in the message's ``metadata["turn_id"]``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from eval.dataset_models import Conversation as Conversation
from eval.dataset_models import Dataset as Dataset
from eval.dataset_models import Question as Question
from eval.dataset_models import Session as Session
from eval.dataset_models import Turn as Turn
from memory.errors import InvalidArgument

LOCOMO_CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
DEFAULT_LOCOMO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "locomo10.json"


# -- LoCoMo ----------------------------------------------------------------------------------

_LOCOMO_DATE = "%I:%M %p on %d %B, %Y"
_DIA = re.compile(r"D\s*:?\s*(\d+)\s*:\s*0*(\d+)")


def _parse_locomo_date(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.strip()
    for fmt in (_LOCOMO_DATE, "%I:%M %p on %d %b, %Y", "%I:%M %p on %B %d, %Y"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def clean_evidence(raw: list[Any], known: set[str]) -> tuple[list[str], int]:
    """Split, normalize (``D:11:26`` → ``D11:26``, ``D30:05`` → ``D30:5``) and keep the ids
    that name a turn. Returns ``(ids, dropped)``."""
    out: list[str] = []
    dropped = 0
    for item in raw or []:
        found = [f"D{int(a)}:{int(b)}" for a, b in _DIA.findall(str(item))]
        if not found:
            dropped += 1
            continue
        for ev in found:
            if ev in known:
                if ev not in out:
                    out.append(ev)
            else:
                dropped += 1
    return out, dropped


def parse_asked_after(value: Any, known: set[str], question: str) -> str | None:
    """A question's ``asked_after`` (``"D12:5"``, normalized like evidence ids), or None when
    absent. An id that names no turn is an error, not dropped: the question would silently be
    asked after the whole history instead."""
    if value is None or value == "":
        return None
    found = [f"D{int(a)}:{int(b)}" for a, b in _DIA.findall(str(value))]
    if len(found) != 1 or found[0] not in known:
        raise InvalidArgument(
            f"asked_after: question {question} gives {value!r}, which names no turn of its conversation "
            "(expected one turn id such as 'D12:5')",
            field="asked_after",
        )
    return found[0]


def _safe_name(name: str) -> str:
    """OpenAI's ``name`` field allows ``[A-Za-z0-9_-]{1,64}``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip())[:64] or "speaker"


def _locomo_message(turn: dict[str, Any], role: str, images: str) -> dict[str, Any]:
    text = str(turn.get("text", ""))
    urls = turn.get("img_url") or []
    if isinstance(urls, str):
        urls = [urls]
    caption = turn.get("blip_caption")
    msg: dict[str, Any] = {"role": role, "name": _safe_name(str(turn.get("speaker", role)))}
    if not (urls or caption):
        msg["content"] = text
    elif images == "parts" and urls:
        parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        for i, url in enumerate(urls):
            part: dict[str, Any] = {"type": "image_url", "image_url": {"url": str(url)}}
            if caption and i == 0:
                part["caption"] = str(caption)
            parts.append(part)
        msg["content"] = parts
    else:
        msg["content"] = f"{text}\n[image: {caption}]" if caption else text
    return msg


def load_locomo(path: str | Path | None = None, *, images: Literal["parts", "caption"] = "parts") -> Dataset:
    """Load LoCoMo: each conversation a namespace, each ``session_N`` a session.

    Speakers alternate as ``user`` (``speaker_a``) and ``assistant`` (``speaker_b``), each
    message carrying the speaker's ``name``. Turns are timestamped from the session's
    ``session_N_date_time`` plus 30 s per turn. Image turns keep ``img_url`` as an
    ``image_url`` part captioned with ``blip_caption`` (``images="parts"``), or append the
    caption to the text (``images="caption"``: what a text-only model sees).
    Evidence ids are cleaned (:func:`clean_evidence`); ``notes["evidence_dropped"]`` counts
    the entries that named no turn. A question may carry ``"asked_after": "D12:5"`` (the last
    turn the asker had seen; :func:`parse_asked_after`), kept in ``Question.asked_after``.
    """
    p = Path(path) if path is not None else DEFAULT_LOCOMO
    if not p.is_file():
        raise InvalidArgument(
            f"data: no LoCoMo file at {str(p)!r}; pass --data PATH to locomo10.json "
            "(from github.com/snap-research/LoCoMo, data/locomo10.json)",
            field="data",
        )
    raw = json.loads(p.read_text(encoding="utf-8"))
    convs: list[Conversation] = []
    dropped_total = 0
    for item in raw:
        cid = str(item["sample_id"])
        conv = item["conversation"]
        speaker_a = conv.get("speaker_a")
        keys = sorted(
            (k for k in conv if re.fullmatch(r"session_\d+", k) and isinstance(conv[k], list) and conv[k]),
            key=lambda k: int(k.split("_")[1]),
        )
        sessions: list[Session] = []
        known: set[str] = set()
        for k in keys:
            date = _parse_locomo_date(conv.get(f"{k}_date_time"))
            turns = []
            for i, t in enumerate(conv[k]):
                role = "user" if t.get("speaker") == speaker_a else "assistant"
                ts = date + timedelta(seconds=30 * i) if date else None
                tid = str(t["dia_id"])
                known.add(tid)
                turns.append(Turn(id=tid, message=_locomo_message(t, role, images), timestamp=ts))
            sessions.append(Session(id=k, date=date, turns=turns))
        last = max((t.timestamp for s in sessions for t in s.turns if t.timestamp), default=None)
        asked = last + timedelta(days=1) if last else None
        session_of = {t.id: s.id for s in sessions for t in s.turns}
        questions = []
        for qi, q in enumerate(item.get("qa", [])):
            ev, dropped = clean_evidence(q.get("evidence", []), known)
            dropped_total += dropped
            cat = int(q.get("category", 0))
            answer = q.get("answer", q.get("adversarial_answer"))
            questions.append(
                Question(
                    id=f"{cid}/q{qi}",
                    question=str(q["question"]),
                    answer=None if answer is None else str(answer),
                    category=str(cat),
                    evidence=ev,
                    evidence_sessions=sorted({session_of[e] for e in ev}, key=lambda s: int(s.split("_")[1])),
                    date=asked,
                    asked_after=parse_asked_after(q.get("asked_after"), known, f"{cid}/q{qi}"),
                )
            )
        convs.append(Conversation(id=cid, sessions=sessions, questions=questions))
    return Dataset(
        name="locomo",
        conversations=convs,
        source=str(p),
        notes={"evidence_dropped": dropped_total, "license": "CC BY-NC 4.0 (LoCoMo, Maharana et al. 2024)"},
    )


# -- LongMemEval -----------------------------------------------------------------------------


def _parse_lme_date(value: str | None) -> datetime | None:
    if not value:
        return None
    text = re.sub(r"\s*\([A-Za-z]{3}\)\s*", " ", str(value)).strip()
    for fmt in ("%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def load_longmemeval(path: str | Path) -> Dataset:
    """Load a LongMemEval file (``longmemeval_s`` / ``_m`` / ``_oracle`` JSON).

    One conversation (namespace) per question, holding its ``haystack_sessions``; turn ids
    are ``<session id>:<index>``; evidence is the turns with ``has_answer`` (and, at the
    session level, ``answer_session_ids``); the question is asked at ``question_date``, and the
    eval scores it as of then (``Dataset.question_dates_as_of``).
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidArgument(f"data: no LongMemEval file at {str(p)!r}; pass --data PATH", field="data")
    raw = json.loads(p.read_text(encoding="utf-8"))
    if isinstance(raw, dict):
        raw = [raw]
    convs: list[Conversation] = []
    for n, item in enumerate(raw):
        for key in ("question_id", "question", "haystack_sessions"):
            if key not in item:
                raise InvalidArgument(f"data: item {n} has no {key!r}; is this a LongMemEval file?", field="data")
        qid = str(item["question_id"])
        ids = [
            str(s) for s in item.get("haystack_session_ids") or [f"s{i}" for i in range(len(item["haystack_sessions"]))]
        ]
        dates = item.get("haystack_dates") or [None] * len(ids)
        sessions: list[Session] = []
        evidence: list[str] = []
        seen_ids: dict[str, int] = {}
        for sid, date_s, turns_raw in zip(ids, dates, item["haystack_sessions"]):
            # Session ids can repeat in _m; keep them unique.
            seen_ids[sid] = seen_ids.get(sid, 0) + 1
            sess_id = sid if seen_ids[sid] == 1 else f"{sid}#{seen_ids[sid]}"
            date = _parse_lme_date(date_s)
            turns = []
            for i, t in enumerate(turns_raw):
                role = t.get("role", "user")
                if role not in ("user", "assistant", "system"):
                    role = "user"
                tid = f"{sess_id}:{i}"
                has = bool(t.get("has_answer", False))
                if has:
                    evidence.append(tid)
                ts = date + timedelta(seconds=30 * i) if date else None
                turns.append(
                    Turn(
                        id=tid,
                        message={"role": role, "content": str(t.get("content", ""))},
                        timestamp=ts,
                        has_answer=has,
                    )
                )
            sessions.append(Session(id=sess_id, date=date, turns=turns))
        answer_sessions = [str(s) for s in item.get("answer_session_ids", [])]
        if not evidence:  # some abstention items: fall back to whole answer sessions
            evidence = [t.id for s in sessions if s.id in answer_sessions for t in s.turns]
        qtype = str(item.get("question_type", "all"))
        if qid.endswith("_abs"):
            qtype = f"{qtype}_abs"
        question = Question(
            id=qid,
            question=str(item["question"]),
            answer=None if item.get("answer") is None else str(item.get("answer")),
            category=qtype,
            evidence=evidence,
            evidence_sessions=answer_sessions,
            date=_parse_lme_date(item.get("question_date")),
        )
        convs.append(Conversation(id=qid, sessions=sessions, questions=[question]))
    return Dataset(name="longmemeval", conversations=convs, source=str(p), question_dates_as_of=True)


def load_dataset(name: str, path: str | Path | None = None, **kwargs: Any) -> Dataset:
    """``locomo`` | ``longmemeval`` | ``synthetic`` (kwargs: turns, seed) | ``chat`` (kwargs:
    seed, conversations, sessions, min_exchanges, max_exchanges) | ``prefs`` (kwargs: seed,
    conversations, sessions, preferences, min_exchanges, max_exchanges) | ``projects`` (kwargs:
    seed, conversations, sessions, min_exchanges, max_exchanges) by name."""
    if name == "locomo":
        return load_locomo(path, **kwargs)
    if name == "longmemeval":
        if path is None:
            raise InvalidArgument("data: give the path to a LongMemEval JSON file (--data PATH)", field="data")
        return load_longmemeval(path)
    if name == "synthetic":
        # lazy: the generators' word tables cost ~0.1 s at import
        from eval.synthetic import generate  # noqa: PLC0415

        return generate(**kwargs)
    if name == "chat":
        from eval.synthetic_chat import generate as generate_chat  # noqa: PLC0415 - lazy, as above

        return generate_chat(**kwargs)
    if name == "prefs":
        from eval.synthetic_prefs import generate as generate_prefs  # noqa: PLC0415 - lazy, as above

        return generate_prefs(**kwargs)
    if name == "projects":
        from eval.synthetic_projects import generate as generate_projects  # noqa: PLC0415 - lazy, as above

        return generate_projects(**kwargs)
    raise InvalidArgument(
        f"dataset: unknown dataset {name!r}; use locomo, longmemeval, synthetic, chat, prefs or projects",
        field="dataset",
    )
