"""A small decoder-only (causal) transformer with SDPA attention and an optional key/value cache."""

from __future__ import annotations

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn

from unclip_core.interfaces import EncoderDimensions

from ..transformer_block import Block

# Per layer: (keys, values), each (B, heads, S, head_width), for incremental decoding.
Cache = list[tuple[Tensor, Tensor]]


class TransformerPriorConfig(EncoderDimensions):
    """The settings every transformer prior shares."""

    width: int = Field(256, ge=8)
    depth: int = Field(6, ge=1)
    heads: int = Field(4, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on attention and residual branches (small data sets overfit).")

    @model_validator(mode="after")
    def _heads_divide_width(self):
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be divisible by heads {self.heads}")
        return self


def causal_mask(key_valid: Tensor, queries: int) -> Tensor:
    """(B, 1, Q, S) boolean attn_mask for the last `queries` of S positions: True = may attend.

    A query sees earlier-or-equal positions whose key is valid (not padding). It always sees
    itself, so a padding query never has an empty row (which would make softmax NaN).
    """
    keys = key_valid.shape[1]
    key_pos = torch.arange(keys, device=key_valid.device)
    query_pos = torch.arange(keys - queries, keys, device=key_valid.device)
    causal = key_pos[None, :] <= query_pos[:, None]
    itself = key_pos[None, :] == query_pos[:, None]
    allowed = (causal[None] & key_valid[:, None, :]) | itself[None]
    return allowed[:, None]


class CausalTransformer(nn.Module):
    """Stack of blocks ending in a LayerNorm; attention is causal and skips invalid keys."""

    def __init__(self, width: int, depth: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}; pick heads that divide width")
        self.blocks = nn.ModuleList(Block(width, heads, dropout=dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: Tensor, key_valid: Tensor, past: Cache | None = None) -> tuple[Tensor, Cache]:
        """x: (B, Q, W) new tokens; key_valid: (B, S) for all S = cached + Q positions.

        Returns the normalized outputs for the Q new tokens and the cache extended by them.
        """
        mask = causal_mask(key_valid, x.shape[1])
        present: Cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, mask, None if past is None else past[i])
            present.append(kv)
        return self.norm(x), present
