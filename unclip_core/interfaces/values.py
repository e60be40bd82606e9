"""Small typed values passed between components."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class EncoderSpec:
    """The dimensions an encoder produces; priors and decoders are built against them."""

    embed_dim: int  # width of z_t and z_i
    text_width: int  # width of each per-token text encoding
    context_length: int  # number of text tokens
    image_size: int  # side of the square image the image tower takes


@dataclass(frozen=True)
class TextEncoding:
    """An encoded caption batch.

    embedding: (B, embed_dim) normalized z_t.
    tokens:    (B, context_length, text_width) per-token encodings (final layer, after norm).
    mask:      (B, context_length) bool, True for real tokens, False for padding.
    """

    embedding: Tensor
    tokens: Tensor
    mask: Tensor

    def __len__(self) -> int:
        return self.embedding.shape[0]

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> TextEncoding:
        return TextEncoding(
            self.embedding.to(device, dtype),
            self.tokens.to(device, dtype),
            self.mask.to(device),
        )

    def index(self, rows: Tensor | slice) -> TextEncoding:
        return TextEncoding(self.embedding[rows], self.tokens[rows], self.mask[rows])

    def repeat_interleave(self, n: int) -> TextEncoding:
        """Each caption n times in a row: for drawing n samples per prompt in one batch."""
        return TextEncoding(
            self.embedding.repeat_interleave(n, 0),
            self.tokens.repeat_interleave(n, 0),
            self.mask.repeat_interleave(n, 0),
        )
