"""What an operation returns: its images as PNGs that carry their settings, and for frame
sequences (interpolation, text diffs) an animated GIF of the frames."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .png_settings import png_bytes

GIF_FRAME_MS = 150


@dataclass(frozen=True)
class Result:
    operation: str
    settings: dict[str, Any]  # the request with its seed and model filled in: send it again, get the same
    pngs: list[bytes]  # each carries `settings` plus its own `index` in its text chunks
    gif: bytes | None = None

    @classmethod
    def of(cls, settings: dict[str, Any], images: list[Image.Image], animate: bool = False) -> Result:
        pngs = [png_bytes(image, {**settings, "index": k}) for k, image in enumerate(images)]
        return cls(settings["operation"], settings, pngs, gif_bytes(images) if animate else None)


def gif_bytes(frames: list[Image.Image]) -> bytes:
    """An endlessly looping GIF that plays the frames forward and back."""
    sequence = list(frames) + list(frames[-2:0:-1])
    buffer = io.BytesIO()
    sequence[0].save(buffer, format="GIF", save_all=True, append_images=sequence[1:], duration=GIF_FRAME_MS, loop=0)
    return buffer.getvalue()
