"""Pipeline steps every editing operation shares: embed, invert, decode, upsample.

Each works on a whole batch at once: an operation's N outputs are one decoder call, so that
call is held to the sampling budget (unclip_core.budget) before it starts.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import Generator, Tensor

from unclip_core.budget import check_budget, max_pixels
from unclip_core.errors import ConfigError
from unclip_core.finite import require_finite_output
from unclip_core.graph import build_section
from unclip_core.images import resize
from unclip_core.interfaces import ComponentConfig, Decoder, Sampler, TextEncoding
from unclip_core.pipeline import NON_FINITE_HINT, Pipeline

# The DDIM steps an edit inverts and decodes with unless told otherwise. Inversion is exact only
# in the limit of small steps: the bundled emoji model gives 64 held-out emoji back at 20.7 dB
# (decoder size) with 16 steps, 26.7 with 32, 30.3 with 64 and 34.9 with 128, at 0.7, 1.2, 2.9
# and 7.3 s per image on a 2-core CPU (benchmarks/inversion_fidelity.py; docs/editing.md).
INVERSION_STEPS = 64


def decoder_of(pipeline: Pipeline, operation: str) -> Decoder:
    decoder = pipeline.components.decoder
    if decoder is None:
        raise ConfigError(f"{operation} needs a decoder, and this pipeline has none; load a pipeline with a trained decoder")
    return decoder


def output_size(pipeline: Pipeline) -> int:
    """Side of the images the pipeline ends with: the last upsampler's, else the decoder's."""
    upsamplers = pipeline.components.upsamplers
    return upsamplers[-1].to_size if upsamplers else decoder_of(pipeline, "editing").image_size


def decoder_steps(pipeline: Pipeline) -> int:
    """The decoder's sampler's number of steps (DDIM inversion uses the same)."""
    decoder = decoder_of(pipeline, "editing")
    if decoder.sampler is None:
        raise ConfigError(f"editing needs a decoder that samples by diffusion; decoder '{decoder.name}' has no sampler")
    return decoder.sampler.steps


def build_sampler(section: dict) -> Sampler:
    """A sampler built through the registry, as a graph's `sampler:` section would be."""
    return build_section("sampler", "sampler", section)


class InversionConfig(ComponentConfig):
    """The setting of every operation that decodes DDIM-inverted latents."""

    ddim_steps: int | None = Field(
        None, ge=2, le=1000,
        description=f"DDIM steps to invert and decode with; null: {INVERSION_STEPS}, or the decoder sampler's if more "
        "(at most the decoder's timesteps).",
    )


def ddim_steps(pipeline: Pipeline, steps: int | None) -> int:
    """`steps`, or by default INVERSION_STEPS unless the decoder's own sampler takes more, and
    never more than the decoder's schedule has timesteps."""
    if steps is not None:
        return steps
    default = max(INVERSION_STEPS, decoder_steps(pipeline))
    bound = decoder_of(pipeline, "editing").num_timesteps
    return default if bound is None else min(default, bound)


def ddim(pipeline: Pipeline, eta: float, steps: int | None = None) -> Sampler:
    """DDIM at `ddim_steps`: with eta=0 and the same steps it retraces `invert` exactly."""
    return build_sampler({"type": "ddim", "steps": ddim_steps(pipeline, steps), "eta": eta})


def generator_for(pipeline: Pipeline, seed: int | None) -> Generator | None:
    return None if seed is None else torch.Generator(pipeline.device).manual_seed(seed)


def captions(pipeline: Pipeline, prompt: str, n: int) -> TextEncoding:
    """One caption encoded once and repeated for a batch of n; "" is the empty caption."""
    return pipeline.encode_text([prompt]).repeat_interleave(n)


def embed_images(pipeline: Pipeline, images: Tensor) -> Tensor:
    """z_i of images in [-1, 1] at any size (the encoder resizes for its image tower)."""
    return pipeline.encode_image(images.to(pipeline.device)).float()


def invert(pipeline: Pipeline, images: Tensor, z_i: Tensor, text: TextEncoding, steps: int | None = None) -> Tensor:
    """The DDIM-inverted x_T of images (any size: they are brought to the decoder's first)."""
    decoder = decoder_of(pipeline, "inversion")
    base = resize(images, (decoder.image_size, decoder.image_size)).to(pipeline.device)
    # Inverted with the DDIM that decodes it again (same `steps`), so both walk the same timesteps.
    return decoder.invert(base, z_i, text, sampler=ddim(pipeline, 0.0, steps))


def resolve_guidance(scale: float | None, inverted: bool) -> float | None:
    """None means: 1 when decoding an inverted x_T (the scale inversion used), else the decoder's."""
    if scale is not None:
        return scale
    return 1.0 if inverted else None


def decode(
    pipeline: Pipeline,
    z_i: Tensor,
    text: TextEncoding,
    *,
    generator: Generator | None,
    guidance_scale: float | None,
    noise: Tensor | None = None,
    sampler: Sampler | None = None,
    mask: Tensor | None = None,
    known: Tensor | None = None,
) -> Tensor:
    """Decode a batch of z_i and run every upsampler: images in [-1, 1] at the output size."""
    decoder = decoder_of(pipeline, "decoding")
    check_budget(1, z_i.shape[0], output_size(pipeline), max_pixels())
    images = decoder.sample(
        z_i, text, generator=generator, guidance_scale=guidance_scale, noise=noise, sampler=sampler,
        mask=mask, known=known,
    )
    images = require_finite_output(images, "decoder", NON_FINITE_HINT)
    for index, upsampler in enumerate(pipeline.components.upsamplers):
        images = require_finite_output(upsampler.sample(images, generator=generator), f"upsampler {index}", NON_FINITE_HINT)
    return images


def expand(x: Tensor, n: int) -> Tensor:
    """A batch of one repeated n times (a view: no copies)."""
    return x.expand(n, *x.shape[1:])

