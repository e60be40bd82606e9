"""The sampler: turns noise into data given a denoiser, on a noise schedule."""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable
from typing import ClassVar

from pydantic import Field
from torch import Generator, Tensor

from ..diffusion.denoiser import Denoiser, StepCallback
from ..diffusion.schedule import NoiseSchedule
from ..diffusion.spacing import Spacing
from .component import Component, ComponentConfig


class SamplerConfig(ComponentConfig):
    steps: int = Field(50, ge=1, description="Timesteps visited; for most samplers, the number of denoiser evaluations.")
    spacing: Spacing = Field(
        "linspace",
        description="How the visited timesteps spread over the schedule: linspace, leading, trailing, karras or log_snr.",
    )


class Sampler(Component, ABC):
    """Draws x0 from a diffusion model given its denoiser.

    `mask` and `known` (both shaped like x) turn any sampler into an inpainter: where mask is 1
    the sampler generates, where it is 0 it keeps `known`, noised to the current timestep.
    """

    kind: ClassVar[str] = "sampler"
    Config: ClassVar[type[SamplerConfig]] = SamplerConfig
    supports_inversion: ClassVar[bool] = False
    # The sampling function, k-diffusion style: function(denoise, x, schedule, *, <config fields>,
    # generator, callback, mask, known) -> x0. Set it, or override `sample` instead. Build it on
    # `sampling_loop` (or call `evaluator`) so the callback fires once per network evaluation.
    function: ClassVar[Callable[..., Tensor]]

    def __init__(self, config: SamplerConfig) -> None:
        self.config = config

    @property
    def steps(self) -> int:
        return self.config.steps

    @property
    def evaluations(self) -> int:
        """How many network evaluations (and callbacks) one `sample` call makes with this config:
        what progress bars count. Samplers that evaluate more or less than once per visited
        timestep override it.
        """
        return self.config.steps

    def sample(
        self,
        denoise: Denoiser,
        x: Tensor,
        schedule: NoiseSchedule,
        *,
        generator: Generator | None = None,
        callback: StepCallback | None = None,
        mask: Tensor | None = None,
        known: Tensor | None = None,
    ) -> Tensor:
        """Start from pure noise x at the last timestep and return the sample x0."""
        return type(self).function(
            denoise, x, schedule, **self.config.model_dump(),
            generator=generator, callback=callback, mask=mask, known=known,
        )

    def invert(
        self,
        denoise: Denoiser,
        x0: Tensor,
        schedule: NoiseSchedule,
        *,
        callback: StepCallback | None = None,
    ) -> Tensor:
        """Map data x0 to the noise x_T that this sampler would turn back into x0."""
        from ..plugins import get_registry  # imported here: the registry imports the interfaces

        registry = get_registry()
        inverting = [name for name in registry.names(self.kind) if registry.get(self.kind, name).supports_inversion]
        raise NotImplementedError(
            f"sampler '{self.name}' cannot invert; operations that need inversion want a deterministic "
            f"sampler that can: {', '.join(inverting) or 'none is registered'}"
        )
