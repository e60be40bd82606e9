"""UNet building blocks: timestep embedding, FiLM residual blocks, attention with context, resampling."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 32 groups of at least 4 channels each (fewer for tiny widths)."""
    groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0 and (channels // g >= 4 or g == 1))
    return nn.GroupNorm(groups, channels)


def zero_init(module: nn.Module) -> nn.Module:
    """Output layers of residual branches start at zero, so every block starts as the identity."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal features of (B,) timesteps (any float values), as in the Transformer."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([args.cos(), args.sin()], dim=-1)
    return F.pad(emb, (0, dim % 2))


class TimestepMLP(nn.Module):
    """Timestep -> (B, emb_dim): sinusoidal features through a two-layer MLP."""

    def __init__(self, base: int, emb_dim: int) -> None:
        super().__init__()
        self.base = base
        self.mlp = nn.Sequential(nn.Linear(base, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))

    def forward(self, t: Tensor) -> Tensor:
        return self.mlp(timestep_embedding(t, self.base))


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice; the embedding scales and shifts the second norm (FiLM).

    With `resample` ("up" or "down") the block also changes resolution, GLIDE's way: both the
    branch (after its first norm) and the skip are resized by nearest-neighbour doubling or 2x2
    average pooling, so the block's convolutions, not a lone resampling one, learn the change.
    """

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float, resample: str | None = None) -> None:
        super().__init__()
        self.resample = resample
        self.norm1 = group_norm(in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * out_ch)
        self.norm2 = group_norm(out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_init(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = F.silu(self.norm1(x))
        if self.resample is not None:
            h, x = _resized(h, self.resample), _resized(x, self.resample)
        h = self.conv1(h)
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


def _resized(x: Tensor, direction: str) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest") if direction == "up" else F.avg_pool2d(x, 2)


class AttentionBlock(nn.Module):
    """Multi-head self-attention over spatial positions; with context, GLIDE style, the context
    tokens are appended to the keys and values so every position attends to [pixels + context]."""

    def __init__(self, channels: int, head_channels: int, context_dim: int | None) -> None:
        super().__init__()
        self.heads = max(1, channels // head_channels)
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.context_kv = nn.Linear(context_dim, 2 * channels) if context_dim else None
        self.proj = zero_init(nn.Conv2d(channels, channels, 1))

    def forward(self, x: Tensor, context: Tensor | None = None, context_mask: Tensor | None = None) -> Tensor:
        b, c, h, w = x.shape
        q, k, v = (self._heads(part) for part in self.qkv(self.norm(x)).flatten(2).chunk(3, dim=1))
        mask = None
        if self.context_kv is not None and context is not None:
            ck, cv = (self._heads(part.transpose(1, 2)) for part in self.context_kv(context).chunk(2, dim=-1))
            k, v = torch.cat([k, ck], dim=2), torch.cat([v, cv], dim=2)
            if context_mask is not None:
                own = torch.ones(b, h * w, dtype=torch.bool, device=x.device)
                mask = torch.cat([own, context_mask.bool()], dim=1)[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return x + self.proj(out.transpose(2, 3).reshape(b, c, h, w))

    def _heads(self, x: Tensor) -> Tensor:
        """(B, C, N) -> (B, heads, N, C // heads), laid out with channels last in memory: the fused
        attention kernels (flash, memory-efficient, and the CPU's) take only inputs whose last
        dimension is contiguous, and a transposed view would send every call to the math path,
        which writes out the whole score matrix."""
        b, c, n = x.shape
        return x.reshape(b, self.heads, c // self.heads, n).transpose(2, 3).contiguous()


class Resampling(nn.Module):
    """Halves or doubles the feature map between UNet levels; takes the embedding like a block."""

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        raise NotImplementedError


class Downsample(Resampling):
    """A stride-2 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        return self.conv(x)


class Upsample(Resampling):
    """Nearest-neighbour doubling, then a convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class ResidualResampling(Resampling):
    """A residual block that resamples (GLIDE's `resblock_updown`): more parameters, and the
    timestep embedding reaches the resampling too."""

    def __init__(self, channels: int, emb_dim: int, dropout: float, direction: str) -> None:
        super().__init__()
        self.res = ResBlock(channels, channels, emb_dim, dropout, resample=direction)

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        return self.res(x, emb)
