"""The upsampler: one stage of the diffusion cascade that raises resolution."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from torch import Generator, Tensor, nn

from .component import Component
from .sampler import Sampler, StepCallback
from .sampling_stage import SamplingStage


class Upsampler(Component, SamplingStage, nn.Module, ABC):
    """Generates a `to_size` image conditioned on a `from_size` image.

    Built as `cls(config, sampler=...)`. Images are (B, 3, S, S) in [-1, 1].
    """

    kind: ClassVar[str] = "upsampler"

    @property
    @abstractmethod
    def from_size(self) -> int: ...

    @property
    @abstractmethod
    def to_size(self) -> int: ...

    @abstractmethod
    def loss(self, images: Tensor) -> Tensor:
        """Training loss on full-resolution images; the stage degrades them itself."""

    @abstractmethod
    def sample(
        self,
        low_res: Tensor,
        *,
        generator: Generator | None = None,
        sampler: Sampler | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor:
        """Upsample `low_res` (B, 3, from_size, from_size) to (B, 3, to_size, to_size).

        `sampler` replaces the configured one for this call only; `callback` is called once
        per network evaluation.
        """
