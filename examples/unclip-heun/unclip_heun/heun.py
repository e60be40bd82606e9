"""Heun's method on the probability-flow ODE, in the variance-exploding form x / alpha."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from torch import Generator, Tensor

from unclip_core.diffusion import Denoiser, NoiseSchedule, Spacing, sampling_loop
from unclip_core.interfaces import Sampler, SamplerConfig, StepCallback


def heun_step(schedule: NoiseSchedule):
    """An Euler step (equal to DDIM with eta=0) corrected by the slope at its end point.

    The first step stays Euler: from pure noise it spans most of the noise range (sigma from
    ~10^4 down to ~1 on the cosine schedule), where averaging two slopes is unstable. The end
    point's slope costs one more network evaluation, made through the loop's `evaluate` so it is
    reported to the callback and sees the inpainting mask like every other.
    """

    def step(evaluate, x: Tensor, x0: Tensor, t: Tensor, s: Tensor, history) -> Tensor:
        alpha_t, alpha_s = schedule.alpha(t, x), schedule.alpha(s, x)
        sigma_t = schedule.sigma(t, x) / alpha_t  # noise level of x / alpha
        sigma_s = schedule.sigma(s, x) / alpha_s
        scaled = x / alpha_t
        slope = (scaled - x0) / sigma_t
        euler = scaled + (sigma_s - sigma_t) * slope
        if not history:
            return alpha_s * euler
        at_end, x0_end = evaluate(alpha_s * euler, s)
        slope_end = (at_end / alpha_s - x0_end) / sigma_s
        return alpha_s * (scaled + (sigma_s - sigma_t) * (slope + slope_end) / 2)

    return step


def sample_heun(
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
        heun_step(schedule), denoise, x, schedule,
        steps=steps, spacing=spacing, generator=generator, callback=callback, mask=mask, known=known,
    )


class HeunConfig(SamplerConfig):
    steps: int = Field(12, ge=1, description="Solver steps; each but the last costs two evaluations.")


class HeunSampler(Sampler):
    """Heun's 2nd-order ODE solver (Karras et al. 2022); deterministic."""

    name: ClassVar[str] = "heun"
    Config: ClassVar[type[HeunConfig]] = HeunConfig
    function = staticmethod(sample_heun)

    @property
    def evaluations(self) -> int:
        # One per visited timestep, plus a corrector for every interval but the first.
        return self.config.steps + max(self.config.steps - 2, 0)
