"""DDIM (Song et al. 2021): eta=0 is a deterministic ODE solver and can be inverted."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from torch import Generator, Tensor

from unclip_core.diffusion import NoiseSchedule, eps_from_x0, randn_like, sampling_loop
from unclip_core.interfaces import Denoiser, Sampler, SamplerConfig, StepCallback


def ddim_step(schedule: NoiseSchedule, eta: float, generator: Generator | None):
    def step(x: Tensor, x0: Tensor, t: Tensor, s: Tensor, previous=None) -> Tensor:
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
    eta: float = 0.0,
    generator: Generator | None = None,
    callback: StepCallback | None = None,
    mask: Tensor | None = None,
    known: Tensor | None = None,
) -> Tensor:
    return sampling_loop(
        ddim_step(schedule, eta, generator), denoise, x, schedule,
        steps=steps, generator=generator, callback=callback, mask=mask, known=known,
    )


def invert_ddim(
    denoise: Denoiser,
    x0: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    callback: StepCallback | None = None,
) -> Tensor:
    """Run the eta=0 update backwards, from data at timestep 0 up to the last timestep."""
    timesteps = schedule.spaced(steps, x0.device).flip(0)
    batch = x0.shape[0]
    x = x0
    for i, (s, t) in enumerate(zip(timesteps[:-1], timesteps[1:])):
        s_batch, t_batch = s.expand(batch), t.expand(batch)
        alpha_s, sigma_s = schedule.alpha(s_batch, x), schedule.sigma(s_batch, x)
        predicted = denoise(x, s_batch)
        if callback is not None:
            callback(i, x, predicted)
        eps = eps_from_x0(predicted, x, alpha_s, sigma_s)
        x = schedule.alpha(t_batch, x) * predicted + schedule.sigma(t_batch, x) * eps
    return x


class DDIMConfig(SamplerConfig):
    eta: float = Field(0.0, ge=0.0, description="0: deterministic; 1: as stochastic as DDPM.")


class DDIMSampler(Sampler):
    """DDIM with eta; eta=0 is deterministic and supports inversion."""

    name: ClassVar[str] = "ddim"
    Config: ClassVar[type[DDIMConfig]] = DDIMConfig
    supports_inversion: ClassVar[bool] = True
    function = staticmethod(sample_ddim)

    def invert(self, denoise, x0, schedule, *, callback=None):
        return invert_ddim(denoise, x0, schedule, steps=self.config.steps, callback=callback)
