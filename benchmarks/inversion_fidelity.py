"""How faithfully DDIM inversion and decoding give an image back, by number of DDIM steps.

    python benchmarks/inversion_fidelity.py [--model unclip-emoji] [--split train] [--limit 32] [--steps 16 32 64 128]

Variations (eta 0), interpolation ends and text diffs at theta 0 all decode an image's own
DDIM-inverted x_T with its own z_i, and should give the image back. For each step count, on
emoji of the model's data: invert the image at the decoder's size with the image's z_i and the
empty caption (as variations do), decode that x_T with deterministic DDIM at guidance 1, and
compare with the image:
- PSNR at the decoder's size, with its 95% bootstrap interval over the emoji;
- PSNR after the pipeline's upsamplers against the image at the output size, next to bicubic
  upsampling of the image itself (what a perfect decoder would leave to the upsampler);
- the border's brightness (1 is white, as the emoji are drawn) and x_T's standard deviation
  (a true inversion lands near 1);
- seconds per image for inversion and decoding together.
Prints a table and writes benchmarks/results/inversion_fidelity.json.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from emoji_quality import add_split_arguments, load_emoji  # benchmarks/emoji_quality.py
from emoji_stages import resize  # benchmarks/emoji_stages.py
from unclip_core.graph import build_section
from unclip_core.metrics import bootstrap_interval
from unclip_core.pipeline import Pipeline

from common import print_table, setup_device, write_json  # benchmarks/common.py

RESULTS = Path(__file__).parent / "results"


def errors(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Each image's mean squared error, pixels in [-1, 1]."""
    return (out.float() - target.float()).pow(2).flatten(1).mean(1)


def psnr_with_interval(error: torch.Tensor) -> tuple[float, list[float]]:
    """PSNR over the whole set (peak-to-peak 2) and its 95% bootstrap interval over the images."""
    value = 10 * math.log10(4 / error.mean().item())
    low, high = bootstrap_interval(error[:, None], lambda e: 10 * (4 / e[..., 0].mean(1)).log10())
    return round(value, 2), [round(low, 2), round(high, 2)]


def border(images: torch.Tensor, width: int = 2) -> float:
    """Mean of the outer `width` pixels, mapped to [0, 1]."""
    mask = torch.ones_like(images[:1, :1], dtype=torch.bool)
    mask[..., width:-width, width:-width] = False
    return round(((images.float()[:, :, mask[0, 0]] + 1) / 2).mean().item(), 3)


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="pipeline folder or name (default: the default model)")
    add_split_arguments(parser, 32)
    parser.add_argument("--steps", type=int, nargs="+", default=[16, 32, 64, 128], help="DDIM step counts to compare")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=RESULTS / "inversion_fidelity.json")
    args = parser.parse_args()
    device, autocast = setup_device(args.device)

    pipe = Pipeline.from_pretrained(args.model).to(device)
    decoder, upsamplers = pipe.components.decoder, pipe.components.upsamplers
    _, images, _, chosen = load_emoji(pipe, args.split, args.limit)
    size = upsamplers[-1].to_size if upsamplers else decoder.image_size
    target = resize(images[chosen].to(device), size)
    base = resize(target, decoder.image_size)
    z_i = pipe.encode_image(target).float()
    text = pipe.encode_text([""]).repeat_interleave(len(chosen))
    bicubic = resize(base, size)

    rows = []
    for steps in args.steps:
        sampler = build_section("sampler", "sampler", {"type": "ddim", "steps": steps, "eta": 0.0})
        start = time.perf_counter()
        with autocast():
            x_T = decoder.invert(base, z_i, text, sampler=sampler)
            decoded = decoder.sample(z_i, text, noise=x_T, sampler=sampler, guidance_scale=1.0).float()
        seconds = (time.perf_counter() - start) / len(chosen)
        upsampled = decoded
        with autocast():
            for upsampler in upsamplers:
                upsampled = upsampler.sample(upsampled, generator=torch.Generator(device).manual_seed(0)).float()
        at_decoder, decoder_interval = psnr_with_interval(errors(decoded, base))
        at_output, output_interval = psnr_with_interval(errors(upsampled, target))
        rows.append({
            "ddim_steps": steps,
            "psnr_decoder_size": at_decoder, "psnr_decoder_size_95": decoder_interval,
            "psnr_output": at_output, "psnr_output_95": output_interval,
            "border_decoded": border(decoded), "x_T_std": round(x_T.float().std().item(), 3),
            "s_per_image": round(seconds, 3),
        })
        print_table(rows[-1:])
    reference = {
        "psnr_bicubic_of_the_image": psnr_with_interval(errors(bicubic, target))[0],
        "border_of_the_image": border(base),
    }
    print_table(rows)
    print(f"bicubic upsampling of the image itself: {reference['psnr_bicubic_of_the_image']} dB at the output size; "
          f"the images' border: {reference['border_of_the_image']}")
    settings = {"model": args.model or "default", "split": args.split, "emoji": len(chosen), **reference}
    write_json(args.out, device, settings, rows)


if __name__ == "__main__":
    main()
