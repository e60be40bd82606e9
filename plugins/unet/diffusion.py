"""What the UNet decoder and upsamplers share: settings, the training loss, sampling and inversion."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import Generator, Tensor

from unclip_core.diffusion import GaussianDiffusion, NoiseSchedule, ScheduleKind, ddim_invert, randn_like
from unclip_core.errors import InputError
from unclip_core.interfaces import ComponentConfig, Denoiser, Sampler, StepCallback


class UNetConfig(ComponentConfig):
    """UNet and diffusion settings common to the decoder and the upsamplers."""

    channels: int = Field(128, ge=8, description="Width of the first level.")
    channel_mults: list[int] = Field([1, 2, 3, 4], min_length=1, description="Width multiplier per resolution level.")
    num_res_blocks: int = Field(2, ge=1)
    attention_resolutions: list[int] = Field([16, 8], description="Feature-map sides with attention blocks.")
    head_channels: int = Field(32, ge=1, description="Channels per attention head.")
    resblock_updown: bool = Field(
        False, description="Resample between levels with residual blocks (GLIDE's) instead of single convolutions."
    )
    dropout: float = Field(0.1, ge=0, lt=1)
    timesteps: int = Field(1000, ge=2)
    schedule: ScheduleKind = "cosine"
    # Fixed variances only: learned variances (GLIDE's hybrid loss) are a known source of NaNs.
    # v by default: the cosine schedule ends at alpha_T^2 ~ 2e-9, where x0 = (x - sigma eps) / alpha
    # amplifies any eps error ~20,000-fold, so an eps model's first few-step sampler jump is noise.
    prediction: Literal["eps", "v"] = Field(
        "v", description="Network output: v (x0 stays well defined at the noisiest step) or eps."
    )
    min_snr_gamma: float | None = Field(
        None, gt=0, description="Weight the training loss by min-SNR-gamma (5 is the usual gamma); null: plain MSE."
    )


def make_diffusion(config: UNetConfig) -> GaussianDiffusion:
    """The network's schedule, prediction and loss weighting; x0 clipped to the image range [-1, 1]."""
    return GaussianDiffusion.make(
        config.schedule, config.timesteps, config.prediction, clip=1.0, min_snr_gamma=config.min_snr_gamma
    )


def start_noise(shape: tuple[int, ...], like: Tensor, noise: Tensor | None, generator: Generator | None) -> Tensor:
    """x_T: the given `noise` (checked) or a fresh draw from `generator`."""
    if noise is None:
        return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)
    if tuple(noise.shape) != tuple(shape):
        raise InputError(f"noise has shape {tuple(noise.shape)} but this model samples {tuple(shape)}")
    return noise.to(like.device, like.dtype)


def invert_with(
    sampler: Sampler, denoise: Denoiser, x0: Tensor, schedule: NoiseSchedule, callback: StepCallback | None
) -> Tensor:
    """The sampler's own inversion when it has one, else deterministic DDIM on its timesteps."""
    if sampler.supports_inversion:
        return sampler.invert(denoise, x0, schedule, callback=callback)
    spacing = getattr(sampler.config, "spacing", "linspace")
    return ddim_invert(denoise, x0, schedule, steps=sampler.steps, callback=callback, spacing=spacing)


def noised(x: Tensor, level: Tensor, schedule: NoiseSchedule, generator: Generator | None) -> Tensor:
    """x diffused to integer timesteps `level` (B,): conditioning-noise augmentation."""
    return schedule.add_noise(x, level, randn_like(x, generator))
