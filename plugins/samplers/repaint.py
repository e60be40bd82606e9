"""RePaint resampling (Lugmayr et al. 2022) as a sampler: DDIM steps with jumps back up.

Without a mask it is an ordinary (slower) sampler; with `mask`/`known` the jumps let the
generated region harmonize with the kept one. The step is DDIM's, and eta=1 (the default)
is exactly DDPM's posterior step, as in the paper.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from torch import Generator, Tensor

from unclip_core.diffusion import NoiseSchedule, Spacing, resampling_loop
from unclip_core.diffusion.resample import evaluations
from unclip_core.interfaces import Denoiser, Sampler, SamplerConfig, StepCallback

from .ddim import ddim_step


def sample_repaint(
    denoise: Denoiser,
    x: Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    spacing: Spacing = "linspace",
    resample: int = 5,
    jump: int = 5,
    eta: float = 1.0,
    generator: Generator | None = None,
    callback: StepCallback | None = None,
    mask: Tensor | None = None,
    known: Tensor | None = None,
) -> Tensor:
    return resampling_loop(
        ddim_step(schedule, eta, generator), denoise, x, schedule, steps=steps, resample=resample, jump=jump, spacing=spacing,
        generator=generator, callback=callback, mask=mask, known=known,
    )


class RePaintConfig(SamplerConfig):
    steps: int = Field(50, ge=1, description="Spaced timesteps walked down (before resampling).")
    resample: int = Field(5, ge=1, description="Times each stretch of `jump` steps is walked; 1 is no resampling.")
    jump: int = Field(5, ge=1, description="Steps re-noised and walked again per resampling jump.")
    eta: float = Field(1.0, ge=0.0, description="DDIM eta of each step; 1 is DDPM's posterior.")


class RePaintSampler(Sampler):
    """RePaint: jump back and re-denoise, so inpainted regions harmonize with the kept pixels."""

    name: ClassVar[str] = "repaint"
    Config: ClassVar[type[RePaintConfig]] = RePaintConfig

    function = staticmethod(sample_repaint)

    @property
    def evaluations(self) -> int:
        return evaluations(self.config.steps, self.config.resample, self.config.jump)
