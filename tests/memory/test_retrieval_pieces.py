"""Each retrieval piece of the default pipeline, pinned by a case only that piece solves.

Every test runs the same query with the piece on and off and checks the difference, so a
piece that stops working (or stops mattering) fails here, not only in the eval numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory import Memory
from memory.read.query_plan import expand_follow_up, query_analysis, reference_time
from retrievers.query import named_speakers
from retrievers.temporal import parse_time_hint
from tests.memory.test_memory import add_filler


@pytest.fixture
def mem(open_memory: Callable[..., Memory]) -> Memory:
    """These cases rank by every signal, vectors included: the memory embeds before each add
    returns (``index_writes="sync"``), so each case reads as written."""
    return open_memory(index_writes="sync")


def _rank(ctx_hits: list, needle: str) -> int | None:
    for h in ctx_hits:
        if needle in h.text:
            return h.rank
    return None


def _in_context(ctx: object, needle: str) -> bool:
    return any(needle in str(m.get("content") or "") for m in ctx.messages)  # type: ignore[attr-defined]


def test_exact_id_only_lexical_finds(mem: Memory) -> None:
    # Forty questions about parcels with ids like the wanted one, phrased like the query: to
    # the embedding they look closer than the one turn that holds the exact id.
    orders = [f"Where is parcel KX-{40000 + 37 * i}-Q? It has not arrived yet." for i in range(40)]
    orders[23] = "KX-48211-Q was delivered to the Rotterdam depot on Monday."
    mem.add([{"role": "user", "content": t} for t in orders], session="orders")
    add_filler(mem, 20, session="orders")
    q = "Where is KX-48211-Q?"
    hybrid = mem.assemble(q, session="orders", budget=200, window_share=0.0, fill_window=False)
    dense = mem.assemble(q, session="orders", budget=200, window_share=0.0, fill_window=False, lexical_weight=0.0)
    assert _rank(hybrid.hits, "KX-48211-Q") == 1
    assert hybrid.hits[0].scores.get("lexical", 0) > 0
    assert _rank(dense.hits, "KX-48211-Q") != 1


FOLLOW_UP = [
    ("user", "We paid 64 euros for the dinner at Taberna do Mar."),
    ("user", "The ferry to Cacilhas cost 3 euros each way."),
    ("user", "Our room at the Lisbon hotel, Casa Azul, came to 129 euros a night."),
    ("user", "The museum tickets were 12 euros per person."),
]


def test_conversation_aware_query_uses_the_last_turns(mem: Memory) -> None:
    mem.add([{"role": r, "content": t} for r, t in FOLLOW_UP], session="trip")
    add_filler(mem, 30, session="trip")
    mem.add(
        [
            {"role": "user", "content": "I am writing the review of the Lisbon hotel where we stayed, Casa Azul."},
            {"role": "assistant", "content": "Happy to help with the review of Casa Azul."},
            {"role": "user", "content": "and what did it cost?"},
        ],
        session="trip",
    )
    q = "and what did it cost?"
    follow = mem.assemble(q, session="trip", budget=400, fill_window=False)
    alone = mem.assemble(q, session="trip", budget=400, fill_window=False, query_turns=0)
    # The recent turns are in the window already; the first hit from older history is
    # the hotel's price with the follow-up query, some other price without it.
    first_old = [h for h in follow.hits if h.reason == "retrieved"][0]
    assert "129 euros" in first_old.text and _in_context(follow, "129 euros")
    assert "129 euros" not in [h for h in alone.hits if h.reason == "retrieved"][0].text
    # Without a session the question is not a follow-up: the piece stays out of it.
    flat = {"budget": 400, "window_share": 0.0, "fill_window": False}
    ids = [h.chunk_id for h in mem.assemble(q, **flat).hits]
    assert ids == [h.chunk_id for h in mem.assemble(q, **flat, query_turns=0).hits]


PURCHASES = [
    ("user", "I paid 85 euros for the leather jacket, cash."),
    ("assistant", "Leather jackets like that one usually sell for about 200 euros."),
    ("user", "The oak bookshelf cost me 40 euros."),
    ("assistant", "For a solid oak bookshelf, 40 euros is a bargain."),
]


def test_follow_up_is_analysed_on_the_users_own_words(mem: Memory) -> None:
    # The turns before say "last week" and "you"; the follow-up "what did I pay for it?" borrows
    # their words for its search only. Its analysis, which every prior fires on, is of the user's
    # own words: no time hint from "last week", and "I" still points at the user's own turns
    # (read from the expanded query, "you" cancelled it and "last week" became a time hint).
    mem.add([{"role": r, "content": t} for r, t in PURCHASES], session="shop")
    add_filler(mem, 30, session="shop")
    q = "what did I pay for it?"
    mem.add(
        [
            {"role": "user", "content": "Last week I found a leather jacket at the flea market."},
            {"role": "assistant", "content": "Nice find! Do you still wear the leather jacket?"},
            {"role": "user", "content": q},
        ],
        session="shop",
        wait_indexed=True,
    )
    ref_time = reference_time(mem.store, "default", None)
    analysis = query_analysis(mem.store, "default", q, ref_time, mem.config)
    assert analysis.time is None and analysis.person == "user" and analysis.follow_up
    vector = mem.embedder.embed([q])[0]
    search = expand_follow_up(mem.store, "default", "shop", q, vector, analysis, mem.config)
    assert search.expanded and "Last week" in (search.text or "") and "leather jacket" in (search.lexical_text or "")
    assert query_analysis(mem.store, "default", search.text, ref_time, mem.config).time is not None  # the old bug

    ctx = mem.assemble(q, session="shop", budget=300, fill_window=False)
    direct = [h for h in ctx.hits if h.reason.startswith("retrieved")]
    assert direct and all("time" not in h.scores and "person" in h.scores for h in direct)
    # The search still finds the jacket (the expansion's words), and the user's own price first.
    user_price, assistant_price = _rank(ctx.hits, "85 euros"), _rank(ctx.hits, "200 euros")
    assert user_price is not None and (assistant_price is None or user_price < assistant_price)


TIMELINE = [
    (datetime(2023, 3, 14, tzinfo=timezone.utc), "We went camping at Lake Tahoe, the tent leaked all night."),
    (datetime(2023, 6, 10, tzinfo=timezone.utc), "We went camping in Yosemite, saw a black bear near the tent."),
    (datetime(2023, 9, 2, tzinfo=timezone.utc), "We went camping by the coast in Big Sur, the fog never lifted."),
]


def test_time_expression_moves_the_prior(mem: Memory) -> None:
    for ts, text in TIMELINE:
        mem.add([{"role": "user", "content": text}], session="camping", timestamp=ts)
        add_filler(mem, 6, session="camping")
    now = datetime(2023, 10, 1, tzinfo=timezone.utc)
    kw = {"session": "camping", "budget": 120, "window_share": 0.0, "fill_window": False, "now": now}
    june = mem.assemble("What happened when we went camping in June?", **kw, time_weight=0.3)
    march = mem.assemble("What happened when we went camping in March?", **kw, time_weight=0.3)
    first = mem.assemble("Where did we go camping the first time?", **kw, time_weight=0.3)
    assert "Yosemite" in june.hits[0].text and june.hits[0].scores["time"] == 1.0
    assert "Tahoe" in march.hits[0].text
    assert "Tahoe" in first.hits[0].text
    september = mem.assemble("What happened when we went camping in September?", **kw, time_weight=0.3)
    assert "Big Sur" in september.hits[0].text
    # Off, relevance and recency alone cannot tell the trips apart by date: June and
    # September no longer find their trip.
    june_off, september_off = (
        mem.assemble(f"What happened when we went camping in {m}?", **kw, time_weight=0.0).hits[0]
        for m in ("June", "September")
    )
    assert "time" not in june_off.scores
    assert "Yosemite" not in june_off.text and "Big Sur" not in september_off.text


def test_speaker_named_in_the_query_gets_their_turns(mem: Memory) -> None:
    # Caroline's turns name Melanie (as LoCoMo's do: "Melanie, ..."), so by their words they
    # look closer to a question about Melanie than Melanie's own turns.
    turns = [
        {"role": "user", "name": "Caroline", "content": "Melanie, I have been researching adoption agencies."},
        {"role": "user", "name": "Melanie", "content": "I have been researching pottery classes all week."},
    ]
    for i in range(6):
        mem.add(turns[::-1] if i % 2 else turns, session=f"s{i}")
    q = "What has Melanie been researching?"
    kw = {"budget": 80, "window_share": 0.0, "fill_window": False, "neighbors": 0.0}
    on = mem.assemble(q, **kw, speaker_weight=0.5)
    assert on.hits[0].text.endswith("pottery classes all week.") and on.hits[0].scores["speaker"] == 1.0
    off = mem.assemble(q, **kw, speaker_weight=0.0)
    assert "adoption agencies" in off.hits[0].text and "speaker" not in off.hits[0].scores
    both = mem.assemble("What have Caroline and Melanie been researching?", **kw, speaker_weight=0.5)
    assert all("speaker" not in h.scores for h in both.hits)  # every participant named: no preference


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What did Caroline research?", {"Caroline"}),
        ("What is caroline's favourite book?", {"Caroline"}),
        ("Did Mary Jane call?", {"Mary_Jane"}),
        ("What did Carol say?", set()),
        ("Which book?", set()),
    ],
)
def test_named_speakers(query: str, expected: set[str]) -> None:
    speakers = {"caroline": "Caroline", "mary_jane": "Mary_Jane", "melanie": "Melanie"}
    assert named_speakers(query, speakers) == expected


NOW = datetime(2023, 8, 20, 15, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    ("query", "start", "end", "order"),
    [
        ("When did we go camping in June?", "2023-06-01", "2023-07-01", None),
        ("camping in December?", "2022-12-01", "2023-01-01", None),  # the latest December before now
        ("What happened on October 13, 2022?", "2022-10-13", "2022-10-14", None),
        ("What did Jon find on 1 February, 2023?", "2023-02-01", "2023-02-02", None),
        ("What did I say last week?", "2023-08-07", "2023-08-14", None),
        ("Anything from yesterday?", "2023-08-19", "2023-08-20", None),
        ("Where did she move 4 years ago?", "2019-02-19", "2020-02-19", None),
        ("Which trip in summer 2021?", "2021-06-01", "2021-09-01", None),
        ("How often in 2022?", "2022-01-01", "2023-01-01", None),
        ("When did John first meet Anna?", None, None, "first"),
        ("What is the latest on the project?", None, None, "last"),
        ("It may rain, march on", None, None, None),
        ("Who won first place?", None, None, None),
    ],
)
def test_parse_time_hint(query: str, start: str | None, end: str | None, order: str | None) -> None:
    hint = parse_time_hint(query, NOW)
    if start is None and order is None:
        assert hint is None
        return
    assert hint is not None and hint.order == order

    def day(t: float | None) -> str | None:
        return None if t is None else datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")

    assert (day(hint.start), day(hint.end)) == (start, end)


def test_named_participant_leaves_the_lexical_query(mem: Memory) -> None:
    # Caroline keeps addressing Melanie by name; only Melanie's own turn answers the question.
    for i in range(8):
        mem.add(
            [{"role": "user", "name": "Caroline", "content": f"Melanie, your pottery looks amazing! ({i})"}],
            session=f"s{i}",
        )
    answer = {"role": "user", "name": "Melanie", "content": "I signed up for a ceramics course downtown."}
    mem.add([answer], session="s9")
    q = "Which course did Melanie sign up for?"
    kw = {"budget": 60, "window_share": 0.0, "fill_window": False, "neighbors": 0.0}
    out = mem.assemble(q, **kw)
    kept = mem.assemble(q, **kw, lexical_names=True)
    assert out.hits[0].text.startswith("I signed up") and "lexical" in out.hits[0].scores
    # With the name as a BM25 term every "Melanie, ..." turn matches it, and the lexical
    # score of the answer shrinks relative to them.
    assert sum("lexical" in h.scores for h in kept.hits) > sum("lexical" in h.scores for h in out.hits)


def test_when_question_prefers_the_turn_that_says_when(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "content": "Going to the climbing gym is my favourite way to relax."},
            {"role": "user", "content": "I went to the climbing gym last Saturday with Jo."},
            {"role": "user", "content": "The climbing gym has new routes on the north wall."},
        ],
        session="gym",
    )
    add_filler(mem, 12, session="gym")
    q = "When did I go to the climbing gym?"
    kw = {"budget": 60, "window_share": 0.0, "fill_window": False, "neighbors": 0.0, "time_weight": 0.0}
    on = mem.assemble(q, **kw, answer_type_weight=0.7)
    assert "last Saturday" in on.hits[0].text and on.hits[0].scores["answer_type"] == 1.0
    off = mem.assemble(q, **kw, answer_type_weight=0.0)
    assert "last Saturday" not in off.hits[0].text and "answer_type" not in off.hits[0].scores
    # Not a "when" question: no answer-type preference.
    what = mem.assemble("What do I like about the climbing gym?", **kw, answer_type_weight=0.7)
    assert all("answer_type" not in h.scores for h in what.hits)


_DATEISH = st.sampled_from(
    [
        "in June",
        "on May 3",
        "May",
        "may",
        "3 weeks ago",
        "last week",
        "yesterday",
        "first",
        "latest",
        "in 2021",
        "summer 2020",
        "on 31 February, 2023",
        "December 31",
        "in the beginning",
        "a couple of months ago",
        " ",
    ]
)


@given(
    words=st.lists(st.one_of(_DATEISH, st.text(max_size=12)), max_size=8),
    now=st.floats(min_value=0, max_value=4e9, allow_nan=False),
)
def test_time_hints_are_well_formed_for_any_text(words: list[str], now: float) -> None:
    query = " ".join(words)
    hint = parse_time_hint(query, now)
    if hint is None:
        return
    assert hint.expression and hint.expression.lower() in query.lower()
    if hint.order is None:
        assert hint.start is not None and hint.end is not None and hint.start < hint.end
    ts = np.array([0.0, now, hint.start or now, 4e9])
    score = hint.score(ts, np.array([0, 5, 9, 10]), 10)
    assert np.all((score >= 0) & (score <= 1))
    if hint.start is not None:
        assert score[2] == 1.0  # the window's own start is inside it


def test_window_is_the_current_conversation(mem: Memory) -> None:
    # Yesterday's chat ended with small talk; today's question is about something else.
    yesterday = datetime(2024, 5, 1, 18, tzinfo=timezone.utc)
    mem.add(
        [
            {"role": "user", "content": "My bike's rear tyre is 700x28c, remember that."},
            {"role": "assistant", "content": "Noted: 700x28c on the rear."},
            {"role": "user", "content": "Thanks, talk tomorrow!"},
            {"role": "assistant", "content": "Have a good evening!"},
        ],
        session="s",
        timestamp=yesterday,
    )
    q = "Which tube should I buy for the back wheel?"
    kw = {"session": "s", "budget": 120, "fill_window": False, "window_share": 0.5, "neighbors": 0.0}
    soon = mem.assemble(q, **kw, now=datetime(2024, 5, 1, 18, 5, tzinfo=timezone.utc))
    later = mem.assemble(q, **kw, now=datetime(2024, 5, 2, 9, tzinfo=timezone.utc))
    origins = {s.origin for s in later.sources}
    # Five minutes later the last turns are the conversation: in the window. The next
    # morning they are an earlier conversation: nothing in the window, the budget goes to
    # retrieval, which brings the tyre size.
    assert soon.breakdown["window"] > 0 and "window" in {s.origin for s in soon.sources}
    assert later.breakdown["window"] == 0 and "window" not in origins
    assert any("700x28c" in str(m.get("content")) for m in later.messages)
    # Without a limit the old turns fill the window again.
    nolimit = mem.assemble(q, **kw, now=datetime(2024, 5, 2, 9, tzinfo=timezone.utc), window_gap_hours=None)
    assert nolimit.breakdown["window"] > 0


def test_my_question_prefers_the_users_own_turns(mem: Memory) -> None:
    # The assistant's long answers repeat the topic's words; the user's short turn holds the fact.
    answers = [
        "Which knee is the bad one matters less than how you load it: with a bad knee, keep "
        "one of your knees stable, use wall sits and step-ups, and ice the bad knee after runs."
        for _ in range(6)
    ]
    mem.add(
        [
            {"role": "user", "content": "I hurt my left knee skiing in February, so go easy on leg days."},
            *[
                m
                for a in answers
                for m in ({"role": "user", "content": "Thanks, that helps."}, {"role": "assistant", "content": a})
            ],
        ],
        session="gym",
    )
    q = "Which of my knees is the bad one?"
    kw = {"budget": 60, "window_share": 0.0, "fill_window": False, "neighbors": 0.0}
    on = mem.assemble(q, **kw)
    off = mem.assemble(q, **kw, person_weight=0.0)
    assert "left knee" in on.hits[0].text and on.hits[0].scores["person"] == 1.0
    assert "left knee" not in off.hits[0].text and "person" not in off.hits[0].scores
    # "you" points at the assistant's turns instead.
    said = mem.assemble("Which exercises did you suggest for the knee?", **kw)
    assert said.hits[0].role == "assistant" and said.hits[0].scores["person"] == 1.0


@pytest.mark.fake_embedder  # how many candidates are asked for: the model is not the point
def test_a_bigger_budget_asks_for_more_candidates(mem: Memory) -> None:
    # Neighbours off, choices too ("sounds great" after a filler turn): hits are the candidates alone.
    add_filler(mem, 120, session="s")
    q = "anything about the weather"
    small = mem.assemble(
        q, session="s", budget=256, window_share=0.0, fill_window=False, neighbors=0.0, reply_share=0.0
    )
    big = mem.assemble(q, session="s", budget=4000, window_share=0.0, fill_window=False, neighbors=0.0, reply_share=0.0)
    fixed = mem.assemble(
        q,
        session="s",
        budget=4000,
        window_share=0.0,
        fill_window=False,
        neighbors=0.0,
        reply_share=0.0,
        candidates_per_token=0.0,
    )
    assert len(small.hits) <= 64 < len(big.hits)  # 64 at least; 4000 / 4 = 1000 asked for at 4,000 tokens
    assert len(fixed.hits) <= 64


def test_recency_prefers_the_newer_of_two_statements(mem: Memory) -> None:
    # The older wording is closer to the question; only recency puts the newer value first.
    mem.add(
        [{"role": "user", "content": "My locker number at the gym is 12."}],
        session="a",
        timestamp=datetime(2023, 1, 5, tzinfo=timezone.utc),
    )
    mem.add(
        [{"role": "user", "content": "They moved me: gym locker 31 from now on."}],
        session="b",
        timestamp=datetime(2024, 1, 5, tzinfo=timezone.utc),
    )
    filler = ["The weather was grey all week.", "We watched a film about whales.", "Dinner was pasta again."]
    mem.add(
        [{"role": "user", "content": t} for t in filler],
        session="c",
        timestamp=datetime(2022, 6, 1, tzinfo=timezone.utc),
    )
    q = "What is my locker number at the gym?"
    kw = {"budget": 40, "window_share": 0.0, "fill_window": False, "neighbors": 0.0, "person_weight": 0.0}
    kw["now"] = datetime(2024, 1, 6, tzinfo=timezone.utc)
    on = mem.assemble(q, **kw, recency_weight=1.0, session_weight=0.0)
    off = mem.assemble(q, **kw, recency_weight=0.0, session_weight=0.0)
    assert "31" in on.hits[0].text and on.hits[0].scores["recency"] > on.hits[1].scores["recency"]
    assert "12" in off.hits[0].text


def test_session_topic_prefers_the_turn_from_the_sessions_about_it(mem: Memory) -> None:
    cooking = ["The cast iron skillet needs seasoning.", "Simmer the sauce for ten minutes.", "Knead the dough."]
    cars = ["The brake pads squeak at low speed.", "Rotate the tyres every spring.", "Top up the coolant."]
    mem.add([{"role": "user", "content": t} for t in [*cooking, "I bought the blue one."]], session="kitchen")
    mem.add([{"role": "user", "content": t} for t in [*cars, "I bought the blue one."]], session="garage")
    q = "Which frying pan did I buy for cooking?"
    kw = {"budget": 40, "window_share": 0.0, "fill_window": False, "neighbors": 0.0, "recency_weight": 0.0}
    on = [h for h in mem.assemble(q, **kw, session_weight=1.0).hits if "blue one" in h.text]
    off = [h for h in mem.assemble(q, **kw, session_weight=0.0).hits if "blue one" in h.text]
    assert on and on[0].session == "kitchen" and on[0].scores["session"] > 0.5
    # Without the prior the two identical turns score the same: nothing tells them apart.
    assert len(off) == 2 and off[0].scores["final"] == pytest.approx(off[1].scores["final"])


@pytest.mark.fake_embedder  # how many candidates are asked for: the model is not the point
def test_a_query_with_a_time_asks_for_twice_the_candidates(mem: Memory) -> None:
    """docs/architecture.md: "at least `candidates` (64), more for a big budget, twice as many for
    a query with a time" (the right time may rank lower)."""
    add_filler(mem, 60, session="s")
    narrow = {"budget": 4000, "window_share": 0.0, "fill_window": False, "neighbors": 0.0, "reply_share": 0.0}
    narrow |= {"candidates": 10, "candidates_per_token": 0.0}
    plain = mem.assemble("anything about the weather", session="s", **narrow)
    timed = mem.assemble("anything about the weather last week", session="s", **narrow)
    assert len(plain.hits) == 10 and len(timed.hits) == 20


def test_what_the_user_chose_from_is_theirs_and_brings_the_choice(mem: Memory) -> None:
    # A request that implies a taste the user gave by picking from the assistant's list: "I" fires
    # the person prior, which favours the user's own turns over that (assistant's) list.
    options = (
        "These are the options I'd weigh up:\n\n1. **Documentaries**: true stories, nature and history.\n"
        "2. **Nordic noir**: bleak crime series and films from Scandinavia.\n3. **Romantic comedies**: "
        "warm, funny love stories.\n4. **Science fiction**: space, time travel and big ideas, from Arrival "
        "to Blade Runner 2049."
    )
    mem.add(
        [
            {"role": "user", "content": "I want to explore a new kind of film this winter. What would you suggest?"},
            {"role": "assistant", "content": options},
            {"role": "user", "content": "Option 4, definitely."},
            {"role": "assistant", "content": "Great, enjoy exploring it!"},
        ],
        session="films",
    )
    mem.add(
        [
            {"role": "user", "content": "My television remote stopped working last night and the batteries are new."},
            {"role": "assistant", "content": "Try resetting it by holding the power button for ten seconds."},
            {"role": "user", "content": "Is a streaming subscription worth it if I only use it at weekends?"},
            {"role": "assistant", "content": "A monthly plan you pause between weekends costs the least."},
            {"role": "user", "content": "The cinema near my flat has reclining seats now, which is nice."},
            {"role": "assistant", "content": "Reclining seats make a long film much easier."},
            {"role": "user", "content": "My sofa cushions have gone flat. Can they be restuffed at home?"},
            {"role": "assistant", "content": "Yes: open the seam, top them up with fibre fill and sew it shut."},
            {"role": "user", "content": "I fell asleep halfway through a film on Saturday again."},
            {"role": "assistant", "content": "An earlier start, or a shorter film, tends to help."},
        ],
        session="screens",
    )
    q = "What should I watch on the sofa this weekend?"
    kw = {"budget": 160, "window_share": 0.0, "fill_window": False}
    on = mem.assemble(q, **kw, chosen_replies=True, reply_share=1.0)
    off = mem.assemble(q, **kw, chosen_replies=False)
    listed = next(h for h in on.hits if "Science fiction" in h.text)
    assert listed.scores["person"] == 1.0  # the list the user chose from counts as the user's
    assert _in_context(on, "Option 4, definitely.")  # and the choice comes with it
    # Without: the person prior ranks the user's unrelated turns above the list, which falls out.
    assert not _in_context(off, "Science fiction")


def test_one_long_turn_cannot_fill_the_hits_with_its_chunks(mem: Memory) -> None:
    # A long answer about sourdough is many chunks, each close to the query; the user's three short
    # turns hold the facts. Without the decay the long turn's chunks take the first places.
    paragraph = (
        "Sourdough starter care: feed the starter flour and water, keep the sourdough starter warm, "
        "and bake the sourdough loaf when the starter doubles and smells sour. "
    )
    long_answer = "\n\n".join(f"Step {i}. {paragraph * 3}" for i in range(12))
    mem.add(
        [
            {"role": "user", "content": "Tell me everything about sourdough starters."},
            {"role": "assistant", "content": long_answer},
            {"role": "user", "content": "My sourdough starter is called Bubbles and lives on the fridge."},
            {"role": "assistant", "content": "A lovely name."},
            {"role": "user", "content": "I bake sourdough every Saturday morning."},
            {"role": "assistant", "content": "A good rhythm."},
            {"role": "user", "content": "My sourdough came out flat last weekend."},
        ],
        session="bread",
    )
    q = "What do you know about my sourdough starter?"
    kw = {"budget": 4000, "window_share": 0.0, "fill_window": False, "neighbors": 0.0, "person_weight": 0.0}

    def top_messages(ctx: object, n: int) -> list[int]:
        return [h.seq for h in ctx.hits[:n]]  # type: ignore[attr-defined]

    decayed = mem.assemble(q, **kw, repeat_decay=0.5)
    plain = mem.assemble(q, **kw, repeat_decay=1.0)
    assert len(set(top_messages(plain, 4))) < len(set(top_messages(decayed, 4)))
    assert top_messages(plain, 4).count(2) >= 2  # the long answer's chunks, side by side
    assert top_messages(decayed, 4).count(2) <= 1


def test_a_you_asked_to_do_something_for_me_points_at_what_the_user_asked(mem: Memory) -> None:
    # "you ... for me" used to point at neither side; what the user asked for is the user's turn.
    drafts = [
        "Here is a draft of your reminder email: keep it short, polite and specific about the invoice "
        "number, the amount and the date it was due, and offer to resend the invoice."
        for _ in range(6)
    ]
    mem.add(
        [
            {"role": "user", "content": "Use British spelling in anything you draft for me, please."},
            *[
                m
                for d in drafts
                for m in (
                    {"role": "user", "content": "Can you draft another one?"},
                    {"role": "assistant", "content": d},
                )
            ],
        ],
        session="emails",
    )
    q = "Which spelling should you use when you write emails for me?"
    kw = {"budget": 60, "window_share": 0.0, "fill_window": False, "neighbors": 0.0}
    speaker = mem.assemble(q, **kw, person_reading="speaker")
    either = mem.assemble(q, **kw, person_reading="any")
    assert "British spelling" in speaker.hits[0].text and speaker.hits[0].scores["person"] == 1.0
    assert "person" not in either.hits[0].scores  # "you" and "me" both: no side
    # "did you tell me" is what the assistant said: its turns
    said = mem.assemble("What did you tell me to put in the reminder email?", **kw, person_reading="speaker")
    assert said.hits[0].role == "assistant" and said.hits[0].scores["person"] == 1.0
