"""What the model providers refuse, refused at ``add`` instead of at every later model call.

A message turnmem stores is sent back in contexts for as long as it lives; a field the
provider's API refuses would make each of those calls fail, long after the turn was stored.
So :func:`check_provider_rules` (run by :func:`~memory.models.parse.parse_message` on every
added message, after its shape is checked) refuses, naming the field:

- a tool call's ``function.name`` outside OpenAI's rule ``^[a-zA-Z0-9_-]{1,64}$`` (Anthropic's
  tool names follow the same rule);
- an image part's URL that is neither ``http(s)://`` nor a ``data:`` URL, and a ``data:`` URL
  that is not base64 of one of the image types the providers take (PNG, JPEG, GIF, WebP: the
  declared type, and the bytes' own signature agreeing with it) or is over
  :data:`MAX_IMAGE_BYTES` decoded (OpenAI's per-image limit);
- a file part's ``file_data`` ``data:`` URL whose base64 does not decode.

Stored messages are not checked again when read: a row written before these checks stays readable.
"""

from __future__ import annotations

import base64
import binascii
import re

from memory.errors import InvalidMessage
from memory.models.messages import FilePart, ImagePart, Message

FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # OpenAI's limit for one image
# the image types OpenAI and Anthropic both take, and how each file begins
IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),  # and "WEBP" at byte 8, checked below
}


def check_provider_rules(message: Message, prefix: str) -> None:
    """Raise :class:`InvalidMessage` naming the first field of ``message`` a provider would refuse."""
    for j, call in enumerate(message.tool_calls or []):
        name = call.function.name
        if not FUNCTION_NAME.fullmatch(name):
            field = f"{prefix}.tool_calls[{j}].function.name"
            raise InvalidMessage(
                f"{field}: {_shown(name)} is not a function name the model APIs accept; use 1 to 64 letters, "
                "digits, '_' or '-' (OpenAI's rule ^[a-zA-Z0-9_-]{1,64}$), e.g. 'search_hotels'",
                field=field,
            )
    if not isinstance(message.content, list):
        return
    for i, part in enumerate(message.content):
        if isinstance(part, ImagePart):
            _check_image_url(part.image_url.url, f"{prefix}.content[{i}].image_url.url")
        elif isinstance(part, FilePart) and part.file.file_data and part.file.file_data.startswith("data:"):
            header, _, payload = part.file.file_data.partition(",")
            if ";base64" in header:
                _decoded(payload, f"{prefix}.content[{i}].file.file_data", limit=None)


def _check_image_url(url: str, field: str) -> None:
    lowered = url[:16].lower()
    if lowered.startswith(("https://", "http://")):
        return
    if not lowered.startswith("data:"):
        raise InvalidMessage(
            f"{field}: {_shown(url)} is neither an http(s):// URL nor a data: URL; give "
            "'https://...' or 'data:image/png;base64,...'",
            field=field,
        )
    header, comma, payload = url.partition(",")
    mime = header[len("data:") :].split(";")[0].strip().lower()
    if not comma or ";base64" not in header.lower():
        raise InvalidMessage(
            f"{field}: a data URL of an image must be base64: 'data:{mime or 'image/png'};base64,<the bytes>'",
            field=field,
        )
    if mime not in IMAGE_SIGNATURES:
        raise InvalidMessage(
            f"{field}: the data URL declares {mime or 'no type'!r}; the model APIs take "
            f"{', '.join(IMAGE_SIGNATURES)}: convert the image to one of them",
            field=field,
        )
    raw = _decoded(payload, field, limit=MAX_IMAGE_BYTES)
    signatures = IMAGE_SIGNATURES[mime]
    if not raw.startswith(signatures) or (mime == "image/webp" and raw[8:12] != b"WEBP"):
        actual = next((m for m, sig in IMAGE_SIGNATURES.items() if raw.startswith(sig)), None)
        found = f"the bytes are {actual}" if actual else "the bytes are not an image of that type"
        raise InvalidMessage(f"{field}: the data URL declares {mime}, but {found}; declare the type it is", field=field)


def _decoded(payload: str, field: str, limit: int | None) -> bytes:
    if limit is not None and len(payload) // 4 * 3 > limit + 2:  # before decoding: the size base64 implies
        raise InvalidMessage(
            f"{field}: the image is about {len(payload) // 4 * 3:,} bytes, more than the {limit:,} the model APIs "
            "take; scale it down (a side of 2,048 px is all OpenAI uses) or send an https:// URL",
            field=field,
        )
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMessage(
            f"{field}: the data URL's payload is not valid base64 (A-Z, a-z, 0-9, '+', '/', '=' padding, "
            "no spaces or line breaks); encode the bytes with base64.b64encode",
            field=field,
        ) from None
    if limit is not None and len(raw) > limit:
        raise InvalidMessage(
            f"{field}: the image is {len(raw):,} bytes, more than the {limit:,} the model APIs take; scale it down",
            field=field,
        )
    return raw


def _shown(value: str) -> str:
    """``value`` quoted for a message, cut when long."""
    return repr(value) if len(value) <= 80 else repr(value[:77] + "...")
