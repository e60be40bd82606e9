"""Best-of-n: of several samples per caption, keep the one closest to the caption (the paper's trick)."""

from __future__ import annotations

import torch
from torch import Tensor


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
