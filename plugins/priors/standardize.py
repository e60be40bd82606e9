"""Per-dimension standardization of embeddings with statistics fitted on training data."""

from __future__ import annotations

from torch import Tensor

# Floor on a dimension's std, so a constant dimension does not blow up when divided by it.
MIN_STD = 1e-4


def fit_mean_std(embeddings: Tensor) -> tuple[Tensor, Tensor]:
    """(N, D) -> per-dimension mean and std (D,), std floored at MIN_STD."""
    if embeddings.ndim != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"need at least 2 embeddings shaped (N, D) to fit statistics, got {tuple(embeddings.shape)}")
    embeddings = embeddings.double()
    return embeddings.mean(0).float(), embeddings.std(0).clamp(min=MIN_STD).float()


def standardize(x: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    return (x - mean) / std


def unstandardize(x: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    return x * std + mean
