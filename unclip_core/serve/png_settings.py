"""Result PNGs that say how they were made: the request (prompt, seed, model, every option) is
stored in the PNG's text chunks, so sending the stored request again reproduces the image.

Chunks: `unclip` holds the settings as JSON (what `read_settings` returns); `prompt`, `seed`
and `model` repeat the most looked-for values as plain text for image viewers.
"""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

SETTINGS_CHUNK = "unclip"


def png_bytes(image: Image.Image, settings: dict[str, Any]) -> bytes:
    info = PngInfo()
    info.add_text(SETTINGS_CHUNK, json.dumps(settings, sort_keys=True))
    for key in ("prompt", "seed", "model"):
        value = settings.get(key, settings.get("prompts") if key == "prompt" else None)
        if value is not None:
            info.add_text(key, value if isinstance(value, str) else json.dumps(value))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_settings(png: bytes) -> dict[str, Any]:
    """The settings a result PNG was saved with; KeyError when it carries none."""
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        return json.loads(image.text[SETTINGS_CHUNK])
