"""DDPM ancestral sampling (Ho et al. 2020) on any subsequence of the training timesteps."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from torch import Generator, Tensor

from unclip_core.diffusion import NoiseSchedule, Spacing, randn_like, sampling_loop
from unclip_core.interfaces import Denoiser, Sampler, SamplerConfig, StepCallback


def ddpm_step(schedule: NoiseSchedule, generator: Generator | None):
    """Draw x_s from the Gaussian posterior q(x_s | x_t, x0)."""

    def step(evaluate, x: Tensor, x0: Tensor, t: Tensor, s: Tensor, history) -> Tensor:
        abar_t, abar_s = schedule.alpha(t, x) ** 2, schedule.alpha(s, x) ** 2
        beta = 1 - abar_t / abar_s  # the noise added going from s to t
        mean = (abar_s.sqrt() * beta * x0 + (abar_t / abar_s).sqrt() * (1 - abar_s) * x) / (1 - abar_t)
        variance = beta * (1 - abar_s) / (1 - abar_t)
        return mean + variance.sqrt() * randn_like(x, generator)

    return step


def sample_ddpm(
    denoise: Denoiser,
    x: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    spacing: Spacing = "linspace",
    generator: Generator | None = None,
    callback: StepCallback | None = None,
    mask: Tensor | None = None,
    known: Tensor | None = None,
) -> Tensor:
    return sampling_loop(
        ddpm_step(schedule, generator), denoise, x, schedule,
        steps=steps, spacing=spacing, generator=generator, callback=callback, mask=mask, known=known,
    )


class DDPMConfig(SamplerConfig):
    steps: int = Field(1000, ge=1, description="Denoiser evaluations; the training length is exact DDPM.")


class DDPMSampler(Sampler):
    """Ancestral DDPM sampling; slow but the reference every faster sampler is checked against."""

    name: ClassVar[str] = "ddpm"
    Config: ClassVar[type[DDPMConfig]] = DDPMConfig
    function = staticmethod(sample_ddpm)

