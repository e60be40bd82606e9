"""Images sent to the HTTP API: base64 text (optionally a data: URL) decoded into PIL images,
with a one-line error naming the field when the data is not an image."""

from __future__ import annotations

import base64
import binascii
import io
import warnings

from PIL import Image, UnidentifiedImageError

from ..errors import InputError


def decode_image(data: object, field: str) -> Image.Image:
    if not isinstance(data, str) or not data:
        raise InputError(f"{field}: expected a base64-encoded PNG, JPEG or WebP image as a string")
    if data.startswith("data:"):
        data = data.partition(",")[2]
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{field}: is not valid base64; encode the image file's bytes with base64") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as image:
                image.load()
                return image.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise InputError(
            f"{field}: is not a readable image ({type(exc).__name__}); send an intact PNG, JPEG or WebP file"
        ) from None


def encode_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
