"""Long markdown assistant answers for :mod:`eval.synthetic_chat`.

:func:`compose` builds one answer of ``min_words``-``max_words`` words (whitespace-split)
from a topic's pools (:mod:`eval.chat_topics`): a heading, an intro that repeats the
request's subject, then sections (numbered steps, bullet tips, pitfalls, a table, code for
coding questions, extra paragraphs) until a drawn length is reached, and a closing offer.
A ``feature`` (the one sentence an ``assistant_fact`` question asks about) is put in as a
paragraph at a random place after the intro. Answers echo the subject and the topic's words
heavily, as real assistants do; they never echo the user's planted facts.
"""

from __future__ import annotations

import random

from eval.chat_topics import Topic

MIN_WORDS, MAX_WORDS = 300, 1000

OPENERS = (
    "",
    "",
    "",
    "Sure! ",
    "Great question. ",
    "Happy to help. ",
    "Absolutely. ",
    "Good thinking to plan this ahead. ",
)
CLOSERS = (
    "Want me to turn this into a printable checklist?",
    "If you tell me a bit more about your situation, I can tailor this further.",
    "Shall I put together a shorter version you can keep on your phone?",
    "Let me know how it goes, and we can adjust from there.",
    "Would a week-by-week version of this help?",
    "Happy to go deeper on any of these steps.",
)
ECHO = (  # sentences that repeat the request's subject, as real answers do
    "The most common question about {s} is where to start, so start with the part you can do today.",
    "People often overthink {s}; the basics below cover most situations.",
    "If {s} is new to you, expect the first attempt to take a little longer than the later ones.",
    "A good rule of thumb for {s}: get the order of steps right and the details will follow.",
    "What makes {s} work is mostly preparation, which is why the list below starts there.",
    "For {s}, the cheapest option is usually fine for a first go, and you can upgrade later.",
    "There's no single right way to handle {s}, but the approach below is the one most people stick with.",
    "Most of the problems with {s} come from rushing one step, usually the first or the last.",
    "If you have less time, the shortened version of {s} is to do steps one, two and the last one.",
    "When {s} goes wrong, it's nearly always recoverable, so don't panic.",
    "The details of {s} depend a little on your setup, so adapt the numbers to what you have.",
    "Once you've done {s} a couple of times, you won't need the list any more.",
    "Many guides to {s} skip the boring parts, which are exactly the parts that matter.",
    "You don't need special equipment for {s}; what you already have is usually enough.",
    "A quick check halfway through {s} saves you from redoing the whole thing.",
    "I'd plan about an hour for {s} the first time, including setting up and tidying away.",
    "With {s}, consistency matters more than getting every detail perfect.",
    "Write down what worked for {s}, so next time you can skip the trial and error.",
)
GENERIC = (
    "None of this has to be perfect on the first try; a rough version you actually use beats a perfect plan you don't.",
    "It's worth writing down what you tried and how it went, so the next attempt starts from there.",
    "If you only do one thing from this list, make it the first step; the rest builds on it.",
    "Small, regular effort tends to beat big occasional pushes here.",
    "Most people find the second time through much faster, once the setup is done.",
    "Give it a couple of weeks before judging whether it works for you.",
    "When in doubt, choose the simpler option and revisit later.",
    "Keep notes in one place so you are not hunting for them next time.",
)


def _sentence(text: str, subject: str) -> str:
    out = text.replace("{s}", subject)
    return out[:1].upper() + out[1:]


def _words(blocks: list[str]) -> int:
    return sum(len(b.split()) for b in blocks)


def _paragraph(rng: random.Random, pool: list[str], subject: str, k: int) -> str:
    picked = [pool.pop() for _ in range(min(k, len(pool)))] or [rng.choice(GENERIC)]
    return " ".join(_sentence(t, subject) for t in picked)


def _table(rng: random.Random, topic: Topic) -> str:
    keep = sorted(rng.sample(range(len(topic.table_rows)), min(len(topic.table_rows), rng.randint(4, 7))))
    rows = [topic.table_rows[i] for i in keep]
    head = "| " + " | ".join(topic.table_head) + " |"
    sep = "|" + "---|" * len(topic.table_head)
    return "\n".join([head, sep, *("| " + " | ".join(r) + " |" for r in rows)])


def _title(rng: random.Random, titles: list[str], fallback: tuple[str, ...]) -> str:
    """A section title not used yet in this answer (from the topic's headings, then ``fallback``)."""
    return titles.pop() if titles else rng.choice(fallback)


def _section(rng: random.Random, topic: Topic, kind: str, subject: str, paras: list[str], titles: list[str]) -> str:
    if kind == "steps":
        items = rng.sample(list(topic.steps), min(len(topic.steps), rng.randint(4, 7)))
        body = "\n".join(f"{i}. {s}" for i, s in enumerate(items, start=1))
        return f"### {rng.choice(('Step by step', 'How to do it', 'The plan', 'Order of work'))}\n\n{body}"
    if kind in ("tips", "mistakes"):
        pool = topic.tips if kind == "tips" else topic.mistakes
        items = rng.sample(list(pool), min(len(pool), rng.randint(3, 6)))
        title = (
            _title(rng, titles, ("Tips", "Worth knowing"))
            if kind == "tips"
            else rng.choice(("Common mistakes", "What to avoid"))
        )
        bullets = "\n".join(f"- {s}" for s in items)
        return f"### {title}\n\n{bullets}"
    if kind == "table":
        return f"### {rng.choice(('At a glance', 'Overview', 'Quick reference'))}\n\n{_table(rng, topic)}"
    if kind == "code":
        fits = [c for c in topic.code if c[0] == subject] or [c for c in topic.code if not c[0]]
        _, lang, body = rng.choice(fits)
        lead = _sentence(
            rng.choice(("Here's a version for {s}:", "A minimal example:", "Something like this:")), subject
        )
        return f"{lead}\n\n```{lang}\n{body}\n```"
    title = _title(rng, titles, ("More detail", "A few more notes", "Background"))
    return f"### {title}\n\n{_paragraph(rng, paras, subject, rng.randint(2, 4))}"


def compose(
    rng: random.Random,
    topic: Topic,
    subject: str,
    *,
    feature: str | None = None,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
) -> str:
    """One markdown answer about ``subject`` in ``topic``, ``min_words``-``max_words`` words."""
    target = int(rng.triangular(min_words + 20, max_words - 100, min_words + 20))
    paras = list(topic.paras) + rng.sample(ECHO, 8)
    rng.shuffle(paras)
    titles = [h for h in topic.headings if h not in ("Common mistakes", "What to avoid")]
    rng.shuffle(titles)
    intro = _sentence(rng.choice(topic.intros), subject)
    head = f"{rng.choice(OPENERS)}{intro}".strip()
    title = f"## {_sentence(subject, subject)}"
    blocks = [head, title, _paragraph(rng, paras, subject, rng.randint(2, 3))]
    kinds = ["steps", "tips", "mistakes", "table", "para", "para", "para"]
    if topic.code:
        kinds.append("code")
    rng.shuffle(kinds)
    if topic.name == "coding" and "code" in kinds:  # coding answers lead with code
        kinds.remove("code")
        kinds.insert(0, "code")
    body: list[str] = []
    for kind in kinds:
        if _words(blocks + body) >= target:
            break
        body.append(_section(rng, topic, kind, subject, paras, titles))
    while _words(blocks + body) < min(target, max_words - 100):
        extra = [_sentence(t, subject) for t in rng.sample(ECHO, 2)] + rng.sample(GENERIC, 3)
        rng.shuffle(extra)
        title = _title(rng, titles, ("More detail", "A few more notes", "Background", "One more thing"))
        body.append(f"### {title}\n\n" + " ".join(extra))
    while len(body) > 1 and _words(blocks + body) > max_words - 40 - (len(feature.split()) if feature else 0):
        body.pop()
    if feature is not None:
        body.insert(rng.randint(0, len(body)), feature)
    closer = rng.choice(CLOSERS)
    text = "\n\n".join([*blocks, *body, closer])
    return text
