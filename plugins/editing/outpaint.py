"""`type: outpaint`: extend an image's canvas and fill the new border by inpainting.

Pads are in the input image's pixels. The model works on squares, so a canvas that is not
square is generated inside the smallest square around it and cropped back; the original
pixels are pasted back unchanged where they were.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from PIL.Image import Image
from pydantic import Field

from unclip_core.errors import InputError
from unclip_core.images import to_pil
from unclip_core.interfaces import EditingOperation, EditInputs
from unclip_core.interfaces.editing import command_line
from unclip_core.pipeline import Pipeline

from .decoding import generator_for
from .fill import FillConfig, fill
from .inputs import ImageSource, check_canvas, image_tensor, open_image

Pad = int | None


class OutpaintInputs(EditInputs):
    image: ImageSource = Field(description="The image to extend: a file path or a PIL image.")
    prompt: str | None = Field(
        None, description="What the new border shows; none: the image's own embedding.",
        json_schema_extra=command_line(help='what the border shows; "" uses the image\'s own embedding'),
    )
    pad: int | None = Field(None, ge=0, description="Pixels added on every side not given on its own.")
    pad_left: Pad = Field(None, ge=0, description="Pixels added on the left (overrides pad).")
    pad_right: Pad = Field(None, ge=0, description="Pixels added on the right (overrides pad).")
    pad_top: Pad = Field(None, ge=0, description="Pixels added on the top (overrides pad).")
    pad_bottom: Pad = Field(None, ge=0, description="Pixels added on the bottom (overrides pad).")
    n: int = Field(1, ge=1, description="How many fills.")
    seed: int | None = None

    def sides(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom): each side's own pad, else `pad`, else 0."""
        default = self.pad or 0
        sides = tuple(default if p is None else p for p in (self.pad_left, self.pad_right, self.pad_top, self.pad_bottom))
        if not any(sides):
            raise InputError("nothing to outpaint: every pad is 0; give --pad N or a per-side --pad-left/-right/-top/-bottom")
        return sides


def square_layout(width: int, height: int, sides: tuple[int, int, int, int]) -> tuple[int, tuple[int, int], tuple[int, int]]:
    """(square side, canvas origin in it, image origin in it) for the padded canvas."""
    left, right, top, bottom = sides
    canvas_w, canvas_h = width + left + right, height + top + bottom
    side = max(canvas_w, canvas_h)
    canvas = ((side - canvas_w) // 2, (side - canvas_h) // 2)
    return side, canvas, (canvas[0] + left, canvas[1] + top)


class Outpaint(EditingOperation):
    """Outpainting: pad the canvas and fill the new border, the original kept in place."""

    name: ClassVar[str] = "outpaint"
    Config: ClassVar[type[FillConfig]] = FillConfig
    Inputs: ClassVar[type[OutpaintInputs]] = OutpaintInputs
    arguments: ClassVar[tuple[str, ...]] = ("image", "prompt")           # pipe.outpaint(image, prompt, pad=16)
    command_arguments: ClassVar[tuple[str, ...]] = ("image", "prompt")   # unclip outpaint IMAGE PROMPT --pad 16

    def apply(self, pipeline: Pipeline, inputs: OutpaintInputs) -> list[Image]:
        picture = open_image(inputs.image)
        width, height = picture.size
        left, right, top, bottom = sides = inputs.sides()
        side, (cx, cy), (ix, iy) = square_layout(width, height, sides)
        check_canvas(width, height, side, inputs.n)
        original = image_tensor(picture)
        square = torch.zeros(1, 3, side, side)  # mid-gray where nothing is known yet
        square[..., iy:iy + height, ix:ix + width] = original
        mask = torch.ones(1, 1, side, side)
        mask[..., iy:iy + height, ix:ix + width] = 0
        images = fill(
            pipeline, square, mask, prompt=inputs.prompt, n=inputs.n,
            generator=generator_for(pipeline, inputs.seed), config=self.config, embed=original,
        )
        canvas = images[..., cy:cy + height + top + bottom, cx:cx + width + left + right]
        return to_pil(canvas)
