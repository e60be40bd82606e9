"""Fresh Gaussian noise drawn from a sampler's generator, so a seed fixes the whole sample."""

from __future__ import annotations

import torch
from torch import Generator, Tensor


def randn_like(x: Tensor, generator: Generator | None) -> Tensor:
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
