"""DDIM (Song et al. 2021): eta=0 is a deterministic ODE solver and can be inverted."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from torch import Generator, Tensor

from unclip_core.diffusion import NoiseSchedule, Spacing, ddim_invert, eps_from_x0, randn_like, sampling_loop
from unclip_core.interfaces import Denoiser, Sampler, SamplerConfig, StepCallback


def ddim_step(schedule: NoiseSchedule, eta: float, generator: Generator | None):
    def step(evaluate, x: Tensor, x0: Tensor, t: Tensor, s: Tensor, history) -> Tensor:
        abar_t, abar_s = schedule.alpha(t, x) ** 2, schedule.alpha(s, x) ** 2
        eps = eps_from_x0(x0, x, abar_t.sqrt(), (1 - abar_t).sqrt())
        noise_std = eta * ((1 - abar_s) / (1 - abar_t) * (1 - abar_t / abar_s)).sqrt()
        x_s = abar_s.sqrt() * x0 + (1 - abar_s - noise_std**2).clamp(min=0).sqrt() * eps
        return x_s + noise_std * randn_like(x, generator) if eta > 0 else x_s

    return step


def sample_ddim(
    denoise: Denoiser,
    x: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    spacing: Spacing = "trailing",
    eta: float = 0.0,
    generator: Generator | None = None,
    callback: StepCallback | None = None,
    mask: Tensor | None = None,
    known: Tensor | None = None,
) -> Tensor:
    return sampling_loop(
        ddim_step(schedule, eta, generator), denoise, x, schedule, steps=steps, spacing=spacing,
        generator=generator, callback=callback, mask=mask, known=known,
    )


class DDIMConfig(SamplerConfig):
    spacing: Spacing = Field("trailing", description="Timestep spacing; trailing measures best for DDIM (docs/samplers.md).")
    eta: float = Field(0.0, ge=0.0, description="0: deterministic; 1: as stochastic as DDPM.")


class DDIMSampler(Sampler):
    """DDIM with eta; eta=0 is deterministic and supports inversion."""

    name: ClassVar[str] = "ddim"
    Config: ClassVar[type[DDIMConfig]] = DDIMConfig
    supports_inversion: ClassVar[bool] = True
    function = staticmethod(sample_ddim)

    def invert(self, denoise, x0, schedule, *, callback=None):
        return ddim_invert(denoise, x0, schedule, steps=self.config.steps, spacing=self.config.spacing, callback=callback)
