"""Fact families that span sessions, for :mod:`eval.synthetic_chat`: values that change
(``UPDATES``) and mentions that add up (``TALLIES``); shapes in :mod:`eval.chat_facts`."""

from __future__ import annotations

from dataclasses import dataclass

from eval.chat_facts import CITIES, Family, Line

# fmt: off
# -- updates: a value stated, then changed in later sessions ({v} is the value) --------------

UPDATES: tuple[Family, ...] = (
    Family(
        "city",
        {"v": CITIES},
        (
            Line("I live in {v}; what's a good day trip from here that doesn't need a car?",
                 "travel", "a car-free day trip from your city"),
        ),
        ("Where am I {based} these days?", "Which city is home for me at the moment?"), "{v}",
        (Line("My cousin just moved to {v}. What's a good housewarming gift?", "money", "a housewarming gift"),),
        {"based": ("based", "living")},
        changes=(
            Line("Now that I've relocated to {v} for work, how should I redo my monthly budget?",
                 "money", "a monthly budget after your move"),
            Line("We finally moved, we're in {v} now. Any tips for finding a running route in a new place?",
                 "fitness", "finding running routes in your new city"),
        ),
    ),
    Family(
        "employer",
        {
            "v": (
                "Northwind Logistics", "Bluefield Insurance", "Harbor Analytics", "Kestrel Foods", "Orbis Health",
                "Lumen Energy",
            )
        },
        (
            Line("I work at {v} as an analyst. Can you help me tighten my LinkedIn summary?",
                 "writing", "a LinkedIn summary for your analyst role"),
        ),
        ("Who am I {employed} by right now?", "Which company pays my salary at the moment?"), "{v}",
        (
            Line("A recruiter from {v} messaged me, but I'm not looking. How do I decline politely?",
                 "writing", "declining a recruiter"),
        ),
        {"employed": ("employed", "working for", "hired")},
        changes=(
            Line(
                
                "I started at {v} on Monday and the onboarding is intense. How do I write a good first project update?",
                "writing", "a first project update at your new job",
            ),
            Line("Since joining {v}, my hours are longer. Can you fit a workout into 30 minutes?",
                 "fitness", "a 30-minute workout around your new hours"),
        ),
    ),
    Family(
        "grocery_budget",
        {"v": ("€250", "€300", "€320", "€380", "€420", "€450", "€500")},
        (
            Line("We've set the groceries at {v} a month. What can I batch cook cheaply?",
                 "cooking", "batch cooking on your grocery budget"),
        ),
        ("What's my {monthly} limit for the supermarket now?", "How much can I spend on {food} each month?"), "{v}",
        (
            Line("My friend spends {v} a month on takeaways, which sounds mad. How do I suggest cooking instead?",
                 "writing", "a tactful suggestion"),
        ),
        {"monthly": ("monthly", "current monthly"), "food": ("food shopping", "the weekly shop")},
        changes=(
            Line("We changed the food budget to {v} a month. Does that change what I should batch cook?",
                 "cooking", "batch cooking on your new food budget"),
            Line("New plan: groceries are {v} a month from now on. How do I track it without an app?",
                 "money", "tracking your grocery spending"),
        ),
    ),
    Family(
        "race",
        {"v": ("5 km", "10 km", "half marathon", "marathon", "15 km trail race")},
        (
            Line("I'm training for a {v} in the spring. How should I warm up before long runs?",
                 "fitness", "warming up for your race training"),
        ),
        ("What event am I {preparing} for?", "How far is the next competition I've entered?"), "{v}",
        (
            Line("My running club is doing a {v} relay. What should a beginner eat the night before?",
                 "fitness", "eating before an event"),
        ),
        {"preparing": ("preparing", "getting ready", "building up")},
        changes=(
            Line("Change of plan: I've switched my entry to the {v}. How do I adjust my long runs?",
                 "fitness", "long runs for your new race"),
            Line("I signed up for the {v} instead, so how many days a week should I run now?",
                 "fitness", "how often to run for your race"),
        ),
    ),
    Family(
        "rent",
        {"v": ("€850", "€920", "€980", "€1,050", "€1,120", "€1,200")},
        (
            Line("Our rent is {v} a month. How do I split bills fairly with my partner?",
                 "money", "splitting your bills fairly"),
        ),
        ("How much do I pay for {housing} every month?", "What does our {housing} cost us now?"), "{v}",
        (
            Line("My friend pays {v} for a studio, is that normal? I'm writing a post about rents.",
                 "writing", "a blog post about rents"),
        ),
        {"housing": ("housing", "the flat", "accommodation")},
        changes=(
            Line("The landlord put the rent up to {v}. How do I negotiate, or should I just accept it?",
                 "money", "negotiating your rent increase"),
            Line("Rent is {v} now, sadly. Can you help me trim the rest of the budget?",
                 "money", "trimming your budget after the rent rise"),
        ),
        rising=True,
    ),
    Family(
        "squat",
        {"v": ("60 kg", "70 kg", "80 kg", "90 kg", "100 kg", "110 kg")},
        (
            Line("My squat is up to {v}. What accessory work helps me keep progressing?",
                 "fitness", "accessory work for your squat"),
        ),
        ("What's the {heaviest} I can lift on legs?", "What's my best {leg} number at the moment?"), "{v}",
        (
            Line("My training partner squats {v} already. Is comparing myself to her a bad idea?",
                 "fitness", "comparing progress"),
        ),
        {"heaviest": ("heaviest weight", "most"), "leg": ("leg-day lift", "lower-body lift")},
        changes=(
            Line("New personal best: {v} on squats! Should I deload next week?",
                "fitness", "a deload after your squat best"),
            Line("Squats went up to {v} this month. How do I protect my lower back?",
                 "fitness", "protecting your lower back on heavy squats"),
        ),
        rising=True,
    ),
    Family(
        "level",
        {"v": ("A1", "A2", "B1", "B2", "C1")},
        (Line("I'm at {v} in Spanish at the moment. What TV shows should I watch?",
            "language", "Spanish TV for your level"),),
        ("What's my current {grade} in my second language?", "How good is my Spanish now, by the official scale?"),
        "{v}",
        (
            Line("My sister just passed {v} in German. How do I help her keep practising?",
                 "language", "keeping a language up"),
        ),
        {"grade": ("grade", "level")},
        changes=(
            Line("I passed the {v} exam in Spanish last week! What should I focus on next?",
                 "language", "your next step in Spanish"),
            Line("My teacher says I'm solidly {v} in Spanish now. How do I stop translating in my head?",
                 "language", "thinking in Spanish"),
        ),
        rising=True,
    ),
    Family(
        "team",
        {"v": ("3", "4", "5", "6", "8", "9", "12")},
        (
            Line("I manage a team of {v} now. How do I write a weekly update they'll actually read?",
                 "writing", "a weekly update for your team"),
        ),
        ("How many people {report} to me?", "What's my headcount as a manager at the moment?"), "{v}",
        (
            Line("Our sister team has {v} engineers and ships twice as fast. How do I write about that kindly?",
                 "writing", "written critical feedback"),
        ),
        {"report": ("report", "answer")},
        changes=(
            Line("After the reorg I have {v} direct reports. How do I keep one-to-ones short?",
                 "writing", "short one-to-ones with your reports"),
            Line("My team is {v} people after the hiring round. How do I budget for a team dinner?",
                 "money", "a team dinner budget for your team"),
        ),
        rising=True,
    ),
)


# -- tallies: several mentions across sessions; the question counts them ----------------------


@dataclass(frozen=True)
class Tally:
    key: str
    items: tuple[str, ...]  # one value per mention ({item})
    says: tuple[Line, ...]  # one template per mention, in drawn order
    asks: tuple[str, ...]
    near: tuple[Line, ...]
    lex: dict[str, tuple[str, ...]]
    total: bool = False  # the answer sums {amount} instead of counting


TALLIES: tuple[Tally, ...] = (
    Tally(
        "knee",
        ("",),
        (
            Line("My left knee is acting up again. Can I still do lunges?", "fitness", "lunges with a sore knee"),
            Line("The knee twinged on the stairs today, so what's a low-impact cardio option?",
                 "fitness", "low-impact cardio for your knee"),
            Line("Knee's swollen after the weekend hike. Ice or heat?", "fitness", "treating a swollen knee"),
            Line("I had to stop my run because of the knee again. Should I see a physio?",
                 "fitness", "a knee that stops your runs"),
            Line(
                "Kneeling to paint the skirting is murder on my bad knee. Any tricks?",
                    "home", "painting low woodwork with a bad knee"
            ),
            Line("With my knee playing up, is cycling better than running for now?",
                "fitness", "cycling instead of running while your knee recovers"),
        ),
        ("How many times have I {complained} about my sore joint?", "How often have I mentioned that {leg} problem?"),
        (
            Line("My dad's knee replacement went well. What should I cook for him while he recovers?",
                 "cooking", "meals for someone recovering"),
            Line("Are knee sleeves worth it for squats? My gym buddy swears by them.", "fitness", "gym accessories"),
        ),
        {"complained": ("complained", "moaned"), "leg": ("leg", "joint")},
    ),
    Tally(
        "books",
        (
            "The Overstory", "Piranesi", "Klara and the Sun", "A Gentleman in Moscow", "The Dispossessed", "Circe",
            "Station Eleven", "The Remains of the Day",
        ),
        (
            Line(
                "I just finished {item}. Can you help me write a short review for my blog?", "writing", "a short review"
            ),
            Line(
                "Finally done with {item}, loved it. How do I structure a book club intro?", "writing", "a short talk"
            ),
            Line("Finished {item} on the train this morning. How do I write about it without spoilers?",
                 "writing", "opening a blog post"),
            Line("I read the last page of {item} last night; what's a good way to keep reading notes?",
                 "writing", "keeping notes"),
            Line("Got through {item} in a weekend. Can you suggest a structure for a reading journal?",
                 "writing", "a reading journal"),
        ),
        ("How many {novels} have I told you I completed?", "Count the {novels} I've said I got through."),
        (
            Line("My partner is halfway through {item} and keeps quoting it. Is it worth starting?",
                 "writing", "choosing what to read"),
            Line("Should I bother with {item}? Everyone at work is reading it.", "writing", "choosing what to read"),
        ),
        {"novels": ("novels", "books")},
    ),
    Tally(
        "plants",
        ("monstera", "fiddle-leaf fig", "snake plant", "olive tree", "lemon tree", "pothos", "rosemary bush"),
        (
            Line("I picked up {a_item} for the balcony. Does it need a bigger pot straight away?", "home", "repotting"),
            Line("Bought {a_item} at the market today; where in the flat should it go?",
                 "home", "placing something in a flat"),
            Line(
                "Brought home {a_item}. Can I hang a shelf for it on a plaster wall?", "home", "a hole in plasterboard"
            ),
            Line("New {item} arrived this morning. How do I keep the cat away from it?", "home", "pet-proofing"),
            Line("I treated myself to {a_item}. Will the radiator underneath hurt it?", "home", "bleeding radiators"),
        ),
        
        ("How many {green} have I bought, going by what I told you?", "How many new {green} have I mentioned getting?"),
        (
            Line(
                "My mum's {item} is dying. How do I write her a funny get-well card for it?", "writing", "a funny card"
            ),
            Line("Is {a_item} hard to look after? A friend offered me a cutting.", "home", "looking after cuttings"),
        ),
        {"green": ("houseplants", "green things for the flat")},
    ),
    Tally(
        "car_repairs",
        ("brake pads", "a new battery", "the clutch cable", "a cracked windscreen", "the exhaust", "two tyres"),
        (
            Line("The garage charged me €{amount} for {item}. Can you help me track car costs?",
                 "money", "tracking spending"),
            Line("Another bill: €{amount} for {item}. How do I budget for this kind of surprise?",
                 "money", "a simple monthly budget"),
            Line("Paid €{amount} for {item} today. Should I keep a separate pot for the car?",
                 "money", "separate savings pots"),
            Line("€{amount} this week for {item}. Is it time to think about selling?",
                 "money", "repairing versus replacing"),
        ),
        (
            "How much have I paid to keep my {vehicle} running, all told?",
            "What's my total {vehicle} upkeep bill so far?",
        ),
        (
            Line("My brother paid €{amount} for {item} on his van. Does that sound fair?", "money", "checking a quote"),
            Line("A quote says €{amount} for {item}, but I haven't decided. How do I compare garages?",
                 "money", "comparing quotes"),
        ),
        {"vehicle": ("motor", "vehicle")},
        total=True,
    ),
    Tally(
        "gigs", ("Fontaines D.C.", "Nils Frahm", "Khruangbin", "Arlo Parks", "Bonobo", "Little Simz", "Mogwai"),
        (
            Line("We saw {item} live last night and I'm exhausted. What's an easy breakfast?",
                 "cooking", "an easy breakfast"),
            Line("Still buzzing from the {item} show yesterday. Can you help me write a short post about it?",
                 "writing", "opening a blog post"),
            Line("Went to the {item} concert on Friday and my legs are dead. Stretch ideas?",
                 "fitness", "stretching after a desk day"),
            Line("After the {item} gig we missed the last train. How do I plan late trips better?",
                 "travel", "late-night transport"),
        ),
        
        ("How many {concerts} have I told you I went to?", "Count the live {concerts} I've been to, from what I said."),
        (
            Line("Tickets for {item} sold out in minutes. How do I budget for concerts this year?",
                 "money", "budgeting for fun"),
            Line("My friend went to see {item} in Berlin. Is Berlin good for a music weekend?",
                 "travel", "a music weekend"),
        ),
        {"concerts": ("concerts", "gigs", "shows")},
    ),
    Tally(
        "migraine",
        ("",),
        (
            Line("Had a migraine all afternoon, so I'm behind. How do I write a short delay email?",
                 "writing", "a short email about a delay"),
            Line("Another migraine today. Is it OK to train tomorrow?", "fitness", "training after a migraine"),
            Line(
                "Migraine again, ugh. What's a plain dinner that's easy on the stomach?",
                    "cooking", "a plain dinner on a migraine day"
            ),
            Line("The migraine is back; can you keep today's coding answer really simple? How do I log errors?",
                 "coding", "logging in a script"),
            Line("Woke up with a migraine, so the study session is off. How do I catch up on vocabulary?",
                 "language", "catching up on vocabulary after a migraine"),
        ),
        ("How many {headaches} have I told you about?", "How many times did my head stop me doing things?"),
        (
            Line("My colleague gets migraines from screens. What's a good font size for slides?",
                 "writing", "readable slides"),
            Line("Does caffeine help or cause migraines? Asking for my sister.", "cooking", "coffee and tea"),
        ),
        {"headaches": ("bad headaches", "headache days")},
    ),
)
# fmt: on
