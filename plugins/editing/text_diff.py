"""`type: text_diff`: edit an image along the direction between two captions (paper, 3.3).

z_d = normalize(z_t(target) - z_t(source)) is the change the captions describe in CLIP space;
frame k decodes z_theta = slerp(z_i, z_d, theta_k) for theta from 0 to `max_theta`, always
from the image's DDIM-inverted x_T so that only the embedding changes between frames.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from PIL.Image import Image
from pydantic import Field
from torch import Tensor

from unclip_core.errors import InputError
from unclip_core.images import to_pil
from unclip_core.interfaces import EditingOperation, EditInputs
from unclip_core.interfaces.editing import Layout, command_line
from unclip_core.pipeline import Pipeline

from .decoding import (
    InversionConfig, captions, ddim, decode, embed_images, expand, generator_for, invert, output_size, resolve_guidance,
)
from .inputs import ImageSource, load_image
from .slerp import slerp


class TextDiffConfig(InversionConfig):
    steps: int = Field(5, ge=2, description="Frames, from theta = 0 (the image) to max_theta.")
    max_theta: float = Field(0.5, gt=0.0, le=1.0, description="Largest slerp weight of the text direction.")
    guidance_scale: float | None = Field(None, ge=0.0, description="Decoder guidance; null: 1 (inversion's scale).")


class TextDiffInputs(EditInputs):
    image: ImageSource = Field(description="The source image: a file path or a PIL image.")
    source: str = Field(
        description="Caption of what the image shows now, e.g. 'a cat'.", json_schema_extra=command_line("--from")
    )
    target: str = Field(description="Caption of what it should show, e.g. 'a dog'.", json_schema_extra=command_line("--to"))
    prompt: str = Field("", description="Caption the decoder sees; empty by default.")
    seed: int | None = None


def text_direction(z_source: Tensor, z_target: Tensor) -> Tensor:
    """z_d: the unit vector from the source caption's z_t to the target's."""
    difference = z_target - z_source
    if float(difference.norm()) < 1e-6:
        raise InputError("the source and target captions embed identically; give two different captions")
    return F.normalize(difference, dim=-1)


def text_diff_embeddings(z_i: Tensor, z_source: Tensor, z_target: Tensor, thetas: Tensor) -> Tensor:
    """(len(thetas), D): z_i slerped toward the caption direction by each theta."""
    return slerp(z_i, text_direction(z_source, z_target), thetas)


def thetas(steps: int, max_theta: float) -> Tensor:
    return torch.linspace(0, max_theta, steps, dtype=torch.float64)


class TextDiff(EditingOperation):
    """Text diffs: move an image's z_i toward the direction from one caption to another."""

    name: ClassVar[str] = "text_diff"
    Config: ClassVar[type[TextDiffConfig]] = TextDiffConfig
    Inputs: ClassVar[type[TextDiffInputs]] = TextDiffInputs
    arguments: ClassVar[tuple[str, ...]] = ("image", "source", "target", "steps")  # pipe.text_diff(image, source, target)
    command: ClassVar[str] = "textdiff"                        # unclip textdiff IMAGE --from S --to T
    command_arguments: ClassVar[tuple[str, ...]] = ("image",)
    layout: ClassVar[Layout] = "frames"

    def apply(self, pipeline: Pipeline, inputs: TextDiffInputs) -> list[Image]:
        c = self.config
        image = load_image(inputs.image, output_size(pipeline))
        z_i = embed_images(pipeline, image)
        z_t = pipeline.encode_text([inputs.source, inputs.target]).embedding.float()
        z = text_diff_embeddings(z_i[0], z_t[0], z_t[1], thetas(c.steps, c.max_theta))
        text = captions(pipeline, inputs.prompt, 1)
        x_T = invert(pipeline, image, z_i, text, c.ddim_steps)
        images = decode(
            pipeline, z, text.repeat_interleave(c.steps),
            generator=generator_for(pipeline, inputs.seed), guidance_scale=resolve_guidance(c.guidance_scale, True),
            noise=expand(x_T, c.steps), sampler=ddim(pipeline, 0.0, c.ddim_steps),
        )
        return to_pil(images)
