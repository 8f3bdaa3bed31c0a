"""A session with everything the inspector shows: tool calls (completed, error then retried,
pending), an image with a caption, a file, a rolling summary, versioned state and a stage
machine. Written through the public API (:class:`memory.client.Client`), so the browser tests
and ``benchmarks/ui_screenshots.py`` see what any app would have stored."""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from PIL import Image, ImageDraw

from memory.client import Client

NS = "alpha-ui"  # the alpha key's (tests/service/helpers.py)
OTHER = "beta"  # the beta key's only
SECRET = "beta-secret-session"
IMAGE_CAPTION = "Photo of the hotel lobby in Lisbon with blue azulejo tiles"
START = datetime(2026, 5, 2, 9, 0, tzinfo=timezone.utc)
MACHINE = {
    "initial": "intake",
    "stages": {
        "intake": {"instructions": "Ask for dates, city and budget.", "next": ["quote"]},
        "quote": {"instructions": "Offer two hotels with prices; do not book yet.", "next": ["booked", "intake"]},
        "booked": {"instructions": "Confirm the booking number and stop selling.", "next": []},
    },
}


def tile_png() -> str:
    """A small blue-tile picture as a data URL (made here: nothing is downloaded)."""
    img = Image.new("RGB", (192, 128), "#f8fafc")
    draw = ImageDraw.Draw(img)
    for x in range(0, 192, 32):
        for y in range(0, 128, 32):
            draw.rectangle([x + 2, y + 2, x + 29, y + 29], fill="#1d4ed8" if (x + y) % 64 else "#60a5fa")
            draw.ellipse([x + 9, y + 9, x + 22, y + 22], fill="#f8fafc")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _call(cid: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """An assistant message making one tool call."""
    call = {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


def conversation() -> list[dict[str, Any]]:
    chat = [
        ("user", "Hi! I'm Ana from Porto. I want a long weekend in Lisbon in June."),
        ("assistant", "Lovely. Which dates, and what is your budget per night?"),
        ("user", "June 12 to 15, at most 140 euros a night. I like old tiled buildings."),
        ("assistant", "Noted: 3 nights, 140 EUR cap, historic character. Any neighbourhood?"),
        ("user", "Alfama or Graça, close to the tram 28 line."),
        ("assistant", "Both are on the 28. I'll check the weather and some hotels."),
    ]
    msgs: list[dict[str, Any]] = [{"role": r, "content": c} for r, c in chat]
    msgs += [
        _call("call_weather", "get_weather", {"city": "Lisbon"}),
        {"role": "tool", "tool_call_id": "call_weather", "content": json.dumps({"city": "Lisbon", "june_high_c": 27})},
        {"role": "assistant", "content": "June highs around 27 °C: light clothes and a jacket for the evening."},
        {"role": "user", "content": "Perfect. Book something in Alfama please."},
        _call("call_book_1", "book_hotel", {"hotel": "Casa Azul"}),
        {
            "role": "tool",
            "tool_call_id": "call_book_1",
            "content": json.dumps({"error": "payment gateway timeout"}),
            "metadata": {"is_error": True},
        },
        _call("call_book_2", "book_hotel", {"hotel": "Casa Azul"}),
        {
            "role": "tool",
            "tool_call_id": "call_book_2",
            "content": json.dumps({"booking": "CA-4471", "hotel": "Casa Azul", "nights": 3, "eur_per_night": 128}),
        },
        {"role": "assistant", "content": "Booked Casa Azul in Alfama, 3 nights at 128 EUR: booking CA-4471."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Is this the lobby? A friend sent me this picture."},
                {"type": "image_url", "image_url": {"url": tile_png()}, "caption": IMAGE_CAPTION},
            ],
        },
        {"role": "assistant", "content": "Yes, Casa Azul's lobby is known for those tiles."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Here is my spending plan."},
                {
                    "type": "file",
                    "file": {
                        "filename": "budget.csv",
                        "file_data": "data:text/csv;base64,"
                        + base64.b64encode(b"item,eur\nhotel,384\nfood,150\ntram,20\n").decode(),
                    },
                    "mime_type": "text/csv",
                },
            ],
        },
        {"role": "assistant", "content": "554 EUR in total; the hotel is most of it."},
        {"role": "user", "content": "Can you find me a flight from Porto on June 12?"},
        _call("call_flight", "search_flights", {"from": "OPO"}),
    ]
    for i, m in enumerate(msgs):
        m["timestamp"] = (START + timedelta(minutes=7 * i)).isoformat()
    return msgs


def seed(client: Client, namespace: str, session: str = "trip-lisbon") -> None:
    """Store the demo session (and its summary, state and machine) in ``namespace``."""
    msgs = conversation()
    client.add(msgs, session=session, namespace=namespace)
    client.add(
        [
            {
                "role": "system",
                "content": f"Summary of session {session}, turns 1-6: Ana (Porto) plans 3 nights in Lisbon, "
                "June 12-15, at most 140 EUR a night, Alfama or Graça near tram 28.",
                "timestamp": msgs[5]["timestamp"],
                "metadata": {"kind": "summary", "summary_of": {"session": session, "from_seq": 1, "to_seq": 6}},
            }
        ],
        session=session + "::summaries",
        namespace=namespace,
    )
    client.set_state_machine(session, MACHINE, namespace=namespace)
    profile = {"name": "Ana", "home": "Porto"}
    client.set_state(session, {"profile": profile, "task": "plan Lisbon trip"}, namespace=namespace)
    client.set_state(session, {"task": "Lisbon June 12-15, booked CA-4471"}, namespace=namespace)
    client.transition(session, "quote", namespace=namespace)
    client.add(
        [
            {"role": "user", "content": "Any tips for the evening in Graça?", "timestamp": START.isoformat()},
            {"role": "assistant", "content": "The miradouro at sunset.", "timestamp": START.isoformat()},
        ],
        session="notes",
        namespace=namespace,
    )


def seed_keyed(url: str, alpha_key: str, beta_key: str) -> None:
    """The demo session in :data:`NS` (alpha's key) and one private session in :data:`OTHER` (beta's), once."""
    with Client(url, api_key=alpha_key) as alpha:
        if alpha.last_seq("trip-lisbon", namespace=NS) == 0:
            seed(alpha, NS)
    with Client(url, api_key=beta_key) as beta:
        if beta.last_seq(SECRET, namespace=OTHER) == 0:
            beta.add([{"role": "user", "content": "beta's private note"}], session=SECRET, namespace=OTHER)
