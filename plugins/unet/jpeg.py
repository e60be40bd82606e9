"""JPEG's loss, computed on the batch's device: what a baseline encoder throws away, without the bytes.

Baseline JPEG loses information in three places only: chroma subsampling (4:2:0), the rounding
of each 8x8 block's DCT coefficients to multiples of a quantization table, and the rounding of
the decoded pixels to 8 bits. Entropy coding is lossless, so an encode-decode round trip equals
these steps, which are batched tensor algebra: each image gets its own quality, nothing is read
back to the host, and the training step never waits on a CPU codec. The tables and their
scaling by quality are the IJG library's (what `torchvision.io.encode_jpeg` uses); the result
differs from libjpeg's only by its integer DCT and rounding order: under a level per pixel on
average, against the 3 to 10 levels that JPEG itself loses on emoji at qualities 95 to 10.

kornia's differentiable codec models the same steps, but it reads the quality range back to
the host on every call and rounds with a smooth polynomial; a degradation needs neither the
gradient nor the stall.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

# ITU-T T.81 Annex K, tables K.1 (luma) and K.2 (chroma), in row-major order.
LUMA_TABLE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
CHROMA_TABLE = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip
# JFIF's full-range RGB -> YCbCr (rows Y, Cb, Cr), before Cb and Cr are offset by 128.
RGB_TO_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168735892, -0.331264108, 0.5),
    (0.5, -0.418687589, -0.081312411),
)


@lru_cache(maxsize=8)
def constants(device: torch.device) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(the 8x8 DCT on a flattened block (64, 64), quantization tables (2, 64), RGB->YCbCr, its
    inverse) on `device`, made once: a host-to-device copy per step would wait for the kernels
    queued before it."""
    k = torch.arange(8, dtype=torch.float64)
    basis = torch.cos((2 * k[None] + 1) * k[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    basis[0] /= math.sqrt(2)  # orthonormal DCT-II: JPEG's FDCT exactly
    # basis @ block @ basis.T on a row-major flattened block is one product with kron(basis, basis),
    # so a whole batch of blocks is a single large matrix product rather than many 8x8 ones.
    dct = torch.kron(basis, basis)
    tables = torch.tensor((LUMA_TABLE, CHROMA_TABLE), dtype=torch.float64)
    to_ycbcr = torch.tensor(RGB_TO_YCBCR, dtype=torch.float64)
    return tuple(t.to(device, torch.float32) for t in (dct, tables, to_ycbcr, torch.linalg.inv(to_ycbcr)))


def quantization_tables(quality: Tensor, tables: Tensor) -> Tensor:
    """IJG's scaling of the base tables by quality (1-100), per image: (B,) -> (B, 2, 64)."""
    quality = quality.float().clamp(1, 100)
    percent = torch.where(quality < 50, (5000 / quality).floor(), 200 - 2 * quality)
    return ((tables * percent[:, None, None] + 50) / 100).floor().clamp(1, 255)


def quantize_blocks(plane: Tensor, table: Tensor, dct: Tensor) -> Tensor:
    """Each 8x8 block of `plane` (B, C, H, W; H and W multiples of 8; level-shifted) through the
    DCT, rounded to multiples of its image's `table` (B, 64), and back."""
    b, c, h, w = plane.shape
    blocks = plane.reshape(b, c, h // 8, 8, w // 8, 8).transpose(3, 4).reshape(b, c, h // 8, w // 8, 64)
    step = table[:, None, None, None]
    blocks = ((blocks @ dct.T / step).round() * step) @ dct
    return blocks.reshape(b, c, h // 8, w // 8, 8, 8).transpose(3, 4).reshape(b, c, h, w)


def jpeg_round_trip(x: Tensor, quality: Tensor) -> Tensor:
    """`x` (B, 3, H, W) in [-1, 1] as it comes out of a JPEG file written at `quality` (B,)."""
    dct, tables, to_ycbcr, to_rgb = constants(x.device)
    h, w = x.shape[-2:]
    # Work in float32 on JPEG's 0-255 scale (bf16 would round the coefficients more coarsely than
    # the tables do), padded by edge replication to whole 16x16 macroblocks as encoders do. Every
    # plane is rounded where a codec stores it as 8-bit samples.
    pixels = ((x.float().clamp(-1, 1) + 1) * 127.5).round()
    if h % 16 or w % 16:  # else no copy of the batch
        pixels = F.pad(pixels, (0, -w % 16, 0, -h % 16), mode="replicate")
    # Cb and Cr come out centred on 0, where the DCT wants them; Y is shifted there.
    ycbcr = torch.einsum("oc,bchw->bohw", to_ycbcr, pixels).round()
    table = quantization_tables(quality.to(x.device), tables)
    luma = quantize_blocks(ycbcr[:, :1] - 128, table[:, 0], dct).round() + 128
    chroma = quantize_blocks(F.avg_pool2d(ycbcr[:, 1:], 2).round(), table[:, 1], dct).round()
    # libjpeg's decoder upsamples chroma with a triangle filter: bilinear at half-pixel centres.
    chroma = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)
    rgb = torch.einsum("oc,bchw->bohw", to_rgb, torch.cat((luma, chroma), 1))
    rgb = rgb.clamp(0, 255).round()[..., :h, :w]
    return (rgb / 127.5 - 1).to(x.dtype)
