"""Prompts and grading rules of the answers stage (:mod:`eval.answers`).

The prompt files in ``eval/prompts/`` (fixed and versioned: a change is a new file), how a
context becomes the transcript the answer model reads, which questions are graded on
refusing, and how a judge's reply becomes a label and a reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.answer_cache import content_hash
from eval.datasets import Question
from memory.errors import InvalidArgument
from memory.models import Message

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
_PLACEHOLDER = re.compile(r"\{(context|question|gold_answer|answer)\}")
_LABEL = re.compile(r"\b(CORRECT|WRONG)\b")
_JSON_OBJECT = re.compile(r"\{.*\}", re.S)


@dataclass(frozen=True)
class Prompt:
    """A prompt file of ``eval/prompts``; ``version`` (name and content hash) goes into cache keys."""

    name: str
    text: str

    @property
    def version(self) -> str:
        return f"{self.name}@{content_hash(self.text)[:12]}"

    def fill(self, **values: str) -> str:
        """Replace ``{context}``, ``{question}``, ``{gold_answer}``, ``{answer}`` in one pass
        (the values' own braces are left alone, the prompt's JSON example too)."""
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), self.text)


def load_prompt(name: str) -> Prompt:
    path = PROMPTS_DIR / f"{name}.txt"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROMPTS_DIR.glob("*.txt")))
        raise InvalidArgument(f"prompt: no prompt {name!r} in {PROMPTS_DIR}; have {known}", field="prompt")
    return Prompt(name, path.read_text(encoding="utf-8").strip() + "\n")


def render_context(messages: Sequence[dict[str, Any]]) -> str:
    """A strategy's context messages as a transcript, one ``speaker: text`` block per message
    (images as their caption, tool calls as ``name(arguments)``)."""
    lines = []
    for m in messages:
        text: str | None
        try:
            text = Message.model_validate(m).text()
        except ValueError:
            text = m.get("content") if isinstance(m.get("content"), str) else json.dumps(m.get("content"))
        if not text:
            continue
        who = m.get("name") or ("tool result" if m.get("role") == "tool" else m.get("role", "?"))
        lines.append(f"{who}: {text}")
    return "\n".join(lines)


def graded_on_refusing(dataset: str, question: Question) -> bool:
    """LoCoMo category 5 (adversarial) and LongMemEval's ``*_abs`` questions have no answer to find."""
    if dataset == "locomo":
        return question.category == "5"
    if dataset == "longmemeval":
        return question.category.endswith("_abs") or question.id.endswith("_abs")
    return False


def parse_verdict(text: str) -> tuple[str, str]:
    """``(label, reason)`` from the judge's reply: a JSON object with ``label`` and ``reason``, else
    the one label word in the text. ValueError when there is no label or both appear."""
    m = _JSON_OBJECT.search(text)
    if m:
        try:
            data = json.loads(m.group(0))
            label = str(data.get("label", "")).strip().upper()
            if label in ("CORRECT", "WRONG"):
                return label, str(data.get("reason", "")).strip()
        except (ValueError, AttributeError):
            pass
    labels = set(_LABEL.findall(text.upper()))
    if len(labels) != 1:
        raise ValueError(f"judge: no single CORRECT/WRONG label in its reply {text[:200]!r}")
    return labels.pop(), _LABEL.sub("", text).strip(" \n:.-{}\"'")
