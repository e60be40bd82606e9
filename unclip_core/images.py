"""Conversions between PIL images and model tensors (B, 3, H, W) in [-1, 1]."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    pixels = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(p.permute(1, 2, 0).cpu().numpy()) for p in pixels]


def from_pil(images: Sequence[Image.Image], size: int | None = None) -> torch.Tensor:
    """Any mode is converted to RGB; `size` resizes (bicubic, antialiased) to a square."""
    arrays = []
    for image in images:
        image = image.convert("RGB")
        if size is not None and image.size != (size, size):
            image = image.resize((size, size), Image.Resampling.BICUBIC)
        arrays.append(np.asarray(image, dtype=np.float32))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 127.5 - 1


def resize(images: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Images (B, C, H, W) in [-1, 1] at `size` (a side, or (height, width)): bicubic,
    antialiased when shrinking, clamped back into [-1, 1] (bicubic overshoots at edges)."""
    target = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(images.shape[-2:]) == target:
        return images
    return F.interpolate(images, size=target, mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)
