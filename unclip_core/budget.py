"""How much one sampling call may ask for, and how it is cut into chunks.

A request is refused before any sampling when its images hold more output pixels than the
budget (`UNCLIP_MAX_PIXELS`, or `max_pixels=` per call), with the estimate in the message.
What passes is sampled in chunks of at most `UNCLIP_CHUNK_PIXELS` output pixels, so the memory
the networks need grows with the chunk, not with the request; only the finished images of
earlier chunks are kept.
"""

from __future__ import annotations

import os

from .errors import ConfigError, InputError

# 2^26 pixels: 4,096 images of 128x128, 1,024 of 256x256; their float outputs take 805 MB.
DEFAULT_MAX_PIXELS = 2**26
# 2^22 pixels per chunk: 1,024 images of 64x64 or 64 of 256x256 go through the networks at once.
DEFAULT_CHUNK_PIXELS = 2**22
BYTES_PER_PIXEL = 3 * 4  # RGB float32, as generate returns them


def _from_environment(variable: str, default: int) -> int:
    text = os.environ.get(variable)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{variable}={text!r} must be a whole number of pixels of at least 1, e.g. {default}")
    return value


def max_pixels(override: int | None = None) -> int:
    """The budget of one call: `override` when given, else UNCLIP_MAX_PIXELS, else the default."""
    if override is not None:
        if isinstance(override, bool) or not isinstance(override, int) or override < 1:
            raise InputError(f"max_pixels must be a whole number of at least 1, got {override!r}")
        return override
    return _from_environment("UNCLIP_MAX_PIXELS", DEFAULT_MAX_PIXELS)


def check_budget(prompts: int, per_prompt: int, side: int, limit: int) -> None:
    """Refuse prompts x per_prompt images of side x side pixels when they exceed `limit` pixels."""
    count = prompts * per_prompt
    pixels = count * side * side
    if pixels <= limit:
        return
    fits = max(0, limit // (side * side))
    raise InputError(
        f"{prompts} prompt{'s' if prompts != 1 else ''} x {per_prompt} image{'s' if per_prompt != 1 else ''} "
        f"of {side}x{side} is {pixels:,} pixels ({_size(pixels * BYTES_PER_PIXEL)} of output), over the "
        f"sampling budget of {limit:,} pixels ({fits:,} such images); ask for fewer images, or raise the "
        "budget with max_pixels= / --max-pixels / UNCLIP_MAX_PIXELS"
    )


def chunk_images(side: int) -> int:
    """How many side x side images one chunk samples at once (at least one)."""
    per_chunk = _from_environment("UNCLIP_CHUNK_PIXELS", DEFAULT_CHUNK_PIXELS)
    return max(1, per_chunk // (side * side))


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"
