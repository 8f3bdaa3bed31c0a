"""Text pools for :mod:`eval.synthetic_chat`: what a user asks an assistant about, per topic.

Each topic has plain requests (``(user text, subject)``), the sentences and list items a
long assistant answer is built from (``{s}`` is the request's subject), a table and, for
coding, code blocks. Pure data: the composer is :mod:`eval.chat_answers`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eval.chat_code import CODE, INVOICE_EMAIL, SPREADSHEET


@dataclass(frozen=True)
class Topic:
    name: str
    requests: tuple[tuple[str, str], ...]  # (user text, subject the answer is about)
    intros: tuple[str, ...]  # first paragraph sentences
    paras: tuple[str, ...]  # body paragraph sentences
    steps: tuple[str, ...]  # numbered steps
    tips: tuple[str, ...]  # bullet tips
    mistakes: tuple[str, ...]  # bullet pitfalls
    table_head: tuple[str, ...]
    table_rows: tuple[tuple[str, ...], ...]
    code: tuple[tuple[str, str, str], ...] = field(default=())  # (subject it answers or "", language, body)
    headings: tuple[str, ...] = ("Tips", "Things to watch", "Good to know")


# fmt: off
COOKING = Topic(
    name="cooking",
    requests=(
        ("What's a quick weeknight pasta that isn't just tomato sauce?", "a quick weeknight pasta"),
        ("How do I get crispy skin on roast chicken? Mine always comes out soggy.", "crispy roast chicken"),
        ("Can you give me a simple sourdough schedule that fits around a work day?", "a sourdough schedule"),
        ("What can I batch cook on Sunday that reheats well for lunches?", "batch-cooked lunches"),
        ("How long does homemade chicken stock keep in the fridge?", "homemade stock"),
        ("Any ideas for a one-pot dinner with lentils?", "a one-pot lentil dinner"),
        ("How do I make risotto without standing over it for 40 minutes?", "an easier risotto"),
        ("What's the trick to a fluffy omelette?", "a fluffy omelette"),
        ("Can you suggest a side dish for grilled fish?", "a side for grilled fish"),
        ("How do I stop my stir-fry from going watery?", "a dry, glossy stir-fry"),
        ("What spices should a beginner actually buy first?", "a starter spice shelf"),
        ("Is it worth brining a pork chop?", "brining pork chops"),
        ("How do I make a decent curry paste from scratch?", "a homemade curry paste"),
        ("What should I do with half a cabbage that's about to go off?", "using up cabbage"),
    ),
    intros=(
        "Good news: {s} is mostly about timing and heat rather than fancy technique.",
        "Here's how I'd approach {s}, with the quantities and the order of work spelled out.",
        "{s} is very doable on a weeknight once you know which steps can run in parallel.",
        "The short version for {s}: prepare everything first, then cook hot and fast.",
    ),
    paras=(
        "Salt early and taste often; most home cooking that tastes flat is under-seasoned rather than badly cooked.",
        "A heavy pan that holds heat makes a bigger difference than any recipe tweak, especially when you "
        "add cold ingredients.",
        "If you are feeding more people, scale the aromatics less than linearly; garlic and chilli get loud quickly.",
        "Acidity at the end, a squeeze of lemon or a splash of vinegar, wakes up almost any braise or soup.",
        "Leftovers keep three to four days in a sealed container in the fridge and freeze well for about two months.",
        "Resting matters: meat that sits for a few minutes after cooking loses far less juice when you slice it.",
        "Read the whole recipe before you start and lay out the ingredients; the French call it mise en "
        "place for a reason.",
        "Fresh herbs go in at the end, dried ones early, so their oils have time to bloom in the fat.",
        "When a recipe says medium heat, trust the sound: a steady sizzle is right, silence means the pan is too cold.",
        "Most of the flavour in {s} comes from browning, so give the pan space and resist stirring for the "
        "first minutes.",
        "You can swap the main vegetable for whatever is in season without changing the method at all.",
        "If something tastes bitter, a pinch of sugar or a little fat rounds it off better than more salt.",
    ),
    steps=(
        "Prep all the vegetables and measure the dry ingredients before the stove goes on.",
        "Heat the pan for two full minutes before any oil goes in.",
        "Brown the aromatics in batches so they colour instead of steaming.",
        "Deglaze with a splash of water, stock or wine and scrape up the browned bits.",
        "Simmer gently, lid half on, and stir only every few minutes.",
        "Taste, adjust salt and acidity, then take it off the heat.",
        "Rest for five minutes, finish with herbs and serve on warm plates.",
        "Cool leftovers quickly in a shallow container before they go in the fridge.",
        "Bring the liquid to a boil, then drop it to the lowest simmer your hob can hold.",
        "Pat the surface completely dry with kitchen paper before it touches the pan.",
    ),
    tips=(
        "Keep a jar of pickled onions around; they fix a heavy plate in seconds.",
        "A microplane for garlic and ginger saves a surprising amount of time.",
        "Toast whole spices in a dry pan until fragrant before grinding them.",
        "Cook grains in stock instead of water for an easy flavour boost.",
        "Freeze stock in ice-cube trays so you can use a little at a time.",
        "Write the date on everything that goes into the freezer.",
        "Use the pasta water; its starch turns a thin sauce glossy.",
        "Buy a cheap oven thermometer; most ovens are off by 10-20 degrees.",
        "Salt the water as you'd salt a soup, not like the sea.",
        "Warm the plates in a low oven for a restaurant touch.",
    ),
    mistakes=(
        "Crowding the pan, which steams the food instead of browning it.",
        "Adding garlic too early, where it burns and turns bitter.",
        "Cutting pieces unevenly, so half are raw while the rest overcook.", "Skipping the rest after cooking.",
        "Stirring constantly, which stops a crust from forming.", "Seasoning only at the end instead of in layers.",
    ),
    table_head=("Ingredient", "Amount", "Note"),
    table_rows=(
        ("olive oil", "2 tbsp", "plus more to finish"), ("onion", "1 large", "finely diced"),
        ("garlic", "3 cloves", "grated"), ("stock", "750 ml", "hot"), ("butter", "30 g", "cold, cubed"),
        ("lemon", "1", "zest and juice"), ("parmesan", "40 g", "finely grated"),
        ("fresh parsley", "a handful", "chopped"), ("chilli flakes", "1/2 tsp", "optional"),
        ("tinned tomatoes", "400 g", "crushed by hand"), ("rice", "300 g", "rinsed"),
        ("salt", "to taste", "add in stages"),
    ),
    headings=("Tips", "Common mistakes", "Make ahead", "Variations"),
)

TRAVEL = Topic(
    name="travel",
    requests=(
        ("What's the best way to get from the airport to the city centre in Lisbon?", "getting into Lisbon"),
        ("Can you help me plan three days in Kraków?", "three days in Kraków"),
        ("Is a rail pass worth it for two weeks in Italy?", "an Italian rail pass"),
        ("What should I pack for a week of hiking in the Alps in September?", "an Alpine packing list"),
        ("How early should I book trains in Germany to get the cheap fares?", "cheap German train fares"),
        ("What's a sensible itinerary for a long weekend in Copenhagen?", "a long weekend in Copenhagen"),
        ("Do I need travel insurance for a short trip inside the EU?", "travel insurance inside the EU"),
        ("How do I avoid jet lag on a flight to Tokyo?", "jet lag on a long-haul flight"),
        ("Which neighbourhoods are good for food in Valencia?", "eating well in Valencia"),
        ("Can you plan a rainy-day itinerary for Edinburgh?", "a rainy day in Edinburgh"),
        ("Is it better to rent a car or take buses around the Algarve?", "getting around the Algarve"),
        ("What's a good day trip from Vienna?", "a day trip from Vienna"),
        ("How much cash should I carry in Morocco?", "cash for a Morocco trip"),
        ("What are the rules for liquids in hand luggage these days?", "liquids in hand luggage"),
    ),
    intros=(
        "Happy to help with {s}; here's a plan that balances sights, food and downtime.",
        "For {s}, the main decisions are where to base yourself and how to move between areas.",
        "Here's a practical breakdown of {s}, with rough costs and timings.",
        "{s} works best if you keep the first day light and book the busy sights ahead.",
    ),
    paras=(
        "Book the popular museums online; timed entry slots often sell out a few days ahead in high season.",
        "Public transport day passes usually pay for themselves after three rides, and they cover the "
        "airport line in most cities.",
        "Pick accommodation near a metro or tram stop rather than in the old town itself; it's quieter and cheaper.",
        "Shoulder season, roughly April to early June and September to October, gives you mild weather and "
        "smaller crowds.",
        "Lunch menus at sit-down restaurants are often half the dinner price for the same kitchen.",
        "Keep one flexible half-day in the plan; weather, tired legs or a great find will always use it.",
        "Download offline maps before you leave, and save the address of your accommodation in the local language.",
        "Contactless card payment works almost everywhere in Europe now, but small bakeries and markets may "
        "still want cash.",
        "Check whether the city charges a tourist tax; it's usually a few euros per night paid at the hotel.",
        "For {s}, walking between neighbouring districts is often faster than waiting for a connection.",
        "Trains booked two to six weeks ahead are usually the sweet spot between price and flexibility.",
        "Museums are quietest in the first hour after opening and on weekday evenings if they open late.",
    ),
    steps=(
        "Fix your arrival and departure times first; everything else hangs off them.",
        "Group the sights by neighbourhood so each day stays in one or two areas.",
        "Book the one thing that sells out, and leave the rest open.",
        "Put a long lunch in the middle of each day as a rest stop.",
        "Check opening days; many museums close on Mondays.", "Save a rainy-day backup for each day.",
        "Buy the transport pass at the airport machine on arrival.",
        "Leave the last afternoon loose for souvenirs and packing.", "Share the itinerary with someone at home.",
    ),
    tips=(
        "A light rain shell beats an umbrella in windy coastal cities.",
        "Carry a refillable bottle; tap water is safe in most of Europe.",
        "Screenshot your tickets in case the app needs a signal.",
        "Bring a small power bank for long days of navigation.",
        "Learn five polite phrases; it changes how people respond.",
        "Tipping is modest in most of Europe: rounding up is fine.", "Keep a photo of your passport in your email.",
        "Comfortable shoes you have already broken in matter more than anything else you pack.",
        "Markets are best in the morning, before the good produce is gone.",
    ),
    mistakes=(
        "Over-packing the itinerary so every day is a sprint.",
        "Eating only on the main square where prices are doubled.",
        "Forgetting that Sunday trading hours are short in many countries.",
        "Booking the cheapest flight that lands after the last train into town.",
        "Changing money at the airport kiosk.",
    ),
    table_head=("Day", "Morning", "Afternoon", "Evening"),
    table_rows=(
        ("1", "arrive, drop bags", "old town walk", "dinner near the hotel"),
        ("2", "main museum (booked)", "park and viewpoint", "food market"),
        ("3", "day trip by train", "day trip", "late dinner"),
        ("4", "market breakfast", "riverside cycle", "concert or bar"), ("5", "slow morning", "souvenirs", "airport"),
        ("flex", "rainy-day gallery", "covered market", "cinema"),
    ),
    headings=("Getting around", "Where to stay", "Budget", "Tips"),
)

CODING = Topic(
    name="coding",
    requests=(
        ("How do I read a big CSV in Python without running out of memory?", "reading a large CSV"),
        ("What's the cleanest way to retry a flaky HTTP request?", "retrying HTTP requests"),
        ("How do I undo my last git commit but keep the changes?", "undoing a git commit"),
        ("Why does my SQL join return duplicate rows?", "duplicate rows after a SQL join"),
        ("Can you explain async/await like I'm switching from callbacks?", "async/await"),
        ("How should I structure config for a small web service?", "service configuration"),
        ("What's a good way to write unit tests for code that calls an API?", "testing code that calls an API"),
        ("How do I parse dates in different formats reliably?", "parsing mixed date formats"),
        ("My Docker image is 2 GB. How do I make it smaller?", "a smaller Docker image"),
        ("How do I profile a slow Python function?", "profiling slow Python code"),
        ("What's the difference between a list and a generator, practically?", "lists versus generators"),
        ("How do I set up a cron job that doesn't overlap with itself?", "a non-overlapping cron job"),
        ("How do I paginate through an API that returns a cursor?", "cursor pagination"),
        ("What's a sane logging setup for a script?", "logging in a script"),
    ),
    intros=(
        "Good question; {s} trips up a lot of people. Here's the approach I'd use, with code.",
        "For {s}, there are a couple of options depending on how much control you need.",
        "Here's a short explanation of {s}, then a working example you can adapt.",
        "The idiomatic answer for {s} is simpler than most blog posts suggest.",
    ),
    paras=(
        "Keep the function small and pure where you can; side effects at the edges make testing much easier.",
        "Log the inputs that caused a failure, not just the exception, so you can reproduce it later.",
        "Prefer the standard library first; add a dependency only when it removes real complexity.",
        "Type hints cost little and catch a surprising number of bugs once you run a checker in CI.",
        "If performance matters, measure before optimising; the slow part is rarely where you expect.",
        "Make the behaviour configurable through environment variables, with safe defaults for local development.",
        "For {s}, write a failing test first; it pins down exactly what 'working' means.",
        "Timeouts belong on every network call; the default of waiting forever is never what you want.",
        "Idempotent operations make retries safe: doing the same thing twice should leave the same result.",
        "Read the library's changelog before upgrading a major version; breaking changes are usually listed there.",
        "Commit small, focused changes with messages that say why, not only what.",
    ),
    steps=(
        "Reproduce the problem with the smallest input you can.", "Write a test that fails for that input.",
        "Make the change in one place.", "Run the test suite and the linter.",
        "Check the memory and time on a realistic input.", "Add a short comment explaining the non-obvious part.",
        "Open a pull request with a before/after note.", "Pin the dependency versions you tested with.",
    ),
    tips=(
        "Use `pathlib` instead of string paths.", "Put constants at the top of the module, not buried in functions.",
        "Use a context manager so files and connections always close.",
        "Run `ruff` or `flake8` on save; it catches typos early.", "Prefer f-strings for readability.",
        "Use `git add -p` to review exactly what you're committing.",
        "Set `PYTHONDONTWRITEBYTECODE=1` in containers.",
        "Keep secrets out of the repo; load them from the environment.",
        "Write the docstring before the function body.",
    ),
    mistakes=(
        "Catching bare `except:` and hiding the real error.", "Mutating a default argument like `def f(x=[])`.",
        "Building SQL with string formatting instead of parameters.", "Forgetting to close the HTTP session.",
        "Comparing floats with `==`.", "Loading the whole file into memory when streaming would do.",
    ),
    table_head=("Option", "When to use it", "Trade-off"),
    table_rows=(
        ("standard library", "small scripts", "more code to write"),
        ("third-party package", "production services", "extra dependency"),
        ("generator", "large or endless inputs", "single pass only"),
        ("list", "small data you revisit", "all in memory"), ("async", "many slow network calls", "harder to debug"),
        ("threads", "blocking I/O in old code", "shared state"), ("processes", "CPU-bound work", "startup cost"),
    ),
    code=CODE,
    headings=("Why this works", "Pitfalls", "Testing it", "Going further"),
)

FITNESS = Topic(
    name="fitness",
    requests=(
        ("Can you give me a 3-day full-body routine for a beginner?", "a 3-day full-body routine"),
        ("How should I warm up before a run?", "a pre-run warm-up"),
        ("What's a realistic plan to get my first pull-up?", "a first pull-up"),
        ("How much protein do I actually need if I lift twice a week?", "protein for lifting"),
        ("How do I stop getting side stitches when running?", "side stitches"),
        ("What's a good stretching routine after sitting all day?", "stretching after a desk day"),
        ("Is it OK to run on consecutive days?", "running on back-to-back days"),
        ("How do I build up to running 10 km?", "building up to 10 km"),
        ("What's a good home workout with just a kettlebell?", "a kettlebell home workout"),
        ("How do I know if I'm overtraining?", "signs of overtraining"),
        ("What should I eat before a morning swim?", "fuel before a morning swim"),
        ("Can you suggest a core routine that isn't just crunches?", "a core routine"),
    ),
    intros=(
        "Here's a plan for {s} that progresses slowly enough to stick with.",
        "{s} is mostly about consistency; the exact exercises matter less than showing up.",
        "Let's set up {s} with clear sets, reps and rest times.",
        "A sensible approach to {s} starts easier than you think and builds every week.",
    ),
    paras=(
        "Progress by small steps: add one rep or a little weight each week rather than jumping ahead.",
        "Sleep and food do as much for recovery as the training itself; seven to nine hours is the target.",
        "Soreness a day or two after a new exercise is normal; sharp or joint pain is a signal to stop.",
        "Track your sessions in a notebook or app so you can see progress when motivation dips.",
        "Form before load: film a set from the side now and then to check your technique.",
        "Easy days should feel easy; most of the benefit of endurance training comes from relaxed volume.",
        "For {s}, two to three sessions a week is plenty to see steady gains for the first few months.",
        "A deload week every four to six weeks, with about half the volume, keeps you fresh.",
        "Hydrate before you feel thirsty, especially for sessions longer than an hour.",
        "Warm muscles move better: five minutes of light cardio beats static stretching before training.",
    ),
    steps=(
        "Five minutes of easy cardio to warm up.", "Two warm-up sets at half the working weight.",
        "Three working sets of 8-10 reps, resting 90 seconds.", "One accessory exercise for the upper back.",
        "A plank or carry to finish.", "Five minutes of easy stretching.",
        "Write down the weights and how the last set felt.", "Walk for ten minutes to cool down.",
    ),
    tips=(
        "Lay out your kit the night before.", "Use RPE: finish most sets with two reps left in the tank.",
        "A foam roller is cheap and helps tight calves and hips.", "Schedule workouts like meetings.",
        "Swap an exercise if it hurts rather than pushing through.",
        "Pair training with something you enjoy, like a podcast.", "Take a rest day after your hardest session.",
    ),
    mistakes=(
        "Doing too much in the first week and quitting in the third.", "Skipping the warm-up on cold mornings.",
        "Chasing soreness as a sign of a good workout.", "Holding your breath on every rep.",
        "Running every run at the same medium pace.",
    ),
    table_head=("Day", "Session", "Sets × reps", "Rest"),
    table_rows=(
        ("Mon", "squat, push-up, row", "3 × 8-10", "90 s"), ("Tue", "easy run or walk", "30 min", "-"),
        ("Wed", "deadlift, press, pull-down", "3 × 8", "2 min"), ("Thu", "rest or mobility", "15 min", "-"),
        ("Fri", "lunge, dips, carries", "3 × 10", "90 s"), ("Sat", "long easy run", "45-60 min", "-"),
        ("Sun", "rest", "-", "-"),
    ),
    headings=("Progression", "Recovery", "Tips", "Common mistakes"),
)

HOME = Topic(
    name="home",
    requests=(
        ("How do I fix a dripping kitchen tap?", "a dripping tap"),
        ("What's the best way to fill a hole in plasterboard?", "a hole in plasterboard"),
        ("How do I bleed a radiator?", "bleeding radiators"),
        ("The bathroom silicone has gone black. How do I redo it?", "resealing a bath"),
        ("How do I hang heavy shelves on a brick wall?", "heavy shelves on brick"),
        ("What's the easiest way to stop a door from squeaking?", "a squeaky door"),
        ("How do I get rid of condensation on the windows in winter?", "window condensation"),
        ("Can I paint over glossy woodwork without sanding?", "painting glossy woodwork"),
        ("How do I unblock a slow shower drain?", "a slow shower drain"),
        ("How do I replace a light switch safely?", "replacing a light switch"),
        ("What's a good way to draught-proof an old sash window?", "draught-proofing sash windows"),
        ("How do I regrout tiles in the kitchen?", "regrouting tiles"),
    ),
    intros=(
        "{s} is a manageable DIY job; here's the sequence and the tools you'll need.",
        "For {s}, the prep takes longer than the fix itself, so don't rush it.",
        "Here's how to tackle {s} safely, and when to call someone in.",
        "You can sort out {s} in an afternoon with basic tools.",
    ),
    paras=(
        "Turn off the water or the power at the source before you start, and check that it's really off.",
        "Buy one more of each small part than you need; a dropped washer under the bath is gone forever.",
        "Cheap tools slip and strip screws; a decent screwdriver set is worth the money.",
        "Take photos before you take anything apart so you know how it goes back together.",
        "Protect the floor with a dust sheet and keep a bucket and old towels nearby.",
        "If the fix involves gas or the consumer unit, that's a job for a registered professional.",
        "For {s}, patience with drying times is what separates a neat finish from a redo.",
        "Ventilate the room when you work with fillers, sealants or paint.",
        "Most hardware shops will cut timber and match parts if you bring the old one in.",
        "Check for pipes and cables with a detector before drilling into any wall.",
    ),
    steps=(
        "Isolate the supply and test it.", "Clear the area and lay a dust sheet.",
        "Remove the old part or material carefully.", "Clean and dry the surface completely.",
        "Fit the new part and hand-tighten first.", "Leave it to cure for the full time on the tube.",
        "Restore the supply and check for leaks or faults.", "Tidy up and keep the leftover parts labelled.",
    ),
    tips=(
        "A headtorch frees both hands in cupboards.", "Masking tape on the wall stops the drill bit wandering.",
        "Wet your finger with soapy water to smooth silicone.", "Keep a labelled tub for screws as you remove them.",
        "Use PTFE tape on threaded joints.", "Sand between coats for a smooth finish.",
        "A stud finder pays for itself on the first shelf.",
    ),
    mistakes=(
        "Skipping the primer on bare plaster.", "Overtightening plastic fittings until they crack.",
        "Painting in a cold room where it won't cure.", "Using the wrong wall plug for the wall type.",
        "Forgetting to turn the water back on slowly.",
    ),
    table_head=("Tool / material", "Why", "Rough cost"),
    table_rows=(
        ("adjustable spanner", "fittings and nuts", "€12"), ("filling knife", "smoothing filler", "€6"),
        ("sealant gun", "silicone and caulk", "€8"), ("spirit level", "shelves and frames", "€15"),
        ("cordless drill", "holes and screws", "€80"), ("wall plugs", "fixing into masonry", "€5"),
        ("sandpaper (120/240)", "prep and finish", "€4"), ("dust sheets", "protect floors", "€10"),
    ),
    headings=("Before you start", "Tools", "Safety", "Finishing"),
)

MONEY = Topic(
    name="money",
    requests=(
        ("How do I set up a simple monthly budget?", "a simple monthly budget"),
        ("Should I pay off my credit card or save first?", "debt versus savings"),
        ("What's the difference between an index fund and an ETF?", "index funds and ETFs"),
        ("How do I track subscriptions I've forgotten about?", "tracking subscriptions"),
        ("Is it worth switching energy supplier every year?", "switching energy supplier"),
        ("How do I start investing small amounts each month?", "investing small monthly amounts"),
        ("What should I do with a small windfall?", "a small windfall"),
        ("How do I split bills fairly with a partner who earns more?", "splitting bills fairly"),
        ("How do I prepare for a tax return as a freelancer?", "a freelancer's tax return"),
        ("What's a good way to save for a holiday?", "saving for a holiday"),
        ("How do I negotiate a lower rent?", "negotiating rent"),
    ),
    intros=(
        "Here's a straightforward way to think about {s}, without jargon.",
        "{s} comes down to a few rules of thumb; here they are with numbers.",
        "Let's break {s} into steps you can do this weekend.",
        "This isn't personal financial advice, but here's how people usually approach {s}.",
    ),
    paras=(
        "Automate what you can: a standing order on payday makes saving the default rather than a decision.",
        "High-interest debt usually comes first, because no savings account beats a credit card's interest rate.",
        "Keep fees low; a one percent yearly fee quietly eats a large share of long-term returns.",
        "Check your statements once a month; small recurring payments add up faster than big one-offs.",
        "Separate accounts for bills, spending and saving make it obvious how much is really free.",
        "For {s}, write the numbers down; a rough spreadsheet beats a perfect plan in your head.",
        "Diversified, low-cost funds suit most people better than picking individual shares.",
        "Inflation matters: cash that earns less than prices rise loses buying power every year.",
        "Keep receipts and invoices in one folder, paper or digital, as you go rather than at year end.",
        "Review the plan every few months; income and costs change more often than people expect.",
    ),
    steps=(
        "List your income after tax.", "List fixed costs: rent, utilities, insurance, debt payments.",
        "Set a savings amount and move it on payday.", "Give the rest a weekly spending limit.",
        "Cancel one subscription you don't use.", "Check progress at the end of the month.",
        "Adjust the categories that ran over.",
    ),
    tips=(
        "Round-up savings apps work well for people who don't like budgeting.",
        "Use a separate card for subscriptions so they're easy to audit.",
        "Call your provider before the contract ends; retention offers are real.",
        "Keep a small buffer in the current account to avoid overdraft fees.",
        "Name your savings pots after their goals.", "Compare total cost, not monthly price.",
    ),
    mistakes=(
        "Budgeting to the exact euro with no buffer.", "Investing money you'll need within two years.",
        "Ignoring annual bills like insurance and car tax.", "Chasing last year's best-performing fund.",
        "Paying for the same service twice through different bundles.",
    ),
    table_head=("Category", "Monthly", "Note"),
    table_rows=(
        ("rent", "€950", "fixed"), ("utilities", "€140", "averaged over the year"),
        ("groceries", "€380", "weekly limit €90"), ("transport", "€85", "monthly pass"),
        ("subscriptions", "€42", "review quarterly"), ("savings", "€300", "moved on payday"),
        ("fun money", "€150", "no guilt"), ("buffer", "€60", "rolls over"),
    ),
    code=(("", "text", SPREADSHEET),),
    headings=("The numbers", "Order of priorities", "Tips", "Watch out for"),
)

LANGUAGE = Topic(
    name="language",
    requests=(
        ("What's the best way to memorise vocabulary without getting bored?", "memorising vocabulary"),
        ("How do I get better at understanding fast native speakers?", "understanding fast speech"),
        ("Can you explain when to use the subjunctive in Spanish?", "the Spanish subjunctive"),
        ("How much time a day should I spend on a new language?", "daily study time"),
        ("What's a good way to practise speaking if I'm shy?", "speaking practice"),
        ("Are language apps enough on their own?", "language apps"),
        ("How do I stop translating in my head?", "thinking in the new language"),
        ("Can you give me a study plan for an A2 exam?", "an A2 exam plan"),
        ("What TV shows are good for learning Italian?", "learning Italian from TV"),
        ("How do I learn grammar without hating it?", "learning grammar"),
        ("How do I remember noun genders in German?", "German noun genders"),
    ),
    intros=(
        "{s} gets much easier with a routine; here's one that works for busy people.",
        "For {s}, little and often beats long weekend sessions.",
        "Here's a practical approach to {s}, with a weekly plan.",
        "Many learners struggle with {s}; the fix is usually more listening, not more rules.",
    ),
    paras=(
        "Spaced repetition is the most efficient way to keep new words; review them just before you'd forget.",
        "Learn words in short phrases rather than alone, so you also learn how they're used.",
        "Listening to slightly-too-hard material every day trains your ear faster than textbooks.",
        "Speaking early, even badly, makes the rest of your study stick.",
        "Shadowing, repeating a recording just behind the speaker, improves pronunciation and rhythm.",
        "For {s}, fifteen focused minutes a day add up to more than ninety hours a year.",
        "Keep a notebook of mistakes you make repeatedly and review it weekly.",
        "Graded readers bridge the gap between textbooks and real books.",
        "Change your phone's language; small daily exposure adds up.",
        "Tutors are most useful for conversation and correcting habits, less for grammar drills.",
    ),
    steps=(
        "Ten minutes of flashcards in the morning.", "One podcast episode on the commute.",
        "Write three sentences about your day.", "One conversation session a week.",
        "Review the mistakes notebook on Sunday.", "Read one graded story a week.",
        "Record yourself speaking for two minutes.",
    ),
    tips=(
        "Add example sentences, not single words, to your deck.",
        "Use subtitles in the target language, not your own.", "Label things around the house.",
        "Set a minimum day: even five minutes counts.", "Talk to yourself while cooking.",
        "Pick content you'd watch anyway.",
    ),
    mistakes=(
        "Collecting apps instead of using one.", "Avoiding speaking until you feel ready.",
        "Learning long word lists with no context.", "Skipping listening because it feels hard.",
        "Studying only at weekends.",
    ),
    table_head=("Week", "Focus", "Minutes per day"),
    table_rows=(
        ("1", "core phrases and sounds", "15"), ("2", "present tense and numbers", "20"),
        ("3", "past tense, listening", "20"), ("4", "speaking with a tutor", "25"),
        ("5", "reading a graded book", "25"), ("6", "review and mock test", "30"),
    ),
    headings=("A weekly plan", "Resources", "Tips", "Common traps"),
)

WRITING = Topic(
    name="writing",
    requests=(
        ("Can you help me make this cover letter less stiff?", "a less stiff cover letter"),
        ("How do I write a polite email chasing an unpaid invoice?", "chasing an unpaid invoice"),
        ("What's a good structure for a short conference talk?", "a short talk"),
        ("How do I write a LinkedIn summary that doesn't sound fake?", "a LinkedIn summary"),
        ("Can you suggest a structure for a wedding speech?", "a wedding speech"),
        ("How do I give critical feedback in writing without sounding harsh?", "written critical feedback"),
        ("What's a good way to start a blog post?", "opening a blog post"),
        ("How do I make my emails shorter?", "shorter emails"),
        ("Can you help me write a complaint to my landlord?", "a complaint to a landlord"),
        ("How do I write a good project update for my team?", "a team project update"),
        ("How do I outline a short story?", "outlining a short story"),
    ),
    intros=(
        "Here's a structure for {s}, followed by a draft you can edit.",
        "For {s}, clarity beats cleverness; lead with the point.",
        "Let's tighten {s}: shorter sentences, one idea per paragraph.",
        "{s} works best when you know the single thing the reader should do afterwards.",
    ),
    paras=(
        "Put the request or the main point in the first two sentences; busy readers may not get further.",
        "Cut adverbs and hedges like 'just', 'really' and 'I think' unless they carry meaning.",
        "Read it aloud once; you'll hear the clumsy sentences immediately.",
        "Concrete details, a number or a short example, persuade more than adjectives.",
        "End with a clear next step and, if it matters, a date.",
        "For {s}, a warm but direct tone works in almost every workplace.",
        "Headings and short lists help skimmers; long unbroken paragraphs lose them.",
        "Write the draft fast and edit slowly; the two jobs use different parts of your brain.",
        "Let it sit for an hour before sending if the subject is sensitive.",
        "Match the reader's formality; mirror how they wrote to you.",
    ),
    steps=(
        "Write one sentence that says what you want.", "List the three points that support it.",
        "Draft without editing.", "Cut the first paragraph if it's only warming up.",
        "Replace vague words with specifics.", "Read it aloud and fix what trips you.",
        "Add a clear subject line or title.",
    ),
    tips=(
        "Use the active voice for requests.", "Keep paragraphs under five lines on screen.",
        "Put dates and amounts in bold.", "Avoid 'per my last email'.",
        "Sign off with a question when you need a reply.", "Keep a swipe file of emails you liked receiving.",
    ),
    mistakes=(
        "Apologising three times in one email.", "Burying the ask in the last paragraph.",
        "Using jargon the reader doesn't share.", "Sending the first draft of an angry message.",
        "Writing a wall of text with no breaks.",
    ),
    table_head=("Section", "Purpose", "Length"),
    table_rows=(
        ("opening", "the point or the hook", "1-2 sentences"),
        ("context", "what the reader needs to know", "a short paragraph"),
        ("details", "evidence, numbers, examples", "3-5 bullets"), ("ask", "what should happen next", "1 sentence"),
        ("close", "thanks and sign-off", "1 line"),
    ),
    code=(("", "text", INVOICE_EMAIL),),
    headings=("Structure", "A draft", "Tone", "Editing checklist"),
)

TOPICS: dict[str, Topic] = {t.name: t for t in (COOKING, TRAVEL, CODING, FITNESS, HOME, MONEY, LANGUAGE, WRITING)}
TOPIC_NAMES: tuple[str, ...] = tuple(TOPICS)
# fmt: on
