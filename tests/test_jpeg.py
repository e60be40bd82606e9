"""The on-device JPEG round trip: libjpeg's result to within a level or so, a quality per image,
and no value read back from the device."""

from __future__ import annotations

import pytest
import torch
from torchvision.io import decode_jpeg, encode_jpeg

from tests.blobs import blob_images
from unclip_plugins.unet.jpeg import jpeg_round_trip


def textured(count: int, height: int, width: int) -> torch.Tensor:
    """Disks with edges, on a gradient, with grain: something for every part of the codec to lose."""
    disks, _ = blob_images(count, max(height, width), seed=3)
    ramp = torch.linspace(-0.3, 0.3, width)
    grain = 0.08 * torch.randn(count, 3, height, width, generator=torch.Generator().manual_seed(4))
    return (disks[..., :height, :width] + ramp + grain).clamp(-1, 1)


def libjpeg(x: torch.Tensor, quality: list[int]) -> torch.Tensor:
    pixels = ((x + 1) * 127.5).round().to(torch.uint8)
    return torch.stack([decode_jpeg(encode_jpeg(p, quality=q)) for p, q in zip(pixels, quality)]) / 127.5 - 1


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(4 / (a - b).square().mean()))


@pytest.mark.parametrize("quality", [10, 30, 60, 95])
@pytest.mark.parametrize("size", [(32, 32), (20, 44)])  # whole macroblocks, and padded ones
def test_the_round_trip_is_libjpegs_to_within_a_level(quality, size):
    images = textured(6, *size)
    ours, theirs = jpeg_round_trip(images, torch.full((6,), quality)), libjpeg(images, [quality] * 6)
    assert (ours - theirs).abs().mean() * 127.5 < 2  # levels of 255
    assert psnr(ours, theirs) > psnr(theirs, images) + 10  # far closer to libjpeg than JPEG is to the input
    assert psnr(ours, images) == pytest.approx(psnr(theirs, images), abs=0.5)


def test_each_image_is_compressed_at_its_own_quality():
    image = textured(1, 32, 32)
    together = jpeg_round_trip(image.expand(2, -1, -1, -1), torch.tensor([10, 95]))
    torch.testing.assert_close(together[:1], jpeg_round_trip(image, torch.tensor([10])))
    torch.testing.assert_close(together[1:], jpeg_round_trip(image, torch.tensor([95])))
    assert psnr(together[0], image[0]) + 2 < psnr(together[1], image[0])


def test_it_keeps_the_dtype_and_reads_no_value_back():
    # A tensor on the meta device has no values: any read of one back to the host would raise.
    out = jpeg_round_trip(torch.empty(3, 3, 24, 40, device="meta", dtype=torch.bfloat16),
                          torch.randint(30, 96, (3,), device="meta"))
    assert out.shape == (3, 3, 24, 40) and out.dtype == torch.bfloat16 and out.device.type == "meta"
    images = textured(2, 16, 16).to(torch.bfloat16)
    assert jpeg_round_trip(images, torch.tensor([50, 50])).dtype == torch.bfloat16
