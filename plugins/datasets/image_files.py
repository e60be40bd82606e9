"""Reading images from disk or archives without ever crashing an epoch.

A file that does not decode is logged (logging.warning, naming it and why) and reported as
None so the caller can skip it; any mode (palette, grayscale, RGBA, CMYK) becomes RGB.
"""

from __future__ import annotations

import io
import logging
import warnings

import numpy as np
import torch
from PIL import Image

log = logging.getLogger("unclip.data")


def decode_image(data: bytes, where: str, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image | None:
    """PNG/JPEG/... bytes -> an RGB image, or None (logged) when `data` is not a readable image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return to_rgb(image, background)
    except Exception as exc:  # Pillow raises many types for bad files; none may stop training
        log.warning("skipping %s: not a readable image (%s: %s)", where, type(exc).__name__, exc)
        return None


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Transparent pixels are laid over `background` instead of turning black."""
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image.convert("RGB")


def to_tensor(image: Image.Image, size: int | None = None) -> torch.Tensor:
    """RGB image -> (3, size, size) float in [-1, 1]; a different size is resized (antialiased)."""
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return uint8_to_tensor(np.asarray(image, dtype=np.uint8))


def uint8_to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1]."""
    return torch.from_numpy(np.array(pixels, dtype=np.uint8)).permute(2, 0, 1).float() / 127.5 - 1
