"""Best-of-n: of several samples per caption, keep the one closest to the caption (the paper's trick)."""

from __future__ import annotations

import torch
from pydantic import Field
from torch import Tensor

# Every draw is a whole prior sample, batched with the others: the bound keeps one request's
# memory in reach (measured on emoji, best of 4 or 8 gains nothing over 2; docs/priors.md).
MAX_DRAWS = 16


def samples_per_prompt_field(default: int):
    """The `samples_per_prompt` config field both priors share."""
    return Field(default, ge=1, le=MAX_DRAWS, description=f"Draw n (at most {MAX_DRAWS}), keep the one with the highest z_i . z_t.")


def best_of_n(samples: Tensor, text_embedding: Tensor, n: int) -> Tensor:
    """samples: (B * n, D), n consecutive rows per caption; text_embedding: (B, D) -> (B, D).

    Keeps, per caption, the sample with the highest dot product with z_t.
    """
    if n == 1:
        return samples
    batch, dim = text_embedding.shape
    grouped = samples.view(batch, n, dim)
    scores = (grouped * text_embedding[:, None, :]).sum(-1)
    return grouped[torch.arange(batch, device=samples.device), scores.argmax(1)]
