"""Spherical interpolation: the path between two directions that keeps their norm."""

from __future__ import annotations

import torch
from torch import Tensor

# Below this angle (radians) the two vectors are parallel and slerp is linear interpolation.
PARALLEL = 1e-4


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Slerp from `a` (t=0) to `b` (t=1) for every t: returns (len(t), *a.shape).

    `a` and `b` are treated as flat vectors whatever their shape, so this serves CLIP embeddings
    (D,) and diffusion latents (3, H, W) alike. Between unit vectors it stays on the unit sphere;
    between two Gaussian noises it keeps the typical norm that linear mixing would shrink.
    """
    if a.shape != b.shape:
        raise ValueError(f"slerp needs equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    flat_a, flat_b = a.reshape(-1).double(), b.reshape(-1).double()
    t = t.to(flat_a).reshape(-1, 1)
    cosine = (flat_a @ flat_b) / (flat_a.norm() * flat_b.norm()).clamp_min(1e-12)
    omega = cosine.clamp(-1, 1).acos()
    if omega < PARALLEL:
        mixed = (1 - t) * flat_a + t * flat_b
    else:
        mixed = (torch.sin((1 - t) * omega) * flat_a + torch.sin(t * omega) * flat_b) / torch.sin(omega)
    return mixed.to(a.dtype).reshape(-1, *a.shape)
