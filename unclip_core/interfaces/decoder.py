"""The decoder: P(x | z_i, caption), a diffusion model from CLIP image embedding to image."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from torch import Generator, Tensor, nn

from .component import Component
from .sampler import Sampler, StepCallback
from .sampling_stage import SamplingStage
from .values import TextEncoding


class Decoder(Component, SamplingStage, nn.Module, ABC):
    """Generates base-resolution images from z_i (and optionally the caption).

    Built as `cls(config, spec=encoder.spec, sampler=...)`. Images are (B, 3, S, S) in [-1, 1].
    """

    kind: ClassVar[str] = "decoder"

    @property
    @abstractmethod
    def image_size(self) -> int:
        """Side of the square images this decoder generates."""

    @abstractmethod
    def loss(self, images: Tensor, image_embedding: Tensor, text: TextEncoding) -> Tensor:
        """Training loss (a scalar), including conditioning dropout for guidance."""

    @abstractmethod
    def sample(
        self,
        image_embedding: Tensor,
        text: TextEncoding,
        *,
        generator: Generator | None = None,
        guidance_scale: float | None = None,
        noise: Tensor | None = None,
        mask: Tensor | None = None,
        known: Tensor | None = None,
        sampler: Sampler | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor:
        """Images for the embeddings. `noise` fixes x_T; `mask`/`known` inpaint.

        `sampler` replaces the configured sampler for this call only, changing nothing on the
        decoder (so concurrent calls may differ); it must work on the decoder's own noise
        schedule, as every registered sampler does. `callback` is called once per network
        evaluation.
        """

    @abstractmethod
    def invert(
        self,
        images: Tensor,
        image_embedding: Tensor,
        text: TextEncoding,
        *,
        guidance_scale: float = 1.0,
        sampler: Sampler | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor:
        """The x_T that deterministic sampling turns back into `images` (DDIM inversion), at the
        step count of `sampler` (default: the configured one)."""
