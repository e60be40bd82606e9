"""A cascade stage: a UNet that generates a to_size image given a from_size one.

The low-resolution image is upsampled (bicubic) to to_size and concatenated to x_t as three
extra input channels. No caption conditioning and, by default, no attention (paper, 2.1).
"""

from __future__ import annotations

from typing import ClassVar

from collections.abc import Mapping

import torch
from pydantic import Field, model_validator
from torch import Generator, Tensor

from unclip_core.diffusion import check_inpainting
from unclip_core.errors import InputError
from unclip_core.images import resize
from unclip_core.interfaces import Denoiser, Sampler, StepCallback, Upsampler

from .blocks import TimestepMLP
from .degradations import BSRConfig, Degradation, degrade
from .diffusion import UNetConfig, invert_with, make_diffusion, noised, start_noise
from .unet import UNet


class UNetUpsamplerConfig(UNetConfig):
    from_size: int = Field(64, ge=4)
    to_size: int = Field(256, ge=8)
    channel_mults: list[int] = Field([1, 2, 4], min_length=1)
    num_res_blocks: int = Field(2, ge=1)
    attention_resolutions: list[int] = Field([], description="None by default: upsamplers see local detail only.")
    dropout: float = Field(0.0, ge=0, lt=1)
    degradation: Degradation = Field("gaussian_blur", description="Training corruption of the conditioning image.")
    blur_sigma: tuple[float, float] = Field((0.4, 0.6), description="gaussian_blur sigma range, in low-res pixels.")
    bsr: BSRConfig = BSRConfig()
    noise_level_max: float = Field(
        0.0, ge=0, lt=1, description="Noise augmentation: train on conditioning noised to up to this fraction of the schedule; 0 is off."
    )
    sample_noise_level: float = Field(0.0, ge=0, lt=1, description="Fixed augmentation level used at sampling.")
    start_level: float = Field(
        1.0, gt=0, le=1,
        description=(
            "Where sampling starts, as a fraction of the schedule: 1 is pure noise; below 1, the "
            "low-res image upscaled and noised to that level (SDEdit, CCDF), and the sampler's "
            "steps span only the rest of the schedule."
        ),
    )
    train_crop: int | None = Field(
        None, ge=8,
        description="Train on random crops of this side (paper: a quarter of the target's area); null trains on whole images.",
    )

    @model_validator(mode="after")
    def _check(self) -> UNetUpsamplerConfig:
        if self.to_size <= self.from_size:
            raise ValueError(f"to_size ({self.to_size}) must be larger than from_size ({self.from_size})")
        if self.train_crop is not None:
            if self.train_crop >= self.to_size:
                raise ValueError(f"train_crop ({self.train_crop}) must be smaller than to_size ({self.to_size}), or null")
            if self.attention_resolutions:
                raise ValueError("train_crop needs a fully convolutional UNet: set attention_resolutions: []")
            levels = 2 ** (len(self.channel_mults) - 1)
            if self.train_crop % levels:
                raise ValueError(f"train_crop ({self.train_crop}) must be a multiple of {levels} for {len(self.channel_mults)} UNet levels")
        if self.sample_noise_level > 0 and self.noise_level_max == 0:
            raise ValueError("sample_noise_level needs noise augmentation in training: set noise_level_max > 0")
        return self


def random_crops(batches: tuple[Tensor, ...], size: int, generator: Generator | None = None) -> tuple[Tensor, ...]:
    """The same random size x size window of each image, taken from every tensor in `batches` (B, C, H, W)."""
    first = batches[0]
    n, height, width = first.shape[0], first.shape[-2], first.shape[-1]
    top = torch.randint(0, height - size + 1, (n, 1), device=first.device, generator=generator)
    left = torch.randint(0, width - size + 1, (n, 1), device=first.device, generator=generator)
    span = torch.arange(size, device=first.device)
    rows = (top + span)[:, :, None]
    cols = (left + span)[:, None, :]
    index = torch.arange(n, device=first.device)[:, None, None]
    # Advanced indexing puts the gathered (n, size, size) dims first: move channels back.
    return tuple(batch.permute(0, 2, 3, 1)[index, rows, cols].permute(0, 3, 1, 2) for batch in batches)


class UNetUpsampler(Upsampler):
    """Diffusion upsampler conditioned on the bicubic-upsampled low-res image, with training degradations."""

    name: ClassVar[str] = "unet_upsampler"
    sampling_fields: ClassVar[frozenset[str]] = frozenset({"sample_noise_level", "start_level"})
    Config: ClassVar[type[UNetUpsamplerConfig]] = UNetUpsamplerConfig
    nested: ClassVar[dict[str, str]] = {"sampler": "sampler"}

    def __init__(self, config: UNetUpsamplerConfig, *, sampler: Sampler) -> None:
        super().__init__()
        self.config = config
        self.sampler = sampler
        self.diffusion = make_diffusion(config)
        emb_dim = 4 * config.channels
        self.time_embed = TimestepMLP(config.channels, emb_dim)
        self.augmented = config.noise_level_max > 0
        self.level_embed = TimestepMLP(config.channels, emb_dim) if self.augmented else None
        self.unet = UNet(
            image_size=config.to_size, in_channels=6, out_channels=3, channels=config.channels,
            channel_mults=config.channel_mults, num_res_blocks=config.num_res_blocks,
            attention_resolutions=config.attention_resolutions, dropout=config.dropout, emb_dim=emb_dim,
            head_channels=config.head_channels, resblock_updown=config.resblock_updown,
        )

    @property
    def from_size(self) -> int:
        return self.config.from_size

    @property
    def to_size(self) -> int:
        return self.config.to_size

    # ---- conditioning -------------------------------------------------------------------
    def condition(self, low_res: Tensor, level: Tensor | None, generator: Generator | None = None) -> Tensor:
        """The conditioning channels: low_res (noised to `level` when augmenting), bicubic to to_size."""
        if level is not None:
            low_res = noised(low_res, level, self.diffusion.schedule, generator)
        return resize(low_res, self.to_size)

    def conditioning(self, low_res: Tensor, level: Tensor | None, generator: Generator | None = None) -> dict[str, Tensor]:
        """The network's conditioning dict; `level` only when noise augmentation is on."""
        cond = {"low_res": self.condition(low_res, level, generator)}
        if level is not None:
            cond["level"] = level
        return cond

    def network(self, x: Tensor, t: Tensor, cond: Mapping[str, Tensor]) -> Tensor:
        emb = self.time_embed(t)
        if self.level_embed is not None:
            emb = emb + self.level_embed(cond["level"])
        return self.unet(torch.cat([x, cond["low_res"].to(x.dtype)], dim=1), emb)

    def downsample(self, images: Tensor) -> Tensor:
        return resize(images, self.from_size)

    def _level_index(self, fraction: float) -> int:
        return round(fraction * (self.diffusion.schedule.num_timesteps - 1))

    # ---- the Upsampler interface --------------------------------------------------------
    def loss(self, images: Tensor, generator: Generator | None = None) -> Tensor:
        low = degrade(
            self.downsample(images), self.config.degradation,
            blur_sigma=self.config.blur_sigma, bsr_config=self.config.bsr, generator=generator,
        )
        level = None
        if self.augmented:
            top = self._level_index(self.config.noise_level_max)
            level = torch.randint(0, top + 1, (images.shape[0],), device=images.device, generator=generator)
        cond = self.conditioning(low, level, generator)
        if self.config.train_crop is not None:
            # The conditioning is built from the whole image first, so a crop sees exactly the
            # bicubic borders it sees at sampling; a convolutional UNet then learns the same map
            # from a quarter of the pixels.
            images, cond["low_res"] = random_crops((images, cond["low_res"]), self.config.train_crop, generator)
        return self.diffusion.loss(self.network, images, cond, generator)

    def denoiser(self, low_res: Tensor, generator: Generator | None = None) -> Denoiser:
        if low_res.shape[-1] != self.from_size or low_res.shape[-2] != self.from_size:
            raise InputError(
                f"upsampler {self.from_size}->{self.to_size} got {tuple(low_res.shape[-2:])} images; "
                f"give it {self.from_size}x{self.from_size} images"
            )
        low_res = low_res.to(self.time_embed.mlp[0].weight.dtype)
        level = None
        if self.augmented:
            level = torch.full((low_res.shape[0],), self._level_index(self.config.sample_noise_level), device=low_res.device)
        return self.diffusion.denoiser(self.network, self.conditioning(low_res, level, generator))

    @property
    def num_timesteps(self) -> int:
        return self.diffusion.schedule.num_timesteps

    def check_sampler(self, sampler: Sampler) -> None:
        if self.config.start_level < 1:
            start = self._level_index(self.config.start_level)
            if sampler.steps > start + 1:
                raise InputError(
                    f"upsampler start_level {self.config.start_level} leaves {start + 1} timesteps for "
                    f"{sampler.steps} sampler steps; raise start_level or lower the steps"
                )
        super().check_sampler(sampler)

    @torch.no_grad()
    def sample(
        self,
        low_res: Tensor,
        *,
        generator: Generator | None = None,
        noise: Tensor | None = None,
        mask: Tensor | None = None,
        known: Tensor | None = None,
        sampler: Sampler | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor:
        shape = (low_res.shape[0], 3, self.to_size, self.to_size)
        check_inpainting(mask, known, shape)
        sampler = sampler or self.sampler
        self.check_sampler(sampler)
        denoise = self.denoiser(low_res, generator)
        x = start_noise(shape, low_res, noise, generator)
        schedule = self.diffusion.schedule
        if self.config.start_level < 1:
            # Start part-way down the schedule from the upscaled input: the low-res image already
            # fixes colours and layout, so the steps go to the detail it lacks.
            start = self._level_index(self.config.start_level)
            upscaled = resize(low_res.to(x.dtype), self.to_size)
            x = schedule.add_noise(upscaled, torch.full((shape[0],), start, device=x.device), x)
            schedule = schedule.head(start + 1)
        return sampler.sample(denoise, x, schedule, generator=generator, callback=callback, mask=mask, known=known)

    @torch.no_grad()
    def invert(
        self, images: Tensor, low_res: Tensor, *, sampler: Sampler | None = None, callback: StepCallback | None = None
    ) -> Tensor:
        """DDIM inversion of to_size `images` given their conditioning image."""
        denoise = self.denoiser(low_res)
        return invert_with(sampler or self.sampler, denoise, images.to(low_res.dtype), self.diffusion.schedule, callback)
