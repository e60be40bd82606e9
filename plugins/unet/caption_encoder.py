"""The decoder's own text encoder: a transformer over the caption, as GLIDE's decoder has one.

The paper's decoder concatenates its four z_i tokens to the outputs of GLIDE's text encoder
(section 2.1), a transformer trained with the decoder. Here it reads the CLIP text
tower's per-token encodings (the prior reads the same), so it needs no vocabulary of its own:
it learns, with the decoder, what the frozen CLIP encodings mean for drawing. Attention is
bidirectional and skips padding.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..transformer_block import Block


class CaptionEncoder(nn.Module):
    """(B, L, in_width) caption encodings -> (B, L, width) outputs and a (B, width) summary."""

    def __init__(self, in_width: int, width: int, depth: int, heads: int, length: int) -> None:
        super().__init__()
        self.input = nn.Linear(in_width, width)
        self.position = nn.Parameter(torch.randn(length, width) * 0.01)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        """`valid` (B, L) marks real tokens. The summary is the mean over them; GLIDE adds its
        projection to the timestep embedding, so the caption also reaches every residual block."""
        length = tokens.shape[1]
        x = self.input(tokens) + self.position[:length]
        # Every position sees the real tokens, and itself: a padding row is never empty (NaN).
        itself = torch.eye(length, dtype=torch.bool, device=tokens.device)
        mask = (valid[:, None, :] | itself)[:, None]
        for block in self.blocks:
            x, _ = block(x, mask)
        x = self.norm(x)
        weights = valid.to(x.dtype)[..., None]
        summary = (x * weights).sum(1) / weights.sum(1).clamp(min=1)
        return x, summary
