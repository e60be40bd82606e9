"""Regenerating a masked region: what inpainting and outpainting share.

The decoder fills the region at its base resolution while every sampler step keeps the
known pixels (mask/known); optional RePaint resampling (the `repaint` sampler) lets the fill
harmonize with them. Upsamplers then raise the result to the output size, and the original
pixels outside the mask are pasted back at the input's own resolution, so they come back
exactly as given.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import Generator, Tensor

from unclip_core.errors import ConfigError
from unclip_core.images import resize
from unclip_core.interfaces import ComponentConfig
from unclip_core.pipeline import Pipeline

from .decoding import build_sampler, captions, decode, decoder_of, decoder_steps, embed_images, expand, output_size
from .inputs import coverage, log


class FillConfig(ComponentConfig):
    resample: int = Field(1, ge=1, description="RePaint resampling: times each stretch of steps is walked; 1 is off.")
    jump: int = Field(5, ge=1, description="Steps re-noised per resampling jump.")
    guidance_scale: float | None = Field(None, ge=0.0, description="Decoder guidance; null: the decoder's.")


def fill(
    pipeline: Pipeline,
    image: Tensor,
    mask: Tensor,
    *,
    prompt: str | None,
    n: int,
    generator: Generator | None,
    config: FillConfig,
    embed: Tensor | None = None,
) -> Tensor:
    """(n, 3, H, W): `image` (1, 3, H, W) with the region where `mask` (1, 1, H, W) is 1 regenerated.

    With a prompt, z_i comes from the prior; without one, from the image itself (or `embed`).
    """
    decoder = decoder_of(pipeline, "inpainting")
    device, base, size = pipeline.device, decoder.image_size, output_size(pipeline)
    height, width = image.shape[-2:]
    if (height, width) != (size, size):
        log.info("generating at the model's %dx%d for a %dx%d canvas; the kept pixels stay as given", size, size, width, height)
    if prompt:
        if pipeline.components.prior is None:
            raise ConfigError(
                "inpainting with a prompt needs a prior to turn it into z_i, and this pipeline has none; "
                "load one with a prior, or leave the prompt out to use the image's own embedding"
            )
        text = captions(pipeline, prompt, n)
        z_i = pipeline.components.prior.sample(text, generator=generator)
    else:
        text = captions(pipeline, "", n)
        z_i = expand(embed_images(pipeline, resize(image if embed is None else embed, (size, size))), n)
    known = expand(resize(image, (base, base)), n).to(device)
    region = expand(coverage(mask, base), n).expand(n, 3, base, base).to(device)
    sampler = None
    if config.resample > 1:
        sampler = build_sampler({
            "type": "repaint", "steps": decoder_steps(pipeline), "resample": config.resample, "jump": config.jump,
        })
    generated = decode(
        pipeline, z_i, text, generator=generator, guidance_scale=config.guidance_scale,
        sampler=sampler, mask=region, known=known,
    )
    generated = resize(generated.float().cpu(), tuple(image.shape[-2:]))
    return torch.where(mask.bool(), generated, image)
