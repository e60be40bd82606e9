"""`type: variations`: new images that keep an image's gist (paper, section 3.1).

The image is encoded to z_i and decoded again with DDIM at eta > 0. With `keep_latent` the
decoder starts from the image's DDIM-inverted x_T, the second half of the paper's bipartite
latent (z_i, x_T): eta = 0 then reconstructs the image, and growing eta lets the sampler
wander further from it while z_i keeps what CLIP sees in it.
"""

from __future__ import annotations

from typing import ClassVar

from PIL.Image import Image
from pydantic import Field

from unclip_core.images import to_pil
from unclip_core.interfaces import EditingOperation, EditInputs
from unclip_core.interfaces.editing import Layout, command_line
from unclip_core.pipeline import Pipeline

from .decoding import (
    InversionConfig, captions, ddim, decode, embed_images, expand, generator_for, invert, output_size, resolve_guidance,
)
from .inputs import ImageSource, load_image


class VariationsConfig(InversionConfig):
    eta: float = Field(0.8, ge=0.0, description="DDIM eta: 0 keeps x_T's image, larger values vary more.")
    keep_latent: bool = Field(
        True, description="Start from the image's DDIM-inverted x_T instead of fresh noise.",
        json_schema_extra=command_line("--fresh-noise", help="start from new noise, not the image's inverted x_T"),
    )
    guidance_scale: float | None = Field(
        None, ge=0.0, description="Decoder guidance; null: 1 with keep_latent (inversion's scale), else the decoder's."
    )


class VariationsInputs(EditInputs):
    image: ImageSource = Field(description="The source image: a file path or a PIL image.")
    n: int = Field(4, ge=1, description="How many variations.")
    prompt: str = Field("", description="Caption the decoder sees; empty by default.")
    seed: int | None = None


class Variations(EditingOperation):
    """Variations of an image: its CLIP embedding decoded again with stochastic DDIM."""

    name: ClassVar[str] = "variations"
    Config: ClassVar[type[VariationsConfig]] = VariationsConfig
    Inputs: ClassVar[type[VariationsInputs]] = VariationsInputs
    method: ClassVar[str] = "vary"                          # pipe.vary(image, n=4, ...)
    arguments: ClassVar[tuple[str, ...]] = ("image", "n")
    command_arguments: ClassVar[tuple[str, ...]] = ("image",)  # unclip vary IMAGE -n 4 ...
    layout: ClassVar[Layout] = "grid"

    def apply(self, pipeline: Pipeline, inputs: VariationsInputs) -> list[Image]:
        c = self.config
        image = load_image(inputs.image, output_size(pipeline))
        z_i = embed_images(pipeline, image)
        text = captions(pipeline, inputs.prompt, 1)
        noise = expand(invert(pipeline, image, z_i, text, c.ddim_steps), inputs.n) if c.keep_latent else None
        images = decode(
            pipeline, expand(z_i, inputs.n), text.repeat_interleave(inputs.n),
            generator=generator_for(pipeline, inputs.seed), guidance_scale=resolve_guidance(c.guidance_scale, c.keep_latent),
            noise=noise, sampler=ddim(pipeline, c.eta, c.ddim_steps),
        )
        return to_pil(images)
