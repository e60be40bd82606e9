"""PCA and per-component quantile quantization: embeddings <-> discrete codes for the AR prior.

All functions are pure; the AR prior keeps their fitted outputs as buffers, so they are saved
with its weights.
"""

from __future__ import annotations

import torch
from torch import Tensor


def fit_pca(x: Tensor, components: int) -> tuple[Tensor, Tensor]:
    """(N, D) -> mean (D,) and basis (components, D), rows ordered by decreasing variance."""
    if x.shape[0] < components:
        raise ValueError(f"PCA with {components} components needs at least {components} embeddings, got {x.shape[0]}")
    x = x.double()
    mean = x.mean(0)
    _, _, vh = torch.linalg.svd(x - mean, full_matrices=False)
    basis = vh[:components]
    # SVD signs are arbitrary; fix them (largest entry positive) so a fit is reproducible.
    signs = basis.gather(1, basis.abs().argmax(1, keepdim=True)).sign()
    return mean.float(), (basis * signs).float()


def project(x: Tensor, mean: Tensor, basis: Tensor) -> Tensor:
    """(N, D) -> (N, components) PCA coefficients."""
    return (x - mean) @ basis.T


def unproject(coefficients: Tensor, mean: Tensor, basis: Tensor) -> Tensor:
    """(N, components) -> (N, D), the nearest point of the PCA subspace."""
    return coefficients @ basis + mean


def quantile_edges(values: Tensor, bins: int) -> Tensor:
    """(N, C) -> (C, bins - 1) inner bin edges at the 1/bins, ..., (bins-1)/bins quantiles per column.

    Quantile edges give every bin the same share of the training data, so no code is wasted
    on empty tails.
    """
    levels = torch.linspace(0, 1, bins + 1, dtype=torch.float64, device=values.device)[1:-1]
    return torch.quantile(values.double(), levels, dim=0).T.contiguous().float()


def bucketize(values: Tensor, edges: Tensor) -> Tensor:
    """(N, C) values and (C, bins - 1) edges -> (N, C) long codes in [0, bins)."""
    return torch.searchsorted(edges, values.T.contiguous().to(edges.dtype), right=True).T


def bin_centers(values: Tensor, edges: Tensor) -> Tensor:
    """(C, bins): the mean of the training values in each bin; an empty bin gets its midpoint.

    The outermost bins are bounded by the smallest and largest training values.
    """
    columns, inner = edges.shape
    bins = inner + 1
    codes = bucketize(values, edges)  # (N, C)
    flat = (codes + torch.arange(columns, device=codes.device) * bins).flatten()
    sums = torch.zeros(columns * bins, dtype=torch.float64, device=values.device)
    sums.index_add_(0, flat, values.double().flatten())
    counts = torch.bincount(flat, minlength=columns * bins).double()
    full = torch.cat([values.min(0).values[:, None], edges, values.max(0).values[:, None]], 1).double()
    midpoints = (full[:, :-1] + full[:, 1:]) / 2
    means = (sums / counts.clamp(min=1)).view(columns, bins)
    return torch.where(counts.view(columns, bins) > 0, means, midpoints).float()


def dequantize(codes: Tensor, centers: Tensor) -> Tensor:
    """(N, C) codes and (C, bins) centers -> (N, C) values."""
    return centers.gather(1, codes.T.contiguous()).T


def quantile_bin(quantile: float, bins: int) -> int:
    """The bin that holds the given quantile, for quantile bins (each holds 1/bins of the data)."""
    return min(int(quantile * bins), bins - 1)
