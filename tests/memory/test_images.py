"""Images are priced by OpenAI's rule for their detail and size (memory.models.images)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from memory.models import parse_message
from memory.models.images import IMAGE_TOKENS_MAX, data_url_size, image_part_tokens, image_tokens
from memory.tokens import TokenCounter, count_message


def data_url(width: int, height: int, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    Image.new("1" if fmt == "PNG" else "L", (width, height)).save(buf, format=fmt)
    mime = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}[fmt]
    return f"data:image/{mime};base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize(
    ("size", "detail", "tokens"),
    [
        # OpenAI's worked examples ("Calculating costs", vision guide)
        ((1024, 1024), "high", 765),  # -> 768 x 768, 4 tiles
        ((2048, 4096), "high", 1105),  # -> 1024 x 2048 -> 768 x 1536, 6 tiles
        ((4096, 8192), "low", 85),
        # small images are not scaled up
        ((512, 512), "high", 255),
        ((100, 100), None, 255),
        ((513, 100), "auto", 425),
        ((3000, 1000), "high", 85 + 170 * 8),  # -> 2048 x 683, 4 x 2 tiles
    ],
)
def test_openai_tile_rule(size: tuple[int, int], detail: str | None, tokens: int) -> None:
    assert image_tokens(*size, detail) == tokens
    assert image_tokens(*size, detail) <= IMAGE_TOKENS_MAX


def test_unknown_size_is_the_stated_upper_bound() -> None:
    assert IMAGE_TOKENS_MAX == 1445
    assert image_tokens(None, None, "high") == image_tokens(None, None, None) == 1445
    assert image_tokens(None, None, "low") == 85
    worst = max(image_tokens(w, h, "high") for w in range(64, 9000, 97) for h in range(64, 9000, 389))
    assert worst == IMAGE_TOKENS_MAX  # the bound is reached and never passed


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_data_url_size_from_the_header(fmt: str) -> None:
    assert data_url_size(data_url(1500, 700, fmt)) == (1500, 700)


def test_data_url_size_unknown() -> None:
    assert data_url_size("https://example.invalid/a.png") is None
    assert data_url_size("data:image/png;base64,not-an-image") is None
    assert data_url_size("data:text/plain;base64,aGVsbG8=") is None


def test_a_message_prices_its_images_by_detail_and_size(counter: TokenCounter) -> None:
    def msg(*parts: dict) -> dict:
        return {"role": "user", "content": [{"type": "text", "text": "hello world"}, *parts]}

    base = count_message(counter, msg())
    big = data_url(2048, 4096)
    assert (
        count_message(counter, msg({"type": "image_url", "image_url": {"url": big, "detail": "high"}})) == base + 1105
    )
    assert count_message(counter, msg({"type": "image_url", "image_url": {"url": big, "detail": "low"}})) == base + 85
    remote = {"type": "image_url", "image_url": {"url": "https://example.invalid/a.jpg"}}
    assert count_message(counter, msg(remote)) == base + IMAGE_TOKENS_MAX
    assert image_part_tokens({**remote, "width": 1024, "height": 1024}) == 765


def test_width_and_height_are_counted_but_not_sent(counter: TokenCounter) -> None:
    part = {"type": "image_url", "image_url": {"url": "https://example.invalid/a.jpg"}, "width": 1024, "height": 1024}
    m = parse_message({"role": "user", "content": [part]})
    sent = m.to_openai()
    assert sent["content"][0] == {"type": "image_url", "image_url": {"url": "https://example.invalid/a.jpg"}}
    counted = m.to_openai(priced=True)
    assert count_message(counter, counted) == count_message(counter, sent) - IMAGE_TOKENS_MAX + 765


def test_bad_width_names_the_field() -> None:
    from memory.errors import InvalidMessage

    part = {"type": "image_url", "image_url": {"url": "https://example.invalid/a.jpg"}, "width": 0, "height": 10}
    with pytest.raises(InvalidMessage) as err:
        parse_message({"role": "user", "content": [part]})
    assert err.value.field == "message.content[0].width"
