"""The mask a person paints in the page's image editor: white wherever any brush layer has
paint, black elsewhere, at the background image's size (white = regenerate)."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageChops


def mask_from_editor(value: dict[str, Any]) -> tuple[Image.Image, Image.Image]:
    """(image, mask) from an image editor's value {background, layers, composite} of PIL images."""
    background = value["background"]
    mask = Image.new("L", background.size, 0)
    for layer in value.get("layers") or []:
        alpha = layer.convert("RGBA").getchannel("A")
        if alpha.size != background.size:  # the editor may keep layers at its canvas size
            alpha = alpha.resize(background.size, Image.Resampling.NEAREST)
        mask = ImageChops.lighter(mask, alpha.point(lambda a: 255 if a > 0 else 0))
    return background.convert("RGB"), mask
