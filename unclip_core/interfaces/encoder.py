"""The encoder: a CLIP model that embeds captions and images into one space."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from torch import Tensor, nn

from .component import Component, ComponentConfig
from .values import EncoderSpec, TextEncoding


class Encoder(Component, nn.Module, ABC):
    """Embeds captions (z_t and per-token encodings) and images (z_i) into CLIP space.

    Images are float tensors (B, 3, H, W) in [-1, 1]; the encoder resizes and normalizes them
    the way its image tower expects. Every returned embedding is L2-normalized.
    """

    kind: ClassVar[str] = "encoder"

    @property
    @abstractmethod
    def spec(self) -> EncoderSpec:
        """Dimensions of what this encoder produces."""

    @abstractmethod
    def tokenize(self, texts: Sequence[str]) -> Tensor:
        """Captions -> (B, context_length) integer tokens (on the CPU)."""

    @abstractmethod
    def encode_text(self, tokens: Tensor) -> TextEncoding:
        """Tokens -> normalized z_t, per-token encodings and their padding mask."""

    @abstractmethod
    def encode_image(self, images: Tensor) -> Tensor:
        """Images in [-1, 1] -> (B, embed_dim) normalized z_i."""

    @property
    @abstractmethod
    def logit_scale(self) -> Tensor:
        """The learned temperature of contrastive training (already exponentiated)."""

    @classmethod
    def is_pretrained(cls, config: ComponentConfig) -> bool:
        """Whether `config` brings trained weights of its own (so a recipe need not train CLIP).

        An encoder that always starts from random weights keeps the default, False.
        """
        return False

    @classmethod
    def config_for_saved_weights(cls, config: ComponentConfig) -> ComponentConfig:
        """The config to build this encoder with when a pipeline folder supplies its weights.

        A folder's own `encoder.safetensors` replaces whatever the config would load, so an
        encoder that reads weights at construction (a path, a download) drops that source here.
        """
        return config

    def embed_texts(self, texts: Sequence[str]) -> TextEncoding:
        """Tokenize and encode on the encoder's device in one call."""
        device = next(self.parameters()).device
        return self.encode_text(self.tokenize(texts).to(device))
