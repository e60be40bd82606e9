"""The diffusion UNet backbone (GLIDE / ADM layout), shared by the decoder and the upsamplers.

It maps (x_t, embedding, context) to an output image; components decide what the embedding
and the context hold (timestep, z_i, caption tokens, noise level).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from unclip_core.errors import ConfigError

from .blocks import AttentionBlock, Downsample, ResBlock, Resampling, ResidualResampling, Upsample, group_norm, zero_init


class Level(nn.Module):
    """One residual block, optionally followed by attention: the unit the UNet stacks."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, dropout: float, attention: bool, head_channels: int,
                 context_dim: int | None) -> None:
        super().__init__()
        self.res = ResBlock(in_ch, out_ch, emb_dim, dropout)
        self.attn = AttentionBlock(out_ch, head_channels, context_dim) if attention else None

    def forward(self, x: Tensor, emb: Tensor, context: Tensor | None, mask: Tensor | None) -> Tensor:
        x = self.res(x, emb)
        return self.attn(x, context, mask) if self.attn is not None else x


class UNet(nn.Module):
    """Residual blocks at each resolution, down then up, with skip connections.

    `attention_resolutions` are feature-map sides (e.g. [16, 8]) at which blocks also attend.
    `resblock_updown` resamples between levels with residual blocks instead of single convolutions.
    """

    def __init__(
        self,
        *,
        image_size: int,
        in_channels: int,
        out_channels: int,
        channels: int,
        channel_mults: Sequence[int],
        num_res_blocks: int,
        attention_resolutions: Sequence[int],
        dropout: float,
        emb_dim: int,
        head_channels: int = 32,
        context_dim: int | None = None,
        resblock_updown: bool = False,
    ) -> None:
        super().__init__()
        check_layout(image_size, channel_mults, attention_resolutions)
        self.input = nn.Conv2d(in_channels, channels, 3, padding=1)

        def resampling(ch: int, direction: str) -> Resampling:
            if resblock_updown:
                return ResidualResampling(ch, emb_dim, dropout, direction)
            return Downsample(ch) if direction == "down" else Upsample(ch)

        self.down = nn.ModuleList()
        skips, ch, size = [channels], channels, image_size
        for level, mult in enumerate(channel_mults):
            for _ in range(num_res_blocks):
                out = channels * mult
                self.down.append(Level(ch, out, emb_dim, dropout, size in attention_resolutions, head_channels, context_dim))
                ch = out
                skips.append(ch)
            if level + 1 < len(channel_mults):
                self.down.append(resampling(ch, "down"))
                skips.append(ch)
                size //= 2
        self.middle = nn.ModuleList([
            Level(ch, ch, emb_dim, dropout, True, head_channels, context_dim),
            Level(ch, ch, emb_dim, dropout, False, head_channels, context_dim),
        ])
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mults))):
            for block in range(num_res_blocks + 1):
                out = channels * mult
                self.up.append(Level(ch + skips.pop(), out, emb_dim, dropout, size in attention_resolutions,
                                     head_channels, context_dim))
                ch = out
                if level > 0 and block == num_res_blocks:
                    self.up.append(resampling(ch, "up"))
                    size *= 2
        self.output = nn.Sequential(group_norm(ch), nn.SiLU(), zero_init(nn.Conv2d(ch, out_channels, 3, padding=1)))

    def forward(self, x: Tensor, emb: Tensor, context: Tensor | None = None, context_mask: Tensor | None = None) -> Tensor:
        h = self.input(x)
        skips = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, Resampling) else layer(h, emb, context, context_mask)
            skips.append(h)
        for layer in self.middle:
            h = layer(h, emb, context, context_mask)
        for layer in self.up:
            if isinstance(layer, Resampling):
                h = layer(h, emb)
            else:
                h = layer(_cat(h, skips.pop()), emb, context, context_mask)
        return self.output(h)


def _cat(a: Tensor, b: Tensor) -> Tensor:
    return torch.cat([a, b], dim=1)


def check_layout(image_size: int, channel_mults: Sequence[int], attention_resolutions: Sequence[int]) -> None:
    """The image must halve cleanly once per level, and attention must name sides that occur."""
    if not channel_mults:
        raise ConfigError("channel_mults must list at least one multiplier, e.g. [1, 2, 4]")
    factor = 2 ** (len(channel_mults) - 1)
    if image_size % factor:
        raise ConfigError(
            f"image_size {image_size} does not halve {len(channel_mults) - 1} times ({len(channel_mults)} "
            f"channel_mults); use an image_size divisible by {factor} or fewer channel_mults"
        )
    sides = {image_size // 2**i for i in range(len(channel_mults))}
    unknown = sorted(set(attention_resolutions) - sides)
    if unknown:
        raise ConfigError(
            f"attention_resolutions {unknown} are not feature-map sides of this UNet; "
            f"choose from {sorted(sides, reverse=True)}"
        )
