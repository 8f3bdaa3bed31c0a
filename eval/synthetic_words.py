"""The words :mod:`eval.synthetic` draws from: names, places, things, phrasings, the tool tables.

Plain data (and three one-line message helpers); what is built from it is in
:mod:`eval.synthetic_draws`, :mod:`eval.synthetic_facts` and :mod:`eval.synthetic_fillers`.
"""

from __future__ import annotations

from typing import Any

Msg = dict[str, Any]


NAMES = [
    "Priya", "Tomás", "Ingrid", "Kwame", "Mei", "Rafael", "Svetlana", "Omar", "Chiara", "Jonas",
    "Aiko", "Lucía", "Dmitri", "Fatima", "Henrik", "Nadia", "Mateo", "Yusuf", "Greta", "Ravi",
]  # fmt: skip
RELATIONS = {  # relation -> pronoun
    "sister": "she", "brother": "he", "cousin": "they", "aunt": "she", "uncle": "he",
    "niece": "she", "nephew": "he", "best friend": "they", "old flatmate": "they", "godmother": "she",
}  # fmt: skip
REL_LIST = list(RELATIONS)
CLUBS = ["running club", "book club", "choir", "climbing gym", "pottery class", "old job"]
CITIES = [
    "Porto", "Lisbon", "Valencia", "Ghent", "Bergen", "Kraków", "Tallinn", "Bologna", "Lyon", "Ljubljana",
    "Graz", "Aarhus", "Cork", "Brno", "Split", "Utrecht", "Seville", "Turku", "Bruges", "Salzburg",
]  # fmt: skip
PETS = ["dog", "cat", "parrot", "rabbit", "tortoise", "hamster", "guinea pig", "ferret", "gecko", "cockatiel"]
PET_NAMES = [
    "Biscuit", "Mango", "Pixel", "Juniper", "Waffles", "Pepper", "Ziggy", "Clementine", "Otis", "Noodle",
    "Marzipan", "Basil", "Tofu", "Comet", "Pickles", "Bramble",
]  # fmt: skip
ALLERGIES = ["peanuts", "shellfish", "penicillin", "pollen", "sesame", "latex", "kiwi", "walnuts", "mustard", "celery"]
PROJECTS = [
    "Bluefin", "Kestrel", "Aurora", "Granite", "Halcyon", "Marmot", "Solstice", "Tundra",
    "Osprey", "Meridian", "Quartz", "Saffron", "Driftwood", "Pelican", "Cobalt", "Juniper Ridge",
]  # fmt: skip
BOOKING_KINDS = ["hotel", "car rental", "apartment", "ferry crossing", "campsite"]
ITEMS = [
    "espresso machine", "standing desk", "hiking boots", "noise-cancelling headphones", "cast-iron pan",
    "e-reader", "camping stove", "mechanical keyboard", "rain jacket", "yoga mat", "air purifier",
    "label printer", "bread maker", "tent footprint",
]  # fmt: skip
CARRIERS = ["DHL", "UPS", "GLS", "PostNL", "DPD", "Correos", "CTT", "Bpost"]
AIRLINES = ["TAP", "Iberia", "KLM", "Lufthansa", "SAS", "Finnair", "Vueling", "Aer Lingus", "Brussels Airlines"]
MERCHANTS = [
    "Mercado Central", "Lidl", "Decathlon", "FNAC", "Pingo Doce", "Zara Home", "El Corte Inglés", "IKEA",
    "Bertrand Books", "Café Nicola", "Repsol", "Uber", "Bolt", "Leroy Merlin", "Worten", "Continente",
]  # fmt: skip
TX_CATEGORIES = ["groceries", "transport", "dining", "home", "books", "fuel", "electronics", "sport"]
STREETS = [
    "Rua Augusta", "Calle Colón", "Veldstraat", "Bryggen", "Floriańska", "Via Rizzoli", "Rue Mercière",
    "Prešernov trg", "Herrengasse", "Strøget", "Oliver Plunkett Street", "Masarykova", "Riva", "Oudegracht",
]  # fmt: skip
PARCEL_STATUS = ["in transit", "ready for pickup", "delivered", "out for delivery", "held at depot"]
ORDER_STATUS = ["shipped", "delivered", "processing", "returned"]
WEATHER = ["sunny", "cloudy", "light rain", "showers", "fog", "windy", "thunderstorms"]
EVENTS = ["dentist", "team lunch", "1:1 with manager", "yoga", "parents evening", "car service", "haircut"]
COLORS = [
    "red", "teal", "mustard yellow", "violet", "orange", "navy blue", "emerald green", "pink",
    "lilac", "turquoise", "crimson", "beige",
]  # fmt: skip
OBJECTS = ["bicycle", "scooter", "umbrella", "vintage car", "kayak", "guitar", "suitcase", "mailbox", "tram"]
BACKDROPS = ["door", "wall", "fence", "lamppost", "bench", "gate", "shutter"]
SHOPS = ["bakery", "bookshop", "florist", "record shop", "cheese shop", "barber"]
SHOP_A = ["Golden", "Little", "Old", "Blue", "Happy", "Crooked", "Silver", "Wild"]
SHOP_B = ["Crumb", "Page", "Petal", "Groove", "Wheel", "Comb", "Acorn", "Fox"]
CAR_PARKS = ["airport", "shopping mall", "stadium", "hospital", "train station", "ferry terminal", "IKEA store"]
SCENERY = [
    "sunset over the harbour in {city}, fishing boats in silhouette",
    "a plate of grilled sardines and salad on a terrace in {city}",
    "a crowded tram stop in {city} in the rain",
    "a view over the rooftops of {city} from a hill",
    "a street market in {city} with stacks of oranges",
    "a cathedral facade in {city} under scaffolding",
]
PREFS = {
    "coffee order": ["flat white", "cortado", "oat latte", "double espresso", "cold brew", "cappuccino"],
    "running route": ["the river loop", "the hill circuit", "the park perimeter", "the harbour path"],
    "streaming service": ["Mubi", "Criterion Channel", "Netflix", "Apple TV"],
    "gym class": ["spin", "kettlebells", "pilates", "boxing", "rowing"],
    "lunch spot": ["the noodle bar", "the falafel stand", "the canteen", "the salad place by the station"],
    "commute": ["cycling", "the train", "the bus", "car-sharing with Jonas"],
    "weekend breakfast": ["shakshuka", "pancakes", "porridge with berries", "avocado toast"],
    "bedtime tea": ["chamomile", "rooibos", "peppermint", "lemon balm"],
    "flight seat": ["aisle", "window", "exit row", "front row"],
    "podcast": ["Hidden Brain", "99% Invisible", "The Daily", "Radiolab"],
}
PREF_LIST = list(PREFS)
DOOR_PLACES = [
    "bike storage", "office", "gym", "studio", "storage unit", "garage", "co-working space",
    "allotment shed", "rehearsal room", "parents' building",
]  # fmt: skip
TIMES = ["8:30", "8:45", "9:00", "9:15", "9:30", "9:45", "10:00", "10:15", "10:30", "11:00"]
OPENERS = ["", "", "", "Long day today. ", "Oh, before I forget. ", "Random thing, but worth noting. ", "So. "]
SMALL_TALK = [
    "How was your day?", "It was fine, a bit busy at work.", "I tried a new recipe for dinner.",
    "The weather has been unpredictable lately.", "I watched a documentary about octopuses last night.",
    "Any plans for the weekend?", "I might go for a long walk if it doesn't rain.",
    "The renovation upstairs is so loud.", "I've been reading a thriller, can't put it down.",
    "Traffic was terrible this morning.", "I need to buy groceries later.", "Do you have a good tea recommendation?",
    "I finally cleaned out the garage.", "The new café on the corner is nice.", "I slept badly, too much coffee.",
    "We should plan a trip sometime.", "I'm thinking of learning Portuguese.", "The concert was sold out again.",
    "My knee is sore after yesterday's run.", "I can't decide what to cook tonight.",
    "Work drinks ran late yesterday.", "I repotted all the plants on the balcony.", "The train was cancelled again.",
    "I started a jigsaw puzzle with 2000 pieces.", "My phone battery dies by lunchtime now.",
    "We binge-watched a whole season on Sunday.", "I'm trying to drink less coffee this month.",
]  # fmt: skip
REPLIES = [
    "That sounds good!", "Oh, interesting. Tell me more.", "I hope it gets better soon.", "Nice, enjoy it!",
    "Ha, I know the feeling.", "Good idea.", "That must have been tiring.", "Let me know how it goes.",
    "Sounds like a plan.", "Fingers crossed!", "That's a lot, take it easy.",
]  # fmt: skip
ADVICE_ASKS = [
    "Any tips for sleeping better?", "How do I keep basil alive indoors?", "What's a good stretching routine?",
    "How should I plan a weekly budget?", "How do I get better at remembering names?",
    "What's a simple weeknight pasta?", "How do I stop procrastinating on emails?",
]  # fmt: skip
ADVICE = [
    "Keep a consistent schedule, even at weekends.", "Start small and build the habit over a few weeks.",
    "Write it down somewhere you will see it every day.", "Try batching similar tasks into one block of time.",
    "Give it plenty of light but not direct afternoon sun.", "A short walk after meals helps more than you'd think.",
    "Review what worked at the end of each week and adjust.", "Fewer, better ingredients beat complicated ones.",
    "Set a timer for 25 minutes and just begin.", "Repeat it back once out loud; it sticks much better.",
]  # fmt: skip
ACKS = [
    "Noted, I'll keep that in mind.",
    "Got it, thanks for telling me.",
    "Okay, I'll remember that.",
    "Good to know!",
]
PHOTO_TEXTS = [
    "look at this",
    "Look what I saw on my walk today!",
    "Found this, thought you'd like it.",
    "Saving this photo here so I remember.",
    "Photo from today.",
]
PHOTO_REPLIES = ["What a great find!", "Love it, thanks for sharing.", "Nice shot!", "That's a lovely photo."]
GREETINGS = ["Welcome back! What's on your mind today?", "Good to see you again. How can I help?", "Hi again!"]

# Tool facts: which tool, which id field is asked about, which field answers.
TOOL_KINDS = ("orders", "flights", "parcels", "transactions")
TOOL_NAME = {
    "orders": "list_orders",
    "flights": "search_flights",
    "parcels": "track_parcels",
    "transactions": "list_transactions",
    "weather": "get_weather",
    "calendar": "list_events",
}
ID_FIELD = {"orders": "order_id", "flights": "offer_id", "parcels": "tracking", "transactions": "tx_id"}
ID_PREFIX = {"orders": "INV", "flights": "FL", "parcels": "TRK", "transactions": "TX"}
ANSWER_FIELD = {"orders": "item", "flights": "airline", "parcels": "pickup_point", "transactions": "merchant"}
TOOL_ASKS = {
    "orders": ["Can you pull up my recent orders?", "Show me everything I ordered this year."],
    "flights": ["Search flights out of {city} for next month.", "What flights are there from {city}, anywhere?"],
    "parcels": ["Where are all my parcels right now?", "Can you check my deliveries?"],
    "transactions": ["Pull my card transactions for this month.", "Show me what I spent recently."],
    "weather": ["What's the forecast for {city}?", "Will it rain in {city} this week?"],
    "calendar": ["What's in my calendar?", "List my upcoming appointments."],
}
TOOL_DONE = {
    "orders": "Here are your last {n} orders.",
    "flights": "I found {n} options; shall I book one?",
    "parcels": "You have {n} tracked parcels.",
    "transactions": "That's {n} transactions in total.",
    "weather": "Here's the hourly forecast ({n} entries).",
    "calendar": "You have {n} events coming up.",
}
TOOL_QUESTIONS = {
    "orders": ["What did I buy with order {key}?", "Which product was order {key} for?"],
    "flights": ["Which airline was the flight offer {key} with?", "Who operates flight offer {key}?"],
    "parcels": ["Where do I collect parcel {key}?", "Which pickup point is parcel {key} waiting at?"],
    "transactions": ["Which merchant was transaction {key} with?", "Where did I spend the money in transaction {key}?"],
}


def an(word: str) -> str:
    """``word`` with its indefinite article."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def user(text: str) -> Msg:
    """A user message."""
    return {"role": "user", "content": text}


def assistant(text: str) -> Msg:
    """An assistant message."""
    return {"role": "assistant", "content": text}
