"""The unCLIP decoder: a GLIDE-style UNet generating images from z_i and the caption.

z_i enters twice (paper, section 2.1): projected and added to the timestep embedding, and
projected into `context_tokens` extra tokens appended to the caption's per-token encodings,
which every attention layer attends to alongside its own pixels. With `caption_depth` the caption
first passes through the decoder's own transformer (caption_encoder.py), as in GLIDE.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import torch
from pydantic import Field, model_validator
from torch import Generator, Tensor, nn

from unclip_core.diffusion import check_inpainting
from unclip_core.interfaces import Decoder, Denoiser, EncoderSpec, Sampler, StepCallback, TextEncoding

from .blocks import TimestepMLP
from .caption_encoder import CaptionEncoder
from .diffusion import UNetConfig, invert_with, make_diffusion, start_noise
from .unet import UNet


class UNetDecoderConfig(UNetConfig):
    image_size: int = Field(64, ge=8, description="Side of the generated images.")
    context_tokens: int = Field(4, ge=0, description="Tokens z_i is projected into for attention.")
    guidance_scale: float = Field(3.0, ge=0, description="Classifier-free guidance at sampling; 1 = none.")
    image_dropout: float = Field(0.1, ge=0, le=1, description="Training probability of dropping z_i.")
    text_dropout: float = Field(0.5, ge=0, le=1, description="Training probability of dropping the caption.")
    condition_on_image: bool = Field(
        True, description="Sample from z_i and the caption; false: from the caption alone, z_i replaced by the null "
        "embedding that image_dropout trains, so the decoder is a GLIDE-style text-to-image model guided by the caption only."
    )
    caption_guidance_scale: float | None = Field(
        None, ge=0, description="Guide the caption apart from z_i: guidance_scale then pushes from the unconditional "
        "model to z_i alone and this from z_i alone to z_i and the caption (three passes a step); null: one scale for both."
    )
    guidance_interval: tuple[float, float] = Field(
        (0.0, 1.0), description="Guide only the steps whose timestep, as a fraction of the schedule (0 clean, 1 pure "
        "noise), lies in [low, high]; the others take the conditional prediction. [0, 1]: every step."
    )
    dynamic_threshold: float | None = Field(
        None, gt=0, le=1, description="Bound each x0 estimate by Imagen's dynamic thresholding at this percentile of "
        "its absolute values (0.995 is Imagen's) instead of clipping it to [-1, 1]; null: the fixed clip."
    )
    caption_depth: int = Field(
        0, ge=0, description="Layers of the decoder's own caption transformer (GLIDE's text encoder); 0: none, "
        "the UNet attends to the CLIP text encodings directly."
    )
    caption_width: int = Field(512, ge=8, description="Width of the caption transformer (with caption_depth > 0).")
    caption_heads: int = Field(8, ge=1, description="Attention heads of the caption transformer; they divide caption_width.")

    @model_validator(mode="after")
    def _null_image_was_trained(self):
        if not self.condition_on_image and self.image_dropout == 0:
            raise ValueError(
                "condition_on_image: false samples from the null z_i, which a decoder trained with image_dropout 0 never "
                "learned; use a decoder trained with image_dropout > 0, or condition_on_image: true"
            )
        return self

    @model_validator(mode="after")
    def _caption_guidance_needs_the_image(self):
        if self.caption_guidance_scale is not None and not self.condition_on_image:
            raise ValueError(
                "caption_guidance_scale guides the caption on top of z_i, which condition_on_image: false leaves out; "
                "set caption_guidance_scale: null, or condition_on_image: true"
            )
        return self

    @model_validator(mode="after")
    def _interval_is_ordered(self):
        low, high = self.guidance_interval
        if not 0 <= low <= high <= 1:
            raise ValueError(f"guidance_interval must be [low, high] with 0 <= low <= high <= 1, got [{low}, {high}]")
        return self

    @model_validator(mode="after")
    def _heads_divide_caption_width(self):
        if self.caption_depth and self.caption_width % self.caption_heads:
            raise ValueError(f"caption_width {self.caption_width} must be divisible by caption_heads {self.caption_heads}")
        return self


class UNetDecoder(Decoder):
    """GLIDE-style UNet decoder conditioned on z_i and caption tokens, with classifier-free guidance."""

    name: ClassVar[str] = "unet_decoder"
    sampling_fields: ClassVar[frozenset[str]] = frozenset(
        {"guidance_scale", "caption_guidance_scale", "condition_on_image", "guidance_interval", "dynamic_threshold"}
    )
    Config: ClassVar[type[UNetDecoderConfig]] = UNetDecoderConfig
    nested: ClassVar[dict[str, str]] = {"sampler": "sampler"}

    def __init__(self, config: UNetDecoderConfig, *, spec: EncoderSpec, sampler: Sampler) -> None:
        super().__init__()
        self.config = config
        self.sampler = sampler
        self.diffusion = make_diffusion(config)
        emb_dim, width = 4 * config.channels, config.channels * max(config.channel_mults)
        self.time_embed = TimestepMLP(config.channels, emb_dim)
        self.image_to_emb = nn.Linear(spec.embed_dim, emb_dim)
        self.image_to_tokens = nn.Linear(spec.embed_dim, config.context_tokens * width)
        text_width = config.caption_width if config.caption_depth else spec.text_width
        self.text_to_tokens = nn.Linear(text_width, width)
        self.context_norm = nn.LayerNorm(width)
        # Learned stand-ins for dropped conditioning: a null z_i, and one token that replaces
        # the whole caption (its slot is masked out whenever the caption is present).
        self.null_image = nn.Parameter(torch.randn(spec.embed_dim) / spec.embed_dim**0.5)
        self.null_text = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.unet = UNet(
            image_size=config.image_size, in_channels=3, out_channels=3, channels=config.channels,
            channel_mults=config.channel_mults, num_res_blocks=config.num_res_blocks,
            attention_resolutions=config.attention_resolutions, dropout=config.dropout, emb_dim=emb_dim,
            head_channels=config.head_channels, context_dim=width, resblock_updown=config.resblock_updown,
        )
        self.caption_encoder, self.text_to_emb = None, None
        if config.caption_depth:
            self.caption_encoder = CaptionEncoder(
                spec.text_width, config.caption_width, config.caption_depth, config.caption_heads, spec.context_length
            )
            self.text_to_emb = nn.Linear(config.caption_width, emb_dim)

    @property
    def image_size(self) -> int:
        return self.config.image_size

    @property
    def num_timesteps(self) -> int:
        return self.diffusion.schedule.num_timesteps

    # ---- conditioning -------------------------------------------------------------------
    def conditioning(
        self, image_embedding: Tensor, text: TextEncoding, drop_image: Tensor | bool = False, drop_text: Tensor | bool = False
    ) -> dict[str, Tensor]:
        """The batched conditioning dict the network takes; drop flags select the null embeddings."""
        batch, device = image_embedding.shape[0], image_embedding.device
        return {
            "image": image_embedding,
            "tokens": text.tokens,
            "mask": text.mask.bool(),
            "drop_image": torch.as_tensor(drop_image, device=device).expand(batch),
            "drop_text": torch.as_tensor(drop_text, device=device).expand(batch),
        }

    def network(self, x: Tensor, t: Tensor, cond: Mapping[str, Tensor]) -> Tensor:
        """The raw UNet output (eps or v) for x_t at timesteps t."""
        batch = x.shape[0]
        image = torch.where(cond["drop_image"][:, None], self.null_image.to(cond["image"].dtype), cond["image"])
        emb = self.time_embed(t) + self.image_to_emb(image)
        image_tokens = self.image_to_tokens(image).reshape(batch, self.config.context_tokens, -1)
        drop_text = cond["drop_text"][:, None]
        caption = cond["tokens"]
        if self.caption_encoder is not None:
            caption, summary = self.caption_encoder(caption, cond["mask"])
            text_emb = self.text_to_emb(summary)
            emb = emb + torch.where(drop_text, torch.zeros_like(text_emb), text_emb)
        text_tokens = self.text_to_tokens(caption)
        null = self.null_text.expand(batch, 1, -1).to(text_tokens.dtype)
        context = self.context_norm(torch.cat([image_tokens, null, text_tokens], dim=1))
        mask = torch.cat([
            torch.ones(batch, self.config.context_tokens, dtype=torch.bool, device=x.device),
            drop_text,
            cond["mask"] & ~drop_text,
        ], dim=1)
        return self.unet(x, emb, context, mask)

    def denoiser(self, image_embedding: Tensor, text: TextEncoding, guidance_scale: float | None = None) -> Denoiser:
        """x_t, t -> guided x0, clipped to [-1, 1]; guidance batches every pass in one forward."""
        c = self.config
        scale = c.guidance_scale if guidance_scale is None else guidance_scale
        cond = self.conditioning(image_embedding, text, drop_image=not c.condition_on_image)
        uncond = self.conditioning(image_embedding, text, drop_image=True, drop_text=True)
        # z_i without the caption: the step between nothing and everything that guides each on its own.
        split = c.caption_guidance_scale is not None
        middle = self.conditioning(image_embedding, text, drop_text=True) if split else None
        return self.diffusion.denoiser(
            self.network, cond, uncond, scale, middle=middle, middle_scale=c.caption_guidance_scale if split else 1.0,
            interval=c.guidance_interval, threshold=c.dynamic_threshold,
        )

    # ---- the Decoder interface ----------------------------------------------------------
    def loss(self, images: Tensor, image_embedding: Tensor, text: TextEncoding) -> Tensor:
        batch, device = images.shape[0], images.device
        cond = self.conditioning(
            image_embedding, text,
            drop_image=torch.rand(batch, device=device) < self.config.image_dropout,
            drop_text=torch.rand(batch, device=device) < self.config.text_dropout,
        )
        return self.diffusion.loss(self.network, images, cond)

    @torch.no_grad()
    def sample(
        self,
        image_embedding: Tensor,
        text: TextEncoding,
        *,
        generator: Generator | None = None,
        guidance_scale: float | None = None,
        noise: Tensor | None = None,
        mask: Tensor | None = None,
        known: Tensor | None = None,
        sampler: Sampler | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor:
        shape = (image_embedding.shape[0], 3, self.image_size, self.image_size)
        check_inpainting(mask, known, shape)
        sampler = sampler or self.sampler
        self.check_sampler(sampler)
        x = start_noise(shape, self.null_image, noise, generator)
        denoise = self.denoiser(image_embedding, text, guidance_scale)
        return sampler.sample(
            denoise, x, self.diffusion.schedule, generator=generator, callback=callback, mask=mask, known=known
        )

    @torch.no_grad()
    def invert(
        self,
        images: Tensor,
        image_embedding: Tensor,
        text: TextEncoding,
        *,
        guidance_scale: float = 1.0,
        sampler: Sampler | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor:
        """DDIM inversion; sample the result back with the same guidance_scale (default: none)."""
        denoise = self.denoiser(image_embedding, text, guidance_scale)
        x0 = images.to(self.null_image.dtype)
        return invert_with(sampler or self.sampler, denoise, x0, self.diffusion.schedule, callback)
