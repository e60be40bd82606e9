"""Drawing discrete tokens from logits: temperature, nucleus (top-p) filtering, guidance."""

from __future__ import annotations

import torch
from torch import Generator, Tensor


def top_p_filter(logits: Tensor, top_p: float) -> Tensor:
    """Keep the smallest set of tokens whose probability reaches top_p; others get -inf.

    The most likely token is always kept, so top_p -> 0 is greedy decoding.
    """
    if top_p >= 1.0:
        return logits
    sorted_logits, order = logits.sort(-1, descending=True)
    probs = sorted_logits.softmax(-1)
    # Drop a token when the tokens ranked above it already reach top_p.
    drop_sorted = probs.cumsum(-1) - probs >= top_p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def guide_logits(cond: Tensor, uncond: Tensor, scale: float) -> Tensor:
    """Classifier-free guidance on log-probabilities."""
    cond, uncond = cond.log_softmax(-1), uncond.log_softmax(-1)
    return uncond + scale * (cond - uncond)


def sample_tokens(logits: Tensor, *, temperature: float, top_p: float, generator: Generator | None = None) -> Tensor:
    """(B, V) logits -> (B,) long tokens; temperature 0 is greedy."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = top_p_filter(logits.float() / temperature, top_p).softmax(-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]
