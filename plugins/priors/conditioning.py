"""The caption prefix both priors start their sequence with: caption tokens, then z_t."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from unclip_core.interfaces import EncoderSpec, TextEncoding


class CaptionPrefix(nn.Module):
    """Projects per-token encodings and z_t to `width`; a dropped caption becomes a learned null.

    Dropping (for classifier-free guidance) hides every caption token from attention and puts
    the learned null in z_t's place, so "no caption" is one well-defined input.
    """

    def __init__(self, spec: EncoderSpec, width: int) -> None:
        super().__init__()
        self.tokens = nn.Linear(spec.text_width, width)
        self.text_embedding = nn.Linear(spec.embed_dim, width)
        self.null = nn.Parameter(torch.randn(width) * 0.02)
        # Unit-norm z_t has entries of about 1/sqrt(D); scale them to about 1, like the tokens.
        self.scale = spec.embed_dim**0.5

    def forward(self, tokens: Tensor, mask: Tensor, embedding: Tensor, drop: Tensor) -> tuple[Tensor, Tensor]:
        """-> (B, L + 1, width) prefix and its (B, L + 1) key validity."""
        caption = self.tokens(tokens.to(self.null.dtype))
        z_t = self.text_embedding(embedding.to(self.null.dtype) * self.scale)
        z_t = torch.where(drop[:, None], self.null.expand_as(z_t), z_t)
        valid = mask.bool() & ~drop[:, None]
        always = torch.ones_like(valid[:, :1])
        return torch.cat([caption, z_t[:, None]], 1), torch.cat([valid, always], 1)


def conditioning(text: TextEncoding, drop: bool | Tensor) -> dict[str, Tensor]:
    """The conditioning dict guided_denoiser batches: the caption and which rows drop it."""
    if not isinstance(drop, Tensor):
        drop = torch.full((len(text),), drop, dtype=torch.bool, device=text.embedding.device)
    return {"tokens": text.tokens, "mask": text.mask, "text_embedding": text.embedding, "drop": drop}
