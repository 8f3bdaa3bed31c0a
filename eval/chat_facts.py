"""Fact families for :mod:`eval.synthetic_chat`: what a user says once, prefers, updates.

A family is data: the requests that carry a fact in passing (``says``, each a
:class:`Line` with its topic and the subject the assistant's answer is about), the
questions that ask for it (``asks``), the answer, a paraphrase table (``lex``: each
``{slot}`` of a question is filled with one of its words, chosen so the question shares
few words with the statement) and near misses (``near``: the same topic words about
someone else, a hypothetical, another value). Slot values come from ``slots``; a near
miss draws values different from the asked ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    text: str
    topic: str
    subject: str


@dataclass(frozen=True)
class Family:
    key: str
    slots: dict[str, tuple[str, ...]]
    says: tuple[Line, ...]
    asks: tuple[str, ...]
    answer: str
    near: tuple[Line, ...] = ()
    lex: dict[str, tuple[str, ...]] = field(default_factory=dict)
    restate: tuple[Line, ...] = ()  # preferences: a later restatement (also evidence)
    changes: tuple[Line, ...] = ()  # updates: a later statement of a new value ({v})
    rising: bool = False  # updates: each new value is larger than the last (a raise, a personal best)


# fmt: off
KIDS = ("Mia", "Noor", "Elsa", "Ada", "Lina", "Zoe", "Ines", "Maya")
NAMES = ("Daniel", "Tomás", "Jonas", "Kofi", "Ravi", "Marta", "Ingrid", "Chiara", "Yusuf", "Hana")
CITIES = ("Leeds", "Utrecht", "Aarhus", "Graz", "Nantes", "Brno", "Turku", "Girona", "Malmö", "Cork")

USER_FACTS: tuple[Family, ...] = (
    Family(
        "kid_age",
        {"name": KIDS, "n": ("5", "6", "7", "8", "9", "10", "11")},
        (
            Line(
                "I'm baking for my daughter {name}'s {n}th birthday on Saturday. Which sponge holds up best "
                "when it's carried around a garden all afternoon?",
                    "cooking", "a birthday sponge for your daughter's party",
            ),
            Line(
                "It's {name}'s {n}th birthday next week (my daughter) and I want to bake a rainbow layer "
                "cake. How do I stop the layers from sliding?", "cooking", "a layer cake for your daughter's birthday",
            ),
        ),
        ("How old is my {kid} going to be?", "What age is my {kid} turning?"), "{n}",
        (
            Line("What snacks work for a kids' party? My nephew turns {n} and it's at a trampoline park.",
                 "cooking", "party snacks for children"),
            Line("What's a good present for a kid who is turning {n}? It's for my friend's son.",
                 "money", "a birthday present on a budget"),
        ),
        {"kid": ("kid", "daughter", "little girl", "youngest")},
    ),
    Family(
        "allergy",
        {"food": ("cashews", "shellfish", "sesame", "peanuts", "kiwi", "mustard")},
        (
            Line("Could you suggest a marinade for grilled halloumi? Nothing with {food} in it, I'm allergic.",
                 "cooking", "an allergy-safe marinade"),
            Line(
                "I'd like to try a Thai green curry at home, minus the {food}, since they give me hives. "
                "Where do I start?", "cooking", "a green curry without your allergen",
            ),
        ),
        ("Which ingredient should you never suggest to me?", "What food do I {avoid}?"), "{food}",
        (
            Line("My flatmate can't eat {food}; should I cook her a separate dish or adapt everything?",
                 "cooking", "cooking for someone with a food intolerance"),
            Line(
                "Is it true that {food} is one of the foods people most often have to avoid? I'm writing a "
                "menu for a work event.", "writing", "a menu note for a work event",
            ),
        ),
        {"avoid": ("need to avoid", "react badly to", "have to stay away from", "get an allergic reaction from")},
    ),
    Family(
        "pet",
        {
            "pet": ("Juno", "Biscuit", "Otis", "Pepper", "Mango", "Tilly", "Rolo"),
            "breed": ("border collie", "beagle", "whippet", "spaniel", "labrador"),
        },
        (
            Line("My {breed} {pet} keeps chewing the skirting boards. What filler should I use on the dents?",
                 "home", "repairing skirting boards your dog chewed"),
            Line("I take my dog {pet} on my runs now. How far is sensible for an easy run with a {breed}?",
                 "fitness", "easy runs with your dog"),
        ),
        ("What's my {dog} called?", "What name did I give my {dog}?"), "{pet}",
        (
            Line("My neighbour's dog {pet} barks all night. How do I soundproof a bedroom wall?",
                 "home", "soundproofing a bedroom wall"),
            Line("Is it OK to take a dog on a long run? Asking for my sister, her pup {pet} is a {breed}.",
                 "fitness", "running with a dog"),
        ),
        {"dog": ("dog", "pup", "four-legged friend")},
    ),
    Family(
        "car",
        {"car": ("2014 Skoda Octavia", "2011 Toyota Yaris", "2017 VW Golf estate", "2009 Volvo V70", "2019 Kia Ceed")},
        (
            Line("We'll drive my {car} up to the mountains. How do I pack a roof box so nothing rattles?",
                 "travel", "packing your car for a mountain trip"),
            Line("My car, a {car}, needs new tyres soon. How do I budget for motoring costs over a year?",
                 "money", "budgeting for your car's yearly costs"),
        ),
        ("What {vehicle} do I own?", "Which {vehicle} is mine?"), "{car}",
        (
            Line("My dad's {car} failed its inspection. Is it worth repairing an old vehicle?",
                 "money", "repairing versus replacing"),
            Line("Should I rent a {car} for the Algarve trip, or is that vehicle too small for four adults?",
                 "travel", "a rental for a group trip"),
        ),
        {"vehicle": ("vehicle", "car", "set of wheels")},
    ),
    Family(
        "job",
        {
            "job": (
                "night-shift nurse", "secondary-school maths teacher", "paramedic", "structural engineer",
                "pastry chef", "bus driver",
            )
        },
        (
            Line("I'm a {job}, so I train at odd hours. How should I structure a 3-day split?",
                 "fitness", "a 3-day split around your shifts"),
            Line("Being a {job} means my sleep is all over the place; can you plan simple meals I can prep ahead?",
                 "cooking", "meal prep around your work hours"),
        ),
        ("What do I do for a living?", "What's my {work}?"), "{job}",
        (
            Line("My brother is a {job}. What's a good gift for someone whose work hours are all over the place?",
                 "money", "a thoughtful gift"),
            Line("Can you help me write a thank-you card to a {job} who looked after my gran?",
                 "writing", "a thank-you card"),
        ),
        {"work": ("line of work", "profession", "occupation")},
    ),
    Family(
        "spouse",
        {"pname": NAMES, "role": ("husband", "wife")},
        (
            Line("My {role} {pname} hates coriander. What can I use instead in a green salsa?",
                 "cooking", "a salsa your {role} will eat"),
            Line("{pname}, my {role}, is joining me in Porto for the weekend. What should we book ahead?",
                 "travel", "a weekend in Porto for the two of you"),
        ),
        ("What's my {spouse}'s name?", "Who is my {spouse}?"), "{pname}",
        (
            Line("My sister's {role} {pname} is a picky eater too. Any crowd-pleasing mains for six?",
                 "cooking", "crowd-pleasing mains"),
            Line("Can you help me write a message to my colleague {pname} about covering my shifts?",
                 "writing", "a message asking a colleague for cover"),
        ),
        {"spouse": ("spouse", "other half", "partner", "{role}")},
    ),
    Family(
        "floor",
        {"floor": ("3rd", "4th", "5th", "6th", "7th")},
        (
            Line(
                "Our flat is on the {floor} floor with no lift. How do I get a sofa up the stairs without "
                "scratching the walls?", "home", "getting a sofa up to your flat without a lift",
            ),
            Line(
                "We live up on the {floor} floor and the hallway is narrow; where can I hang a bike so it's "
                "out of the way?", "home", "storing a bike in your narrow hallway",
            ),
        ),
        ("Which {level} is my home on?", "How high up is my apartment?"), "{floor}",
        (
            Line(
                "My office is on the {floor} floor and the lift is always broken. Is taking the stairs "
                "every day decent exercise?", "fitness", "stair climbing as exercise",
            ),
            Line("A friend's apartment is on the {floor} level; how do they get a washing machine delivered?",
                 "home", "getting appliances delivered upstairs"),
        ),
        {"level": ("level", "storey", "floor")},
    ),
    Family(
        "instrument",
        {"instr": ("cello", "viola", "trombone", "oboe", "double bass", "clarinet")},
        (
            Line("I play the {instr} in an amateur orchestra and my shoulders get tight. What stretches help?",
                 "fitness", "stretches for orchestra players"),
            Line("Rehearsals for my {instr} section run late on Thursdays, so what can I cook in 20 minutes?",
                 "cooking", "a 20-minute dinner after rehearsal"),
        ),
        ("Which {music} do I play?", "What {music} do I practise?"), "{instr}",
        (
            Line("My son wants to learn an instrument, maybe the {instr}. How do I budget for lessons and a rental?",
                 "money", "budgeting for music lessons"),
            Line("Can you help me write a short bio for a friend who plays {instr} in a jazz band?",
                 "writing", "a short musician bio"),
        ),
        {"music": ("instrument", "musical instrument")},
    ),
    Family(
        "height",
        {"h": ("1.58 m", "1.62 m", "1.67 m", "1.84 m", "1.91 m")},
        (
            Line("I'm {h}, so which frame size should I look at for a hybrid bike?",
                 "fitness", "a bike frame size for your height"),
            Line("At {h} I always bang my head in old houses; can I raise a low doorway lintel myself?",
                 "home", "raising a low doorway for a tall person"),
        ),
        ("How tall am I?", "What's my {height}?"), "{h}",
        (
            Line("My partner is {h} and wants a standing desk. What height range should it have?",
                 "home", "setting up a standing desk"),
            Line("How tall should a kitchen counter be? The plans say {h} for the island, which sounds odd.",
                 "home", "kitchen counter heights"),
        ),
        {"height": ("height", "height in metres")},
    ),
    Family(
        "laptop",
        {"laptop": ("ThinkPad X1 Carbon", "MacBook Air M1", "Dell XPS 13", "Framework 13", "Surface Laptop 4")},
        (
            Line("Docker is painfully slow on my {laptop} laptop. Is the image size the problem?",
                 "coding", "speeding up Docker on your laptop"),
            Line("My {laptop} fan spins up whenever I run tests. How do I profile which test is slow?",
                 "coding", "profiling slow tests on your laptop"),
        ),
        ("What {computer} do I code on?", "Which {computer} do I use for work?"), "{laptop}",
        (
            Line("Is a {laptop} a good computer for a student? My cousin is choosing a machine for uni.",
                 "money", "choosing a student computer"),
            Line("My colleague's {laptop} keeps overheating during builds. Any fixes?",
                 "coding", "builds that overheat a computer"),
        ),
        {"computer": ("computer", "machine", "laptop")},
    ),
    Family(
        "commute",
        {"m": ("35", "40", "50", "55", "70"), "mode": ("train", "bus", "ferry", "tram")},
        (
            Line("My commute is {m} minutes each way by {mode}. Which kind of language podcast fits that?",
                 "language", "language podcasts for your commute"),
            Line("I spend {m} minutes on the {mode} to the office every morning; can I study vocabulary then?",
                 "language", "studying vocabulary on your commute"),
        ),
        ("How long does it take me to {get} to work?", "How long is my {journey}?"), "{m} minutes",
        (
            Line("My colleague's journey to work takes {m} minutes by bike. Is that enough cardio?",
                 "fitness", "cycling as cardio"),
            Line("The {mode} from the airport takes {m} minutes; is it worth paying for a taxi instead?",
                 "travel", "airport transfers"),
        ),
        {"get": ("get", "travel"), "journey": ("journey to the office", "trip in each morning", "commute")},
    ),
    Family(
        "hometown",
        {"city": CITIES},
        (
            Line("I grew up in {city}, so I want to cook a stew like the ones back home. Where do I start?",
                 "cooking", "a stew like the ones from your hometown"),
            Line("I'm writing a short piece about growing up in {city} for a local magazine. How do I open it?",
                 "writing", "opening an essay about your hometown"),
        ),
        ("Where am I {from}?", "Which town did I spend my {childhood} in?"), "{city}",
        (
            Line("A friend keeps recommending {city} for a weekend away. Is it worth the trip?",
                 "travel", "a weekend city break"),
            Line("My manager grew up near {city}; what's a nice way to start a farewell card for her?",
                 "writing", "a farewell card"),
        ),
        {"from": ("originally from", "from, originally"), "childhood": ("childhood", "early years")},
    ),
    Family(
        "mother_tongue",
        {"lang": ("Dutch", "Polish", "Portuguese", "Greek", "Finnish", "Czech")},
        (
            Line(
                "{lang} is my first language, so English phrasal verbs still trip me up in emails. How do "
                "I sound less formal?", "writing", "sounding less formal in English emails",
            ),
            Line(
                
                "Growing up speaking {lang} at home, I find English articles hard. Can you explain when to drop 'the'?",
                "language", "English articles",
            ),
        ),
        ("What's my {native} language?", "Which language did I grow up {with}?"), "{lang}",
        (
            Line("My manager speaks {lang} and I want to greet her properly. Any pronunciation tips?",
                 "language", "pronunciation basics"),
            Line("Is {lang} hard to learn as a native English speaker? I'm picking my next language.",
                 "language", "choosing a language to learn"),
        ),
        {"native": ("native", "mother", "first"), "with": ("with", "speaking")},
    ),
)

PREFERENCES: tuple[Family, ...] = (
    Family(
        "units",
        {"x": ("metric",)},
        (
            Line(
                "Please always use metric with me, grams and Celsius; I can't picture cups or Fahrenheit. "
                "Anyway, how do I make a basic bread dough?", "cooking", "a basic bread dough",
            ),
        ),
        ("What {measure} should you use when you answer me?", "How should you give quantities in recipes for me?"),
        "metric (grams, Celsius)",
        (
            Line("My mum's recipes are all in cups and ounces. Is there a quick way to convert them?",
                 "cooking", "converting recipe measurements"),
        ),
        {"measure": ("measurement system", "units")},
        (
            Line("Metric again please, like I said before. How big a tin for a 6-egg sponge?",
                 "cooking", "choosing a cake tin"),
        ),
    ),
    Family(
        "diet",
        {"diet": ("vegetarian", "pescatarian", "vegan")},
        (
            Line(
                "I've been {diet} for years, so keep that in mind for any food ideas. What's a good "
                "high-protein breakfast?", "cooking", "a high-protein breakfast",
            ),
        ),
        ("Suggest a dinner for tonight.", "What should I {cook} this evening?"), "a {diet} dish",
        (
            Line("If I went {diet} for a month, would I still get enough protein?",
                 "fitness", "protein on a restrictive diet"),
            Line("My brother eats everything. What roast should I cook when he visits?",
                 "cooking", "a Sunday roast for a guest"),
        ),
        {"cook": ("make", "cook")},
        (Line("Remember I'm {diet}: what can I take to a barbecue?", "cooking", "food for a barbecue"),),
    ),
    Family(
        "brevity",
        {"x": ("short",)},
        (
            Line("I hate long intros. Get straight to the point with me. Now, how do I undo a pushed commit?",
                 "coding", "undoing a git commit"),
        ),
        ("How should you {shape} your replies to me?", "What kind of answers do I like from you?"),
        "short and to the point, no long intros",
        (
            Line("My boss writes really long emails. How do I politely ask for shorter ones?",
                 "writing", "asking for shorter emails"),
        ),
        {"shape": ("shape", "style", "format")},
    ),
    Family(
        "spelling",
        {"x": ("British",)},
        (
            Line(
                "Use British spelling in anything you draft for me, please; my clients are in Manchester. "
                "Can you help with an invoice reminder?", "writing", "chasing an unpaid invoice",
            ),
        ),
        ("Which variety of English should {drafts} for me be in?", "Colour or color: which do I want?"),
        "British English",
        (
            Line("Is American spelling more common online these days? Just curious for a blog post.",
                 "writing", "a blog post about language"),
        ),
        {"drafts": ("drafts", "documents you write", "letters you write")},
    ),
    Family(
        "code_lang",
        {"x": ("TypeScript",)},
        (
            Line("I work in TypeScript, never plain JavaScript, so keep examples typed. How do I retry a failed fetch?",
                 "coding", "retrying HTTP requests"),
        ),
        ("What {lang} should code samples for me be written in?", "If you show me a snippet, which {lang} is it in?"),
        "TypeScript",
        (
            Line("My colleague swears by Go for command-line tools. Is it worth learning?",
                 "coding", "choosing a language for CLI tools"),
        ),
        {"lang": ("language", "programming language")},
    ),
    Family(
        "workout_time",
        {"x": ("before 7",)},
        (
            Line(
                "I can only train before 7 in the morning; after that the kids take over. Can you plan a "
                "strength week?", "fitness", "a strength week",
            ),
        ),
        ("When in the day should you {schedule} my sessions?", "Plan my gym time for next week: what slot works?"),
        "early mornings, before 7",
        (
            Line(
                "Is it bad to exercise late in the evening? My partner trains at 10 pm.", "fitness", "evening workouts"
            ),
        ),
        {"schedule": ("schedule", "put", "slot")},
    ),
    Family(
        "luggage",
        {"x": ("hand luggage",)},
        (
            Line("I only ever travel with hand luggage, never a checked bag. What should I pack for Lisbon?",
                 "travel", "packing light"),
        ),
        ("Recommend a bag for my next trip.", "What {kind} should I plan to bring when I fly?"), "hand luggage only",
        (
            Line("My parents always check two suitcases. What's the weight limit these days?",
                 "travel", "baggage allowances"),
        ),
        {"kind": ("kind of bag", "luggage")},
    ),
    Family(
        "no_exclaim",
        {"x": ("exclamation marks",)},
        (
            Line(
                "Keep my emails friendly but never use exclamation marks; they feel fake to me. Can you "
                "draft a note to my landlord?", "writing", "a note to a landlord",
            ),
        ),
        ("Which {punct} should you leave out when you write for me?", "What's my pet peeve in emails you draft?"),
        "exclamation marks",
        (
            Line("Are semicolons too formal for a work email? A colleague used three today.",
                 "writing", "punctuation at work"),
        ),
        {"punct": ("punctuation mark", "punctuation")},
    ),
)
# fmt: on
