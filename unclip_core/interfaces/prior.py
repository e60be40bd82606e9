"""The prior: P(z_i | caption), a caption's CLIP text encoding to a CLIP image embedding."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from torch import Generator, Tensor, nn

from .component import Component
from .values import TextEncoding


class Prior(Component, nn.Module, ABC):
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
    ) -> Tensor:
        """(B, embed_dim) normalized image embeddings for the captions."""

    def fit_statistics(self, image_embeddings: Tensor, text_embeddings: Tensor) -> None:
        """Called once before training with (N, embed_dim) training z_i and their captions' z_t.

        For statistics kept as buffers (normalization, PCA, bins), so they save with the weights.
        """
