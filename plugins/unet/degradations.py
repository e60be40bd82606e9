"""Corruptions of an upsampler's conditioning image, so it learns to fix the stage before it.

The paper blurs the conditioning image for the first upsampler and applies a BSR-style
degradation (Zhang et al. 2021) for the second. Every function takes a batch in [-1, 1] and
draws per-sample parameters from `generator`, so a seeded call is reproducible. They run
batched on the batch's device and never read a value back to the host (JPEG included: see
jpeg.py), so a training step with them does not wait on the device.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Generator, Tensor

from .jpeg import jpeg_round_trip

Degradation = Literal["none", "gaussian_blur", "bsr"]


class BSRConfig(BaseModel):
    """Ranges of the BSR-style pipeline; every step runs once, in a random order per batch, with
    its strength drawn per image."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    blur_sigma: tuple[float, float] = (0.1, 1.5)
    resize_scale: tuple[float, float] = Field((0.5, 1.0), description="Downscale factor before resizing back.")
    noise_std: tuple[float, float] = Field((0.0, 0.1), description="Gaussian noise std on the [-1, 1] scale.")
    jpeg_quality: tuple[int, int] = (30, 95)


def uniform(low: float, high: float, batch: int, like: Tensor, generator: Generator | None) -> Tensor:
    return low + (high - low) * torch.rand(batch, generator=generator, device=like.device, dtype=torch.float32)


def gaussian_blur(x: Tensor, sigma: Tensor, max_sigma: float | None = None) -> Tensor:
    """Blur each image with its own sigma (B,) in pixels, as one separable grouped convolution.

    The kernel covers 3 * `max_sigma`; give it (the top of the range sigma was drawn from) so
    the kernel size is known on the host without reading `sigma` back from the device.
    """
    b, c, h, w = x.shape
    widest = float(sigma.max()) if max_sigma is None else max_sigma
    radius = max(1, min(math.ceil(3 * widest), min(h, w) - 1))
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=torch.float32)
    kernel = torch.exp(-(offsets[None] ** 2) / (2 * sigma.clamp(min=1e-3)[:, None] ** 2))
    kernel = (kernel / kernel.sum(-1, keepdim=True)).to(x.dtype).repeat_interleave(c, 0)  # (B*C, k)
    flat = F.pad(x.reshape(1, b * c, h, w), (radius,) * 4, mode="reflect")
    flat = F.conv2d(flat, kernel[:, None, None, :], groups=b * c)
    flat = F.conv2d(flat, kernel[:, None, :, None], groups=b * c)
    return flat.reshape(b, c, h, w)


def random_blur(x: Tensor, sigma_range: tuple[float, float], generator: Generator | None = None) -> Tensor:
    return gaussian_blur(x, uniform(*sigma_range, x.shape[0], x, generator), max_sigma=sigma_range[1])


@lru_cache(maxsize=16)
def resize_operators(size: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """(size + 1, size, size): entry k is the 1-d linear map 'bilinear (antialiased) down to k
    pixels, then bicubic back to size'; entries 0, 1 and size are the identity.

    Both resizes are linear and separable, so resizing a whole image down and back is
    A_h @ image @ A_w.T; built once by resizing the identity, exactly as F.interpolate would.
    """
    operators = torch.eye(size, device=device, dtype=torch.float32).repeat(size + 1, 1, 1)
    # One-hot columns, 4 pixels wide: antialiased resizing misbehaves on 1-pixel-wide inputs, and
    # the width (kept at 4) passes through unchanged.
    basis = torch.eye(size, device=device, dtype=torch.float32).reshape(size, 1, size, 1).expand(-1, -1, -1, 4).contiguous()
    for small in range(2, size):
        down = F.interpolate(basis, size=(small, 4), mode="bilinear", antialias=True, align_corners=False)
        up = F.interpolate(down, size=(size, 4), mode="bicubic", align_corners=False)
        operators[small] = up[:, 0, :, 0].T
    return operators.to(dtype)


def resize_down_and_back(x: Tensor, scale: Tensor) -> Tensor:
    """Each image down to its own fraction `scale` (B,) of its size and back, in one batched matmul."""
    h, w = x.shape[-2:]
    rows = resize_operators(h, x.device, x.dtype)[(scale * h).round().long().clamp(2, h)]
    cols = resize_operators(w, x.device, x.dtype)[(scale * w).round().long().clamp(2, w)]
    return rows[:, None] @ x @ cols[:, None].transpose(-1, -2)


def random_resize(x: Tensor, scale_range: tuple[float, float], generator: Generator | None = None) -> Tensor:
    """Down to a random fraction of the size and back, a fraction per image: loses detail the way
    a weak decoder does."""
    return resize_down_and_back(x, uniform(*scale_range, x.shape[0], x, generator))


def random_noise(x: Tensor, std_range: tuple[float, float], generator: Generator | None = None) -> Tensor:
    std = uniform(*std_range, x.shape[0], x, generator).to(x.dtype)[:, None, None, None]
    return x + std * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


def random_jpeg(x: Tensor, quality_range: tuple[int, int], generator: Generator | None = None) -> Tensor:
    """JPEG-compress each image at its own quality, on the batch's device."""
    low, high = quality_range
    quality = torch.randint(low, high + 1, (x.shape[0],), generator=generator, device=x.device)
    return jpeg_round_trip(x.detach(), quality)


def host_generator(generator: Generator | None) -> Generator | None:
    """`generator` when it draws on the CPU; for a device generator None (the seeded global CPU
    generator), since reading a device draw back to the host would stall the step."""
    return generator if generator is None or generator.device.type == "cpu" else None


def bsr(x: Tensor, config: BSRConfig, generator: Generator | None = None) -> Tensor:
    """Blur, resize, noise and JPEG in a random order, each with random strength."""
    steps = [
        lambda y: random_blur(y, config.blur_sigma, generator),
        lambda y: random_resize(y, config.resize_scale, generator),
        lambda y: random_noise(y, config.noise_std, generator),
        lambda y: random_jpeg(y, config.jpeg_quality, generator),
    ]
    order = torch.randperm(len(steps), generator=host_generator(generator)).tolist()
    for index in order:
        x = steps[index](x)
    return x.clamp(-1, 1)


def degrade(
    x: Tensor,
    kind: Degradation,
    *,
    blur_sigma: tuple[float, float],
    bsr_config: BSRConfig,
    generator: Generator | None = None,
) -> Tensor:
    if kind == "none":
        return x
    if kind == "gaussian_blur":
        return random_blur(x, blur_sigma, generator)
    if kind == "bsr":
        return bsr(x, bsr_config, generator)
    raise ValueError(f"unknown degradation '{kind}'; use none, gaussian_blur or bsr")
