"""What the model APIs refuse is refused at ``add``, naming the field, storing nothing: tool-call
function names outside OpenAI's rule, and image data URLs that are not base64 of a PNG, JPEG, GIF
or WebP within the size the APIs take (memory/models/provider_rules.py)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from memory.errors import InvalidMessage
from memory.memory import Memory
from memory.models import parse_message
from memory.models.provider_rules import MAX_IMAGE_BYTES

pytestmark = pytest.mark.fake_embedder  # validation: the model is not the point


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 3)).save(buf, format="PNG")
    return buf.getvalue()


def data_url(mime: str, raw: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


def call_turn(*names: str) -> dict[str, Any]:
    calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": n, "arguments": "{}"}} for i, n in enumerate(names)
    ]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def image_turn(url: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": url}}],
    }


GOOD_NAMES = ["search_hotels", "get-weather", "a", "A9_-z", "x" * 64]
BAD_NAMES = ["get weather", "search.hotels", "x" * 65, "météo", "fn()", "a/b", "tool\n"]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_function_names_by_the_providers_rule_are_stored(mem: Memory, name: str) -> None:
    assert mem.add([call_turn(name)], session="s") == [1]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_other_function_names_are_refused_naming_the_call(mem: Memory, name: str) -> None:
    with pytest.raises(InvalidMessage) as info:
        mem.add([{"role": "user", "content": "hi"}, call_turn("ok_name", name)], session="s")
    assert info.value.field == "messages[1].tool_calls[1].function.name"
    assert "^[a-zA-Z0-9_-]{1,64}$" in str(info.value) and "search_hotels" in str(info.value)  # the rule and a fix
    assert mem.last_seq("s") == 0  # the batch is refused whole


GOOD_IMAGES = {
    "png": data_url("image/png", png_bytes()),
    "upper-case type": data_url("IMAGE/PNG", png_bytes()),
    "https": "https://example.invalid/a.png",
    "http": "http://example.invalid/a.png",
}
BAD_IMAGES = {  # url -> words the message must hold
    "not base64": ("data:image/png;base64,not base64!", "not valid base64"),
    "line breaks": ("data:image/png;base64," + base64.encodebytes(png_bytes()).decode(), "not valid base64"),
    "svg": (data_url("image/svg+xml", b"<svg/>"), "image/png, image/jpeg, image/gif, image/webp"),
    "no type": (data_url("", png_bytes()), "no type"),
    "text": ("data:text/plain;base64,aGVsbG8=", "'text/plain'"),
    "not base64-encoded": ("data:image/png,rawbytes", "must be base64"),
    "mislabelled": (data_url("image/jpeg", png_bytes()), "the bytes are image/png"),
    "not an image": (data_url("image/png", b"hello world"), "not an image of that type"),
    "empty": (data_url("image/png", b""), "not an image of that type"),
    "javascript": ("javascript:alert(1)", "neither an http(s):// URL nor a data: URL"),
    "file": ("file:///etc/passwd", "neither an http(s):// URL nor a data: URL"),
    "too big": (data_url("image/png", png_bytes() + bytes(MAX_IMAGE_BYTES)), "more than the 20,971,520"),
}


@pytest.mark.parametrize("case", GOOD_IMAGES, ids=list(GOOD_IMAGES))
def test_images_the_providers_take_are_stored(mem: Memory, case: str) -> None:
    assert mem.add([image_turn(GOOD_IMAGES[case])], session="s") == [1]


@pytest.mark.parametrize("case", BAD_IMAGES, ids=list(BAD_IMAGES))
def test_bad_image_urls_are_refused_naming_the_part(mem: Memory, case: str) -> None:
    url, words = BAD_IMAGES[case]
    with pytest.raises(InvalidMessage) as info:
        mem.add([{"role": "user", "content": "hi"}, image_turn(url)], session="s")
    assert info.value.field == "messages[1].content[1].image_url.url"
    assert words in str(info.value)
    assert len(str(info.value)) < 400  # a long URL is not echoed whole
    assert mem.last_seq("s") == 0


def test_a_file_data_url_must_decode() -> None:
    part = {"type": "file", "file": {"filename": "a.txt", "file_data": "data:text/plain;base64,@@@"}}
    with pytest.raises(InvalidMessage) as info:
        parse_message({"role": "user", "content": [part]}, index=0)
    assert info.value.field == "messages[0].content[0].file.file_data" and "base64" in str(info.value)
    part["file"]["file_data"] = "data:text/plain;base64,aGVsbG8="
    assert parse_message({"role": "user", "content": [part]}).content[0].text == "hello"  # type: ignore[union-attr]
