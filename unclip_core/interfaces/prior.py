"""The prior: P(z_i | caption), a caption's CLIP text encoding to a CLIP image embedding."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from torch import Generator, Tensor, nn

from .component import Component
from .sampler import Sampler, StepCallback
from .sampling_stage import SamplingStage
from .values import TextEncoding


class Prior(Component, SamplingStage, nn.Module, ABC):
    """Maps encoded captions to CLIP image embeddings.

    Built as `cls(config, spec=encoder.spec, sampler=...)`; `sampler` is given to priors whose
    `nested` names one. A prior with nothing to learn sets `trainable = False`.
    """

    kind: ClassVar[str] = "prior"
    trainable: ClassVar[bool] = True

    @abstractmethod
    def loss(self, image_embedding: Tensor, text: TextEncoding) -> Tensor:
        """Training loss (a scalar) for true pairs (z_i, caption)."""

    @abstractmethod
    def sample(
        self,
        text: TextEncoding,
        *,
        generator: Generator | None = None,
        guidance_scale: float | None = None,
        sampler: Sampler | None = None,
        callback: StepCallback | None = None,
    ) -> Tensor:
        """(B, embed_dim) normalized image embeddings for the captions.

        `sampler` replaces the configured one for this call only (nothing is changed on the
        prior, so concurrent calls may use different samplers); `callback` is called once per
        network evaluation of the sampler. A prior that does not sample by diffusion refuses a
        `sampler` with an InputError (see `refuse_sampler`) and never calls `callback`.
        """

    def refuse_sampler(self, sampler: Sampler | None) -> None:
        """For priors without a diffusion sampler: a per-call sampler is an input error."""
        if sampler is not None:
            from ..errors import InputError

            raise InputError(f"prior '{self.name}' does not sample by diffusion, so it takes no sampler")

    def fit_statistics(self, image_embeddings: Tensor, text_embeddings: Tensor) -> None:
        """Called once before training with (N, embed_dim) training z_i and their captions' z_t.

        For statistics kept as buffers (normalization, PCA, bins), so they save with the weights.
        """
