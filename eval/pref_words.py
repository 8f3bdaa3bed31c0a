"""Preference families for :mod:`eval.synthetic_prefs`: what a user can prefer, and how it is said.

A :class:`PrefFamily` is one domain of taste (a diet, a way of travelling, a programming
language) with four :class:`Option` values. Each option can be *stated* outright
(``stated``), *revealed in passing* inside a request about something else (``passing``), or
*chosen* from the assistant's list (``pitch`` is its line there). ``asks`` are later requests
that the preference should shape but that never name it ("Can you recommend some cafés in
{city}?" for a gluten-free user): they share few content words with any option's lines.
``domain`` and ``others`` are near misses: requests on the same domain that carry no
preference, and someone else's taste. Pure data; the leisure families (films, books, music,
games, outings) are in :mod:`eval.pref_leisure`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    name: str  # the answer: what the request should be shaped by
    pitch: str  # its line in the assistant's option list, after the bold name
    stated: tuple[str, ...]  # said outright, to the assistant
    passing: tuple[str, ...]  # a sentence that gives it away in passing
    clash: tuple[str, ...] = ()  # words of filler requests such a user never makes


@dataclass(frozen=True)
class PrefFamily:
    key: str
    topic: str  # the chat topic on-domain answers are composed from (eval.chat_topics or LEISURE)
    options: tuple[Option, Option, Option, Option]
    menus: tuple[tuple[str, str], ...]  # (a request for options, the subject of the list)
    asks: tuple[str, ...]  # requests that imply the preference without its words ({city})
    domain: tuple[tuple[str, str], ...]  # on-domain requests with no preference: (text, subject)
    others: tuple[tuple[str, str], ...]  # someone else's taste ({name}: another option): (text, subject)


ASK_CITIES = ("San Francisco", "Lisbon", "Melbourne", "Montreal", "Seoul", "Edinburgh", "Vienna", "Buenos Aires")
ORDINALS = ("first", "second", "third", "fourth")
NUMBERS = ("one", "two", "three", "four")

# The user's pick from an option list: the position only, never the option's words.
CHOICES = (
    "The {ord} one sounds perfect.",
    "Let's go with number {n}.",
    "Option {n}, definitely. That's so me.",
    "I think the {ord} is the one for me.",
    "Number {word} sounds right up my street!",
    "Definitely the {ord} one. Thanks!",
    "Ooh, {n} for sure.",
    "I'll take the {ord}, I think.",
)
# The assistant's reply to a pick: warm, and naming nothing.
CHOICE_ACKS = (
    "Great choice, I think it'll suit you well. Want me to put together a few ideas to start with next time?",
    "Good pick. It's an easy one to get into, and you can always branch out later.",
    "Lovely, that one rewards a bit of patience. Shall I suggest where to begin?",
    "Nice, I had a feeling that might be the one. Let me know when you want a starter list.",
)
# The assistant's reply to a preference stated on its own: it does not echo the words.
STATED_ACKS = (
    "Got it, I'll keep that in mind from now on.",
    "Noted, thanks for telling me. I'll take it into account.",
    "Understood. I'll remember that for anything I suggest.",
    "Thanks, that's useful to know.",
)
MENU_INTROS = (
    "Here are four directions worth considering, each quite different:",
    "Happy to help you choose. These are the options I'd weigh up:",
    "There's no wrong answer here, but these four cover most of the ground:",
    "Good question. Here's how I'd lay out the choices:",
)
MENU_CLOSERS = (
    "Which of these appeals to you? I can go deeper on any of them.",
    "Tell me which one you fancy and I'll tailor the next suggestions to it.",
    "Any of these stand out?",
    "Pick one and we can build from there.",
)
PASSING_JOINS = ("{p} Anyway, {r}", "{r} {p}", "{p} Quick question: {r}", "{r} (Sorry, slow today. {p})")

# A stated preference comes with a sentence that ties its domain to the user's life, as people do
# when they tell an assistant something about themselves (by family key; none uses a request's words).
CONTEXTS: dict[str, tuple[str, ...]] = {
    "diet": ("I cook most evenings and think carefully about what I eat, at home and out.",),
    "cuisine": ("Eating out is my favourite treat, and I love trying new places with friends.",),
    "coffee": ("A warm mug at my desk is what gets me through the working day.",),
    "lodging": ("I travel a few times a year, and where I sleep makes or breaks a trip.",),
    "transport": ("I go abroad to see family several times a year.",),
    "exercise": ("Training most days is what keeps my head clear.",),
    "decor": ("I care a lot about how my flat looks and feels.",),
    "replies": ("I mostly read what you send on my phone, usually in a hurry.",),
    "study": ("I'm slowly learning a couple of languages alongside work.",),
    "code": ("I build a lot of little programs for myself in the evenings.",),
    "films": ("Screen time is how I wind down at the end of a long day.",),
    "books": ("I always have a novel on the go, usually two.",),
    "music": ("There's something playing in my flat from morning to night.",),
    "games": ("We have people over most weekends.",),
    "outings": ("I hate wasting a day off indoors.",),
    "gifts": ("I'm the one in my family who organises everyone's celebrations.",),
}

# fmt: off
FOOD_CLASH = ("chicken", "pork", "omelette", "stock", "roast", "beef", "lamb", "fish")
EVERYDAY: tuple[PrefFamily, ...] = (
    PrefFamily(
        "diet", "cooking",
        (
            Option("gluten-free",
                   "no wheat, barley or rye; "
                   "rice, buckwheat and corn carry the meals; think buckwheat pancakes, risotto, corn tortillas.",
                   ("I avoid gluten completely; I was diagnosed coeliac last year.",
                    "Please remember I can't have gluten. Even a little wheat flour makes me ill."),
                   ("My coeliac diagnosis means I read every label at the shop now, so the weekly shop takes ages.",),
                   ("sourdough", "pasta", "bread", "cake", "sponge")),
            Option("vegan",
                   "no animal products at all; beans, tofu, nuts and grains bring the protein; "
                   "think chickpea curries, tofu scrambles, lentil ragù.",
                   ("I'm vegan, so no meat, eggs or dairy in anything you suggest.",),
                   ("Since I stopped eating anything that comes from animals, my grocery bill has dropped.",),
                   (*FOOD_CLASH, "parmesan", "butter", "egg", "cheese")),
            Option("pescatarian",
                   "vegetables and grains plus seafood, but no meat; think grilled mackerel, prawn tacos, bean stews.",
                   ("I eat seafood but never meat, so bear that in mind.",),
                   ("I gave up meat two years ago, but I still can't resist grilled sardines by the sea.",),
                   ("chicken", "pork", "roast", "beef", "lamb")),
            Option("dairy-free",
                   "no milk, butter, cheese or cream; "
                   "oat and coconut stand in; think oat-milk porridge, coconut curries, olive-oil baking.",
                   ("Dairy doesn't agree with me at all, so please leave out milk, butter and cheese.",),
                   ("My stomach has been so much better since I cut out milk and cheese.",),
                   ("butter", "parmesan", "cheese", "omelette", "risotto")),
        ),
        (("I'd like to change the way I eat this year. What approaches could I look at?", "ways of eating"),
         ("My doctor says I should rethink my diet a bit. What are the main options people follow?",
          "rethinking your diet")),
        ("Can you recommend some cafés in {city}?", "What food should I bring to my colleague's leaving do on Friday?",
         "Plan me three dinners for next week.", "What could I take along for lunch on a long train journey?"),
        (("What's a good high-protein breakfast?", "a high-protein breakfast"),
         ("How do I make a weeknight stir-fry more filling?", "a more filling stir-fry")),
        (("My sister has just gone {name}. What can I cook when she visits?", "a guest on a special diet"),),
    ),
    PrefFamily(
        "cuisine", "cooking",
        (
            Option("Japanese",
                   "ramen, sushi, donburi and izakaya small plates; "
                   "clean, savoury and precise; start with a good miso soup and gyoza.",
                   ("Japanese food is my absolute favourite; I could eat ramen every day.",),
                   ("I had the best bowl of tonkotsu ramen last night, so I'm in a great mood.",)),
            Option("Mexican",
                   "tacos, mole, slow-cooked beans and plenty of lime and chilli; "
                   "start with tacos de carnitas and a fresh salsa.",
                   ("Mexican is hands down my favourite food. Tacos win every time.",),
                   ("We had tacos al pastor three times on holiday and I've been dreaming about them since.",)),
            Option("Lebanese",
                   "mezze, flatbreads, grilled skewers and a lot of fresh herbs; "
                   "start with hummus, fattoush and shish taouk.",
                   ("If I could only eat one cuisine forever, it would be Lebanese.",),
                   ("I'm still full from a huge mezze lunch with hummus, tabbouleh and far too much flatbread.",)),
            Option("Korean",
                   "barbecue at the table, kimchi, bibimbap and warming stews; start with bibimbap and a kimchi stew.",
                   ("Korean is my favourite food by a mile; bibimbap is my comfort dish.",),
                   ("The kimchi I fermented last month finally tastes right, which made my week.",)),
        ),
        (("I want to learn one new cuisine properly this year. Which would you suggest?", "picking a cuisine"),),
        ("Where should we go for my birthday dinner in {city}?", "Pick a restaurant for a date night in {city}.",
         "What takeaway should I order for Friday night?", "What cookbook should I ask for as a present?"),
        (("How do I stop my stir-fry from going watery?", "a dry, glossy stir-fry"),),
        (("My partner loves {name} food. Is it hard to cook at home?", "cooking a favourite cuisine at home"),),
    ),
    PrefFamily(
        "coffee", "cooking",
        (
            Option("oat flat white",
                   "a double espresso with silky steamed oat milk; the café classic for a smooth start.",
                   ("My order is always an oat flat white; nothing else will do.",),
                   ("Sorry if this is garbled, I'm only halfway through my first oat flat white of the day.",)),
            Option("black filter coffee",
                   "pour-over or batch brew, no milk, no sugar, lots of flavour; try a light Ethiopian roast.",
                   ("I only drink my coffee black, filter, with nothing added.",),
                   ("The pour-over kettle I bought finally arrived, so my mornings are sorted.",)),
            Option("matcha latte",
                   "whisked green tea with milk: a gentler lift than espresso; "
                   "ceremonial-grade powder makes the difference.",
                   ("I don't do coffee at all, but I love a matcha latte.",),
                   ("I've swapped espresso for whisked green tea with milk and I sleep much better.",)),
            Option("decaf",
                   "all the ritual of an espresso bar with none of the jitters; "
                   "Swiss-water decaf tastes closest to the real thing.",
                   ("Caffeine keeps me up all night, so it's decaf only for me.",),
                   ("My doctor told me to cut the caffeine, so I'm on decaf from now on, sadly.",)),
        ),
        (("I want to find a new favourite café drink. What are the main kinds worth trying?", "café drinks"),),
        ("I need a hot drink for my afternoon slump. What should I get?",
         "What should I order at the café near the office tomorrow?",
         "I'm setting up a little hot-drinks corner in the kitchen. What do I need?"),
        (("How do I keep a cafetière from tasting bitter?", "a less bitter cafetière"),),
        (("My dad swears by {name}. Is it worth trying?", "trying a new café drink"),),
    ),
    PrefFamily(
        "lodging", "travel",
        (
            Option("small boutique hotels",
                   "a handful of rooms, a strong sense of place and staff who know you; "
                   "often in restored old buildings.",
                   ("I always stay in small boutique hotels when I travel. Chains feel soulless to me.",),
                   ("The little twelve-room hotel we found in Porto spoiled me for big chains forever.",)),
            Option("hostels",
                   "cheap dorms or private rooms, a kitchen and people to meet; many now have quiet private rooms too.",
                   ("I stay in hostels wherever I go; I like meeting other travellers and saving money.",),
                   ("I met my best friend in a dorm room in Hanoi, so I'm a bit sentimental about bunk beds.",)),
            Option("apartment rentals",
                   "a whole flat with a kitchen, so you live like a local; best for stays of four nights or more.",
                   ("I prefer renting a whole apartment when I travel; I like having my own kitchen.",),
                   ("Our rented flat in Seville had a tiny balcony, and we cooked breakfast there every day.",)),
            Option("campsites",
                   "a pitch under the trees, a campfire and the outdoors on the doorstep; "
                   "from wild pitches to glamping tents.",
                   ("Given the choice I'll always camp rather than stay indoors.",),
                   ("The tent is still drying in the garden after last weekend by the lake.",)),
        ),
        (("I'm trying to work out what kind of places I like to stay in. What are the options?",
          "kinds of places to stay"),),
        ("Where should I stay in {city} next month?", "Help me sort out the bookings for a week in {city}.",
         "What should I look for when I book our anniversary trip?"),
        (("Is it better to rent a car or take buses around the Algarve?", "getting around the Algarve"),),
        (("My cousin only ever books {name}. Is that a good idea for a family?", "family accommodation"),),
    ),
    PrefFamily(
        "transport", "travel",
        (
            Option("trains",
                   "rail and sleeper trains: city centre to city centre, low carbon, room to work; "
                   "sleepers save a night in a hotel.",
                   ("I don't fly any more. It's trains only for me, for the climate.",),
                   ("I'm writing this on the sleeper to Vienna, which is my favourite way to get anywhere.",)),
            Option("flying",
                   "the fastest door to door on long hops, with a good deal booked early; "
                   "fly early morning for the cheapest fares.",
                   ("I always fly. Long journeys on the ground make me miserable.",),
                   ("I've collected so many air miles this year that I might get lounge access.",)),
            Option("driving",
                   "your own car, your own schedule, and stops wherever you like; "
                   "ideal when the best places are off the rail lines.",
                   ("I'd rather drive myself everywhere; I like stopping wherever I want.",),
                   ("The car is still packed with camping gear from last weekend's road trip.",)),
            Option("long-distance coaches",
                   "the cheapest way between cities, with wifi and overnight options; "
                   "FlixBus and the like reach almost everywhere.",
                   ("I take coaches everywhere to keep costs down. I don't mind the long rides.",),
                   ("Fourteen hours on a bus to Prague last month and I'd honestly do it again.",)),
        ),
        (("I travel a lot for family visits. What are the different ways I could do those journeys?",
          "ways to travel between cities"),),
        ("How should I get to {city} for the conference?", "How should we travel to the coast for our summer holiday?",
         "What's the best way to visit my parents, two countries away?"),
        (("How early should I book for the cheap fares in Germany?", "cheap fares in Germany"),),
        (("My boss insists on {name} for work trips. Is it really cheaper?", "the cost of work trips"),),
    ),
    PrefFamily(
        "exercise", "fitness",
        (
            Option("yoga",
                   "flexibility, strength and calm in one mat, at home or in a studio; "
                   "start with a beginners' vinyasa or yin class.",
                   ("Yoga is the only exercise I actually enjoy, so I stick to that.",),
                   ("I'm back from my evening vinyasa class and still feel very zen.",)),
            Option("swimming",
                   "low-impact laps that work the whole body and go easy on the joints; "
                   "a masters group adds structure.",
                   ("Swimming is my thing; I do lengths four mornings a week.",),
                   ("My hair still smells of chlorine from the pool this morning.",)),
            Option("bouldering",
                   "short climbing problems on a padded wall, social and puzzle-like; most walls run taster sessions.",
                   ("I love climbing. Bouldering is the one workout I never skip.",),
                   ("My forearms are wrecked after the new problems went up at the climbing wall.",)),
            Option("cycling",
                   "road or gravel rides, from commuting to long weekend loops; "
                   "a local club ride is the easiest way in.",
                   ("I'm a keen cyclist; long rides are how I stay fit.",),
                   ("I did eighty kilometres on the bike on Sunday and my legs are still complaining.",)),
        ),
        (("I want to find a way to exercise that I'll actually stick to. What would you suggest?",
          "exercise you'll stick to"),),
        ("How can I stay active while I'm away for work?", "What could I do on my lunch break to move more?",
         "Suggest a workout to unwind after a stressful week.",
         "What fitness class should I sign up for in the new year?"),
        (("How should I warm up before a run?", "a warm-up before a run"),),
        (("My flatmate is obsessed with {name}. Is it good for back pain?", "exercise for back pain"),),
    ),
    PrefFamily(
        "decor", "home",
        (
            Option("Scandinavian minimal",
                   "pale wood, white walls, few things and a lot of light; linen, birch and plenty of white space.",
                   ("I like my home very Scandinavian: pale wood, white walls, nothing fussy.",),
                   ("I finally got rid of half my furniture and the flat feels calm and airy, all pale oak now.",)),
            Option("mid-century modern",
                   "teak, tapered legs, warm colours and 1960s shapes; think Eames chairs and teak sideboards.",
                   ("Mid-century is my style: teak, tapered legs, warm colours.",),
                   ("I found a 1960s teak sideboard at a flea market and I'm ridiculously happy about it.",)),
            Option("industrial",
                   "exposed brick, black metal, concrete and Edison bulbs; think loft apartments and factory lamps.",
                   ("I love an industrial look: brick, black metal, concrete.",),
                   ("We took the plaster off one wall and the bare brick underneath looks amazing.",)),
            Option("cottage",
                   "floral fabrics, painted dressers, books and plants everywhere; "
                   "think chintz, wicker and a Welsh dresser.",
                   ("My taste is pure cottage: florals, painted dressers, lots of plants.",),
                   ("I've just painted my grandmother's old dresser sage green and lined it with floral paper.",)),
        ),
        (("I'm finally decorating my own place. What styles should I think about?", "interior styles"),),
        ("Help me pick a sofa for the living room.", "What should I hang in the hallway? It looks so empty.",
         "We're repainting the bedroom. Any ideas?"),
        (("How do I fix a squeaky floorboard?", "a squeaky floorboard"),),
        (("My neighbour's flat is all {name}. How do people keep that looking tidy?", "keeping a styled home tidy"),),
    ),
    PrefFamily(
        "replies", "writing",
        (
            Option("bullet points", "short lists you can scan, one idea per line; easy to skim on a phone.",
                   ("I like answers as bullet points. Paragraphs lose me.",),
                   ("My manager sent another wall of text, and I only ever read lists.",)),
            Option("short answers",
                   "two or three sentences, straight to the point; the headline first, detail only if you ask.",
                   ("Keep your answers short with me, two or three sentences at most.",),
                   ("I had to sit through a ninety-minute meeting that could have been one sentence.",)),
            Option("step-by-step detail",
                   "every step spelled out in order, nothing skipped; numbered, with the why behind each step.",
                   ("I like things explained step by step, in full detail. Don't skip anything.",),
                   ("I rebuilt the bookcase from the manual exactly as drawn, in order, and it came out perfect.",)),
            Option("examples first",
                   "a worked example up front, then the general rule; a concrete case, then the principle.",
                   ("Start with an example when you explain something; I learn best that way.",),
                   ("I only understood my tax return once my friend walked me through her own as a sample.",)),
        ),
        (("How would you like to explain things to me? What kinds of formats can you do?", "answer formats"),),
        ("Explain how compound interest works.", "How does a heat pump actually work?",
         "Tell me what I should know before signing a rental contract."),
        (("Can you help me make this cover letter less stiff?", "a less stiff cover letter"),),
        (("My colleague writes everything as {name}. Is that good style for reports?", "formats for reports"),),
    ),
    PrefFamily(
        "study", "language",
        (
            Option("flashcards", "spaced-repetition cards for ten minutes a day, every day; Anki is the classic app.",
                   ("Spaced-repetition flashcards are how I learn; I do my cards every day.",),
                   ("My card app says I'm on a 200-day streak, which I'm a bit too proud of.",)),
            Option("podcasts",
                   "learner podcasts and radio on the go, listening your way in; "
                   "Coffee Break and News in Slow are good starts.",
                   ("I learn languages mostly by listening to podcasts, it's what works for me.",),
                   ("I've been listening to so many learner episodes on the bus that I dream in Spanish.",)),
            Option("conversation classes",
                   "speaking with a tutor or a group every week; online tutors make it affordable.",
                   ("I need to speak to learn, so classes with a real tutor are my thing.",),
                   ("My Tuesday tutor made me chat for a full hour and I survived!",)),
            Option("graded readers",
                   "easy novels written for learners, read a chapter at a time; "
                   "pick a level slightly below where you think you are.",
                   ("I learn best by reading simple books written for learners.",),
                   ("I finished my first whole novel for learners last night, only 800 words a chapter.",)),
        ),
        (("I'm restarting my Portuguese. What are the main ways people study?", "ways to study a language"),),
        ("I have twenty minutes a day for my Portuguese. How should I use them?",
         "How do I keep my Italian from slipping over the summer?",
         "What should I do on my commute to practise my German?"),
        (("What's the best way to memorise vocabulary without getting bored?", "memorising vocabulary"),),
        (("My brother swears by {name} for his French. Does it really work?", "language study methods"),),
    ),
    PrefFamily(
        "code", "coding",
        (
            Option("Python",
                   "batteries included, readable, and a library for everything; "
                   "ideal for scripts, data and automation.",
                   ("Write any code for me in Python please; it's the only language I'm comfortable in.",),
                   ("I spent the weekend tidying my Django side project and fighting pip.",)),
            Option("TypeScript",
                   "JavaScript with types, for the browser and Node alike; the default for modern web apps.",
                   ("I work in TypeScript, so examples in that are most useful for me.",),
                   ("I finally turned on strict mode in my Node project and fixed 300 type errors.",)),
            Option("Go",
                   "small, fast binaries, simple concurrency and a great standard library; "
                   "great for servers and command-line tools.",
                   ("Go is my language. Please give me code in Go.",),
                   ("Goroutines made my little scraper forty times faster, I'm thrilled.",)),
            Option("Rust",
                   "memory safety without a garbage collector, and fast as C; loved for systems work and fast CLIs.",
                   ("I write everything in Rust these days, so please use that.",),
                   ("I spent the whole weekend fighting the borrow checker again.",)),
        ),
        (("I want to pick one programming language to get really good at. Which would you suggest?",
          "a language to master"),),
        ("Write me a small script that renames my photos by the date they were taken.",
         "How would I build a tiny tool that checks my website is up?",
         "Show me how to pull the prices from a spreadsheet export and email me a summary."),
        (("What's a sane logging setup for a script?", "logging in a script"),),
        (("My team lead wants us all on {name}. Is it worth the switch?", "switching programming languages"),),
    ),
)
# fmt: on
