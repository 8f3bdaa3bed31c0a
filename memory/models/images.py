"""What an image costs in a prompt: OpenAI's tile rule, and an image's size when it can be known.

OpenAI bills an image part (GPT-4o / GPT-4.1 family, ``o200k_base``) by its ``detail``:

- ``low``: 85 tokens, whatever the size;
- ``high`` (and ``auto``, or no ``detail``, which may pick ``high``): the image is scaled to fit
  a 2048 x 2048 square, then down so its shorter side is at most 768 px (never up; sides
  round up to whole pixels); it costs
  85 + 170 tokens per 512 px tile of the result (a 1024 x 1024 image: 765 tokens).

The size comes from the part's ``width`` / ``height`` (turnmem fields, given by the caller)
or from the header of a ``data:`` URL's image; when neither is known (a remote URL), the
stated upper bound :data:`IMAGE_TOKENS_MAX` is used: 8 tiles, the most an image can cover
after the scaling above (768 x 2048), so the budget holds whatever the image is.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from typing import Any

IMAGE_BASE_TOKENS = 85  # a low-detail image, and the fixed part of a high-detail one
IMAGE_TILE_TOKENS = 170
IMAGE_TILE_PX = 512
_FIT_PX = 2048
_SHORT_SIDE_PX = 768
IMAGE_TOKENS_MAX = IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * 8  # 1445: 2 x 4 tiles of 768 x 2048

# Enough base64 for the header of PNG, GIF, WebP and nearly every JPEG (EXIF before the
# frame header included); a JPEG whose frame header lies further in is decoded whole.
_HEADER_B64_CHARS = 96_000


def image_tokens(width: int | None, height: int | None, detail: str | None) -> int:
    """Tokens of one image by OpenAI's rule (see the module docstring); the upper bound if size is unknown."""
    if detail == "low":
        return IMAGE_BASE_TOKENS
    if not width or not height or width <= 0 or height <= 0:
        return IMAGE_TOKENS_MAX
    w, h = int(width), int(height)
    # Scaled sides round up: a fractional pixel may start a tile, and a budget must not undercount.
    if max(w, h) > _FIT_PX:
        w, h = (_FIT_PX, _ceil_div(h * _FIT_PX, w)) if w >= h else (_ceil_div(w * _FIT_PX, h), _FIT_PX)
    if min(w, h) > _SHORT_SIDE_PX:
        w, h = (
            (_SHORT_SIDE_PX, _ceil_div(h * _SHORT_SIDE_PX, w))
            if w <= h
            else (_ceil_div(w * _SHORT_SIDE_PX, h), _SHORT_SIDE_PX)
        )
    tiles = _ceil_div(w, IMAGE_TILE_PX) * _ceil_div(h, IMAGE_TILE_PX)
    return IMAGE_BASE_TOKENS + IMAGE_TILE_TOKENS * tiles


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def data_url_size(url: str) -> tuple[int, int] | None:
    """``(width, height)`` of the image in a base64 ``data:image/...`` URL, read from its header; None otherwise."""
    if not url.startswith("data:image/"):
        return None
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        return None
    for chunk in (payload[: _HEADER_B64_CHARS - _HEADER_B64_CHARS % 4], payload):
        size = _size_of(chunk)
        if size is not None or len(chunk) == len(payload):
            return size
    return None  # pragma: no cover - the loop always returns


def _size_of(b64: str) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - lazy: only images without a size need it; `import memory` stays light

    try:
        raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=False)
        with Image.open(io.BytesIO(raw)) as img:  # reads the header only, no pixel decoding
            width, height = img.size
    except (binascii.Error, ValueError, OSError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
    return (int(width), int(height)) if width > 0 and height > 0 else None


def image_part_tokens(part: Mapping[str, Any]) -> int:
    """Tokens of an ``image_url`` content part: its ``width``/``height`` if given, else its data URL's size."""
    image = part.get("image_url")
    url, detail = (
        (image.get("url", ""), image.get("detail")) if isinstance(image, Mapping) else (str(image or ""), None)
    )
    if detail == "low":
        return IMAGE_BASE_TOKENS
    width, height = part.get("width"), part.get("height")
    if not (isinstance(width, int) and isinstance(height, int)):
        size = data_url_size(url) if isinstance(url, str) else None
        width, height = size if size is not None else (None, None)
    return image_tokens(width, height, detail)
