"""The BSR degradation's JPEG step: a CPU codec image by image against the batched on-device round trip.

    python benchmarks/jpeg_degradation.py                      # CPU, 64 and 256 px
    python benchmarks/jpeg_degradation.py --device cuda

Both sides compress the same batch at the same per-image qualities (drawn from the BSR default
range). `host codec` is torchvision's libjpeg, as an upsampler's degradation would call it: the
batch copied to the host, encoded and decoded image by image, and copied back (on a GPU the copy
waits for every queued kernel). `device` is `unclip_plugins.unet.jpeg.jpeg_round_trip`. Reported:
images/s, and how far the device result is from libjpeg's (mean absolute difference in 8-bit
levels, PSNR) next to what JPEG itself loses (PSNR of libjpeg's result against the input). The
images are the first bundled-font emoji, rendered at 64 px and resized bicubically to the size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.io import decode_jpeg, encode_jpeg

from common import print_table, setup_device, timed, write_json
from unclip_plugins.datasets.emoji import EmojiConfig, EmojiSource
from unclip_plugins.unet.degradations import BSRConfig
from unclip_plugins.unet.jpeg import jpeg_round_trip


def host_codec(x: torch.Tensor, quality: list[int]) -> torch.Tensor:
    pixels = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
    decoded = torch.stack([decode_jpeg(encode_jpeg(p, quality=q)) for p, q in zip(pixels, quality)])
    return (decoded.to(x.device, x.dtype) / 127.5) - 1


def emoji_batch(count: int, size: int, device: torch.device) -> torch.Tensor:
    images = list(EmojiSource(EmojiConfig(image_size=64)).images().values())[:count]
    pixels = torch.stack([torch.tensor(image) for image in images]).permute(0, 3, 1, 2).float() / 127.5 - 1
    return F.interpolate(pixels, size=(size, size), mode="bicubic", align_corners=False).clamp(-1, 1).to(device)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return round(float(10 * torch.log10(4 / (a.float() - b.float()).square().mean())), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="default: results/jpeg_degradation_<device>.json")
    args = parser.parse_args()

    device, _ = setup_device(args.device)
    low, high = BSRConfig().jpeg_quality
    quality = torch.randint(low, high + 1, (args.batch,), generator=torch.Generator().manual_seed(0))
    on_device = quality.to(device)
    rows = []
    for size in args.sizes:
        images = emoji_batch(args.batch, size, device)
        reference = host_codec(images, quality.tolist())
        ours = jpeg_round_trip(images, on_device)
        sides = {"host codec": lambda: host_codec(images, quality.tolist()),
                 "device": lambda: jpeg_round_trip(images, on_device)}
        for side, run in sides.items():
            seconds = timed(run, device, args.iters, warmup=1)
            row = {"size": size, "batch": args.batch, "side": side, "images_per_s": round(args.batch / seconds, 1),
                   "jpeg_loss_psnr_db": psnr(reference, images)}
            if side == "device":
                row |= {"vs_libjpeg_levels": round(float((ours - reference).abs().mean()) * 127.5, 3),
                        "vs_libjpeg_psnr_db": psnr(ours, reference)}
            rows.append(row)
            print_table([row])
    print()
    print_table(rows)
    out = args.out or Path(__file__).parent / "results" / f"jpeg_degradation_{device.type}.json"
    write_json(out, device, {"qualities": [low, high], "iters": args.iters}, rows)


if __name__ == "__main__":
    main()
