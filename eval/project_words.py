"""The shapes of a long-running project for :mod:`eval.synthetic_projects`, and the phrases every
project shares: how a user accepts a plan, picks an option, revises a step, reports progress,
and how a question refers to all of that without naming it.

A :class:`ProjectKind` (the kinds themselves are in :mod:`eval.project_work` and
:mod:`eval.project_life`) has an ordered plan of :class:`Step` s, each with alternative
values (the plan draws one; a revision ("let's change step 3 to ...") draws another), and
:class:`Decision` s: the assistant lists options, the user picks one by its number. ``names``
and each step's and decision's ``refs`` are how the user refers to them later ("the script",
"the weekend run", "the budget"): implicitly, in words the whole thread shares.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    label: str  # bold in the plan: "Long run"
    values: tuple[str, ...]  # alternative contents (a noun phrase: "a long run every Sunday, up to 16 km")
    refs: tuple[str, ...]  # how a question names the step: "the weekend run"
    done: tuple[str, ...]  # the user's report that the step is finished


@dataclass(frozen=True)
class Decision:
    prompts: tuple[str, ...]  # the user asks for options
    subject: str  # the option list's heading
    options: tuple[tuple[str, str], ...]  # (name, pitch), four
    refs: tuple[str, ...]  # how a question names the decision: "the budget"


@dataclass(frozen=True)
class ProjectKind:
    key: str
    topic: str  # the chat topic its side questions are answered from (eval.chat_topics)
    title: str  # the plan's heading
    names: tuple[str, ...]  # implicit references: "the script", "my invoice script"
    kickoffs: tuple[str, ...]  # the user asks for a plan
    steps: tuple[Step, ...]  # in order, five or six
    decisions: tuple[Decision, ...]  # three
    side: tuple[tuple[str, str], ...]  # in-thread questions that are no one's evidence: (text, subject)
    reasons: tuple[str, ...]  # why a step changes ("My knee has been playing up.")


ACCEPTS = (
    "Looks good, let's go with that plan.",
    "Perfect, I'm in. Let's do it that way.",
    "Great, let's run with this.",
    "That works for me. Starting this week!",
    "Brilliant, that's the plan then.",
)
ACCEPT_ACKS = (
    "Great. Check in whenever you finish a step and we'll adjust as we go.",
    "Good luck! Tell me how the first step goes and we can tweak the rest.",
    "Lovely. We can change any of it later if it doesn't fit your weeks.",
)
PLAN_INTROS = (
    "Here's how I'd break it down, in order:",
    "Here's a plan you can start on this week:",
    "Let's keep it simple. This is the order I'd do things in:",
    "Here's a realistic plan, step by step:",
)
PLAN_CLOSERS = (
    "Tell me when you finish each step and we'll adjust as we go.",
    "Nothing here is fixed: if a step doesn't fit, we'll change it.",
    "Want me to turn this into a checklist?",
)
PICKS = (
    "Let's go with option {n}.",
    "Option {n}, I think.",
    "The {ord} one.",
    "I'll go for number {n}.",
    "Number {n} feels right.",
    "Let's do the {ord} option.",
)
PICK_ACKS = (
    "Good call, that one fits what you've told me so far.",
    "Sounds sensible. I'll keep that in mind for the next steps.",
    "Great, decision made. One less thing to think about.",
)
OPTION_INTROS = (
    "There are a few ways to go here:",
    "Here are the options as I see them:",
    "Four realistic choices, from the simplest up:",
)
OPTION_CLOSERS = ("Which one suits you?", "Let me know which way you'd like to go.", "Any of these appeal?")
REVISIONS = (
    "Let's change step {k} to {v}.",
    "{reason} Can we change step {k}? Make it {v} instead.",
    "Small change to the plan: step {k} should be {v} now.",
    "{reason} Let's swap step {k} for {v}.",
)
REVISION_ACKS = (
    "Done. Step {k} is now **{label}**: {v}. The other steps stay as they were.",
    "Updated: step {k}, **{label}**, becomes {v}. Everything else in the plan is unchanged.",
    "Makes sense. New step {k} (**{label}**): {v}. The rest of the plan stays the same.",
)
PROGRESS = ("{done}", "Update on {name}: {done}", "Quick update: {done}", "Step {k} done! {done}")
PROGRESS_ACKS = (
    "Nice work, that's real progress.",
    "Well done, that's a big one ticked off.",
    "Great, you're right on track.",
    "That's excellent. Take a moment to enjoy it.",
)
SIDE_OPENERS = ("", "", "", "Quick one about {name}: ", "Still on {name}. ", "Related to {name}: ")

# Questions asked mid-history; they name the thread or the step only implicitly.
STEP_ASKS = (
    "What did we plan for {step}?",
    "Remind me what we said about {step} for {name}.",
    "What am I doing for {step} these days?",
    "How was I supposed to handle {step} again?",
    "What's the plan for {step} on {name}?",
)
CHOICE_ASKS = (
    "Remind me what we settled on for {dec}.",
    "What did I go with for {dec}?",
    "Which way did we go on {dec} for {name}?",
    "What did I pick for {dec} in the end?",
)
WHERE_ASKS = ("Where am I with {name}?", "How far along am I on {name}?", "What did I last get done on {name}?")
NEXT_ASKS = ("What's next on {name}?", "What should I tackle next for {name}?", "What's the next step with {name}?")
