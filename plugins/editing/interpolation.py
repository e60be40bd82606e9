"""`type: interpolation`: frames between two images, or two prompts (paper, section 3.2).

z_i moves along the great circle from one embedding to the other (slerp). For images, x_T is
either slerped between both images' DDIM-inverted latents (`latent: inverted`, so the end
frames reconstruct their sources) or one noise shared by every frame (`latent: fixed`).
Prompts go through the prior for their z_i, and always share one noise.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from PIL.Image import Image
from pydantic import Field, model_validator

from unclip_core.errors import ConfigError
from unclip_core.images import to_pil
from unclip_core.interfaces import EditingOperation, EditInputs
from unclip_core.interfaces.editing import Layout, command_line
from unclip_core.pipeline import Pipeline

from .decoding import (
    InversionConfig, captions, ddim, decode, decoder_of, embed_images, expand, generator_for, invert, output_size,
    resolve_guidance,
)
from .inputs import ImageSource, load_image
from .slerp import slerp


class InterpolationConfig(InversionConfig):
    frames: int = Field(8, ge=2, description="Frames, both ends included.")
    latent: Literal["inverted", "fixed"] = Field(
        "inverted", description="inverted: slerp both images' DDIM-inverted x_T; fixed: one noise for all frames."
    )
    eta: float = Field(0.0, ge=0.0, description="DDIM eta; 0 keeps neighbouring frames coherent.")
    guidance_scale: float | None = Field(
        None, ge=0.0, description="Decoder guidance; null: 1 for inverted latents, else the decoder's."
    )


class InterpolationInputs(EditInputs):
    images: tuple[ImageSource, ImageSource] | None = Field(
        None, description="The two end images.", json_schema_extra=command_line(metavar="IMAGE")
    )
    prompts: tuple[str, str] | None = Field(
        None, description="Or two prompts, turned into z_i by the prior.", json_schema_extra=command_line(metavar=["A", "B"])
    )
    prompt: str = Field("", description="Caption the decoder sees for every frame; empty by default.")
    seed: int | None = None

    @model_validator(mode="after")
    def _one_pair(self) -> InterpolationInputs:
        if (self.images is None) == (self.prompts is None):
            raise ValueError("give either two images or two prompts to interpolate between")
        return self


def frame_times(frames: int) -> torch.Tensor:
    return torch.linspace(0, 1, frames, dtype=torch.float64)


class Interpolation(EditingOperation):
    """Frames between two images or prompts: slerp of z_i, with x_T fixed or slerped."""

    name: ClassVar[str] = "interpolation"
    Config: ClassVar[type[InterpolationConfig]] = InterpolationConfig
    Inputs: ClassVar[type[InterpolationInputs]] = InterpolationInputs
    method: ClassVar[str] = "interpolate"                      # pipe.interpolate(a, b, frames=8)
    arguments: ClassVar[tuple[str, ...]] = ("images",)         # a tuple field: one argument per item
    command_arguments: ClassVar[tuple[str, ...]] = ("images",)  # unclip interpolate A B --gif anim.gif
    layout: ClassVar[Layout] = "frames"

    def apply(self, pipeline: Pipeline, inputs: InterpolationInputs) -> list[Image]:
        c = self.config
        decoder = decoder_of(pipeline, "interpolation")
        generator = generator_for(pipeline, inputs.seed)
        text = captions(pipeline, inputs.prompt, 2)
        inverted = inputs.images is not None and c.latent == "inverted"
        if inputs.images is not None:
            size = output_size(pipeline)
            sources = [load_image(s, size) for s in inputs.images]
            ends = torch.cat(sources)
            z_ends = embed_images(pipeline, ends)
        else:
            if pipeline.components.prior is None:
                raise ConfigError("interpolating prompts needs a prior to turn them into z_i; this pipeline has none")
            z_ends = pipeline.components.prior.sample(pipeline.encode_text(list(inputs.prompts)), generator=generator)
        if inverted:
            x_ends = invert(pipeline, ends, z_ends, text, c.ddim_steps)
        else:  # one noise for every frame
            shape = (1, 3, decoder.image_size, decoder.image_size)
            noise = torch.randn(shape, generator=generator, device=pipeline.device)
            x_ends = expand(noise, 2)
        t = frame_times(c.frames)
        z = slerp(z_ends[0], z_ends[1], t)
        x_T = slerp(x_ends[0], x_ends[1], t)
        images = decode(
            pipeline, z, text.index(slice(0, 1)).repeat_interleave(c.frames),
            generator=generator, guidance_scale=resolve_guidance(c.guidance_scale, inverted),
            noise=x_T, sampler=ddim(pipeline, c.eta, c.ddim_steps),
        )
        return to_pil(images)
