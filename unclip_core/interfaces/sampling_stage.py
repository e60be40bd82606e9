"""What the pipeline's sampling stages share: the prior, the decoder and every upsampler."""

from __future__ import annotations

from typing import ClassVar

from ..errors import InputError
from .sampler import Sampler


class SamplingStage:
    """Mixin of the interfaces whose components sample with a sampler chosen by the graph (or a call)."""

    kind: ClassVar[str]  # set by the interface (Component declares it)
    # The configured sampler (the graph's nested `sampler:`), used when a call names none; None
    # for a component that does not sample by diffusion.
    sampler: Sampler | None = None

    @property
    def num_timesteps(self) -> int | None:
        """How many timesteps its noise schedule has: no sampler may take more steps (editing
        also sizes its DDIM by the decoder's). None where it does not sample by diffusion (or
        does not say)."""
        return None

    def check_sampler(self, sampler: Sampler) -> None:
        """Raise InputError, naming the fix, if this component cannot sample with `sampler`: more
        steps than its noise schedule leaves to visit, say. `sample` refuses the same samplers;
        a pipeline asks every stage before the first one runs, so a call that a later stage
        would refuse is refused before any work is done. The default refuses a sampler of more
        steps than `num_timesteps`, where the component states it, and accepts every other.
        """
        if self.num_timesteps is not None and sampler.steps > self.num_timesteps:
            raise InputError(
                f"the {self.kind}'s sampler asks for {sampler.steps} steps but its schedule has only "
                f"{self.num_timesteps} timesteps; lower the {self.kind}'s steps"
            )
