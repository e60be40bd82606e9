"""`type: inpaint`: regenerate the white region of a mask under a prompt (paper, figure 4's
setting, as in GLIDE): prompt -> prior -> z_i, then the decoder fills the region while keeping
the rest. Mask convention: white = regenerate, black = keep.
"""

from __future__ import annotations

from typing import ClassVar

from PIL.Image import Image
from pydantic import Field

from unclip_core.images import to_pil
from unclip_core.interfaces import EditingOperation, EditInputs
from unclip_core.interfaces.editing import command_line
from unclip_core.pipeline import Pipeline

from .decoding import generator_for
from .fill import FillConfig, fill
from .inputs import ImageSource, check_inpainting_mask, describe, image_tensor, open_image, open_mask


class InpaintInputs(EditInputs):
    image: ImageSource = Field(description="The image to edit: a file path or a PIL image.")
    mask: ImageSource = Field(description="White where the image is regenerated, black where it is kept.")
    prompt: str | None = Field(
        None, description="What to put there; none: the image's own embedding.",
        json_schema_extra=command_line(help='what to put in the region; "" uses the image\'s own embedding'),
    )
    n: int = Field(1, ge=1, description="How many fills.")
    seed: int | None = None


class Inpaint(EditingOperation):
    """Inpainting: regenerate a masked region under a prompt, keeping every other pixel exactly."""

    name: ClassVar[str] = "inpaint"
    Config: ClassVar[type[FillConfig]] = FillConfig
    Inputs: ClassVar[type[InpaintInputs]] = InpaintInputs
    arguments: ClassVar[tuple[str, ...]] = ("image", "mask", "prompt")   # pipe.inpaint(image, mask, prompt)
    command_arguments: ClassVar[tuple[str, ...]] = ("image", "prompt")   # unclip inpaint IMAGE PROMPT --mask M

    def apply(self, pipeline: Pipeline, inputs: InpaintInputs) -> list[Image]:
        picture = open_image(inputs.image)
        mask = open_mask(inputs.mask, picture.size)
        check_inpainting_mask(mask, describe(inputs.mask, "mask"))
        images = fill(
            pipeline, image_tensor(picture), mask, prompt=inputs.prompt, n=inputs.n,
            generator=generator_for(pipeline, inputs.seed), config=self.config,
        )
        return to_pil(images)
