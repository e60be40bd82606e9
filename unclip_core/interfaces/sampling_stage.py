"""What the pipeline's sampling stages share: the prior, the decoder and every upsampler."""

from __future__ import annotations

from .sampler import Sampler


class SamplingStage:
    """Mixin of the interfaces whose components sample with a sampler chosen by the graph (or a call)."""

    # The configured sampler (the graph's nested `sampler:`), used when a call names none; None
    # for a component that does not sample by diffusion.
    sampler: Sampler | None = None

    def check_sampler(self, sampler: Sampler) -> None:
        """Raise InputError, naming the fix, if this component cannot sample with `sampler`: more
        steps than its noise schedule leaves to visit, say. `sample` refuses the same samplers;
        a pipeline asks every stage before the first one runs, so a call that a later stage
        would refuse is refused before any work is done. The default accepts every sampler.
        """
