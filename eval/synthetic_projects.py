"""The projects set ("projects"): users juggling parallel projects with the assistant, asked mid-history.

``generate(seed=7)`` builds ``conversations`` histories (namespaces ``projects-<seed>-<n>``)
of ``sessions`` sessions (1-3 days apart) in which a user runs 2-4 projects at once (a job
search, an invoice script, a half-marathon plan, a bathroom renovation...; the timeline is
:mod:`eval.project_timeline`): the assistant proposes numbered plans and option lists, the
user accepts ("Looks good, let's go with that plan."), picks ("Let's go with option 2."),
revises a step ("Let's change step 3 to ...") and reports progress, among in-thread side
questions and unrelated chats. Turn ids ``D<session>:<turn>``.

Each question is asked at a point of the history: ``asked_after`` is the last turn the asker
had seen (an assistant turn; at least one turn follows it), ``date`` a few minutes later.
The answer is what held *then*: later revisions and progress reports, written after the
question, are not its evidence. Abilities (``category``):

- ``plan_recall``: a step of a plan not revised by then ("What did we plan for the weekend
  run?"); evidence: the plan and the user's acceptance;
- ``revision``: a step revised by then; evidence: the newest revision as of the question (the
  user's change and the assistant's confirmation); the plan and older revisions are
  ``notes["stale_evidence"]`` (so the summary's ``latest_value`` is the newest-version score);
- ``choice``: "Remind me what we settled on for the budget."; evidence: the option list and
  the pick;
- ``progress``: "Where am I with the script?" (evidence: the latest progress report) or
  "What's next on the script?" (that report and the turn holding the next step's newest
  version); older reports are stale evidence.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from eval.dataset_models import Conversation, Dataset, Question, check_generator_args
from eval.devset_overlap import overlap_summary
from eval.project_timeline import History, Project, history
from eval.project_words import CHOICE_ASKS, NEXT_ASKS, STEP_ASKS, WHERE_ASKS

GENERATOR_VERSION = 1
CATEGORIES: tuple[str, ...] = ("plan_recall", "revision", "choice", "progress")


class _Asker:
    """Draws the questions of one history; remembers them (and their stale evidence) in order."""

    def __init__(self, rng: random.Random, cid: str, h: History) -> None:
        self.rng, self.cid, self.h = rng, cid, h
        self.last = len(h.ids) - 1
        self.drafts: list[tuple[int, Question, list[str]]] = []  # (asked-after position, question, stale)

    def points(self, lo: int, hi: int, k: int) -> list[int]:
        """Up to ``k`` assistant-turn positions in ``[lo, hi)``, never the very last turn."""
        cands = [i for i in range(lo, min(hi, self.last)) if self.h.roles[i] == "assistant"]
        return sorted(self.rng.sample(cands, min(k, len(cands))))

    def when(self, at: int) -> datetime:
        """A moment after turn ``at`` and before the next one (the asker has seen ``at``, not what follows)."""
        gap = int((self.h.times[at + 1] - self.h.times[at]).total_seconds())
        return self.h.times[at] + timedelta(seconds=self.rng.randint(1, max(1, min(600, gap - 1))))

    def ask(self, at: int, category: str, text: str, answer: str, evidence: list[int], stale: list[int]) -> None:
        h = self.h
        ev = [h.ids[i] for i in sorted(set(evidence))]
        sessions = sorted({f"session_{e[1:].split(':')[0]}" for e in ev}, key=lambda s: int(s.split("_")[1]))
        q = Question(
            id="",
            question=text,
            answer=answer,
            category=category,
            evidence=ev,
            evidence_sessions=sessions,
            date=self.when(at),
            asked_after=h.ids[at],
        )
        self.drafts.append((at, q, [h.ids[i] for i in sorted(set(stale))]))

    def project(self, p: Project) -> None:
        rng, kind = self.rng, p.kind
        kickoff = next(e for e in p.events if e.kind == "kickoff")
        plan, accept = kickoff.pos[1], kickoff.pos[2]
        revisions = sorted((e for e in p.events if e.kind == "revision"), key=lambda e: e.pos[0])
        reports = sorted((e for e in p.events if e.kind == "progress"), key=lambda e: e.pos[0])

        def holder(step: int, at: int) -> tuple[list[int], list[int], str]:
            """The turns holding ``step``'s newest version as of ``at``, the older ones, its value."""
            mine = [r for r in revisions if r.index == step and r.pos[1] <= at]
            if not mine:
                return [plan, accept], [], p.values[step]
            older = [plan] + [i for r in mine[:-1] for i in r.pos]
            return list(mine[-1].pos), older, mine[-1].value

        for j, step in enumerate(kind.steps):  # plan_recall and revision: each version of each step
            mine = [r for r in revisions if r.index == j]
            bounds = [accept + 1] + [r.pos[1] for r in mine]
            ends = [r.pos[0] for r in mine] + [self.last]
            for v, (lo, hi) in enumerate(zip(bounds, ends)):
                for at in self.points(lo, hi, 1 if v == 0 else 2):
                    ev, stale, value = holder(j, at)
                    text = rng.choice(STEP_ASKS).format(step=rng.choice(step.refs), name=p.name)
                    self.ask(at, "plan_recall" if v == 0 else "revision", text, value, ev, stale)
        for e in (e for e in p.events if e.kind == "decision"):
            dec = kind.decisions[e.index]
            for at in self.points(e.pos[3], self.last, 2):
                text = rng.choice(CHOICE_ASKS).format(dec=rng.choice(dec.refs), name=p.name)
                self.ask(at, "choice", text, dec.options[p.picks[e.index]][0], [e.pos[1], e.pos[2]], [])
        for k, e in enumerate(reports):
            hi = reports[k + 1].pos[0] if k + 1 < len(reports) else self.last
            stale = [r.pos[0] for r in reports[:k]]
            for at in self.points(e.pos[1], hi, 2):
                if e.index + 1 < len(kind.steps) and rng.random() < 0.6:
                    turns, older, value = holder(e.index + 1, at)
                    newest = plan if turns[0] == plan else turns[-1]  # the plan, or the revision's confirmation
                    text = rng.choice(NEXT_ASKS).format(name=p.name)
                    answer = f"step {e.index + 2}, {kind.steps[e.index + 1].label.lower()}: {value}"
                    self.ask(at, "progress", text, answer, [e.pos[0], newest], stale + older)
                else:
                    text = rng.choice(WHERE_ASKS).format(name=p.name)
                    answer = f"step {e.index + 1} ({kind.steps[e.index].label.lower()}) is done"
                    self.ask(at, "progress", text, answer, [e.pos[0]], stale)

    def questions(self) -> tuple[list[Question], dict[str, list[str]]]:
        """The questions in the order they are asked, numbered, and their stale evidence by id."""
        out: list[Question] = []
        stale: dict[str, list[str]] = {}
        for _, q, old in sorted(self.drafts, key=lambda d: d[0]):
            q.id = f"{self.cid}/q{len(out)}"
            out.append(q)
            if old:
                stale[q.id] = old
        return out, stale


def _conversation(
    cid: str, rng: random.Random, n_sessions: int, exchanges: tuple[int, int]
) -> tuple[Conversation, dict[str, list[str]]]:
    h = history(rng, n_sessions, exchanges)
    asker = _Asker(rng, cid, h)
    for p in h.projects:
        asker.project(p)
    evidence = {e for _, q, _ in asker.drafts for e in q.evidence}
    for s in h.sessions:
        for t in s.turns:
            t.has_answer = t.id in evidence
    questions, stale = asker.questions()
    return Conversation(id=cid, sessions=h.sessions, questions=questions), stale


def generate(
    seed: int = 7,
    *,
    conversations: int = 2,
    sessions: int = 120,
    min_exchanges: int = 1,
    max_exchanges: int = 5,
) -> Dataset:
    """A deterministic projects set (see the module docstring).

    ``conversations`` histories (1-100) of ``sessions`` sessions (10-400) of
    ``min_exchanges``-``max_exchanges`` exchanges (more when structured events land together).
    Default: 2 × 120 sessions, about 770 turns and 70 questions per history.
    """
    check_generator_args(
        (
            ("conversations", conversations, 1, 100),
            ("sessions", sessions, 10, 400),
            ("min_exchanges", min_exchanges, 1, 20),
            ("max_exchanges", max_exchanges, 1, 20),
            ("seed", seed, -(2**63), 2**63),
        ),
        min_exchanges,
        max_exchanges,
    )
    rng = random.Random(seed)
    convs: list[Conversation] = []
    stale: dict[str, list[str]] = {}
    for c in range(conversations):
        conv, conv_stale = _conversation(f"projects-{seed}-{c}", rng, sessions, (min_exchanges, max_exchanges))
        convs.append(conv)
        stale.update(conv_stale)
    ds = Dataset(
        name="projects",
        conversations=convs,
        source=f"eval.synthetic_projects.generate(seed={seed}, conversations={conversations}, sessions={sessions})",
    )
    ds.notes = {
        "generator": "eval.synthetic_projects",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "conversations": conversations,
        "sessions": sessions,
        "exchanges": [min_exchanges, max_exchanges],
        "questions_per_category": {cat: sum(q.category == cat for q in ds.questions) for cat in CATEGORIES},
        "lexical_overlap": overlap_summary(ds),
        "stale_evidence": stale,
        "asked_after": "every question carries the last turn its asker had seen",
        "development_set": "tuned on: not a held-out result",
    }
    return ds
