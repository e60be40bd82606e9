"""Decoder samplers on a trained model: error and quality against network evaluations.

For held-out emoji, the decoder turns each true image embedding into an image from fixed noise
with every sampler x spacing x evaluation budget given, and reports
- `to_reference`: MSE (pixels in [-1, 1]) to the same decoder's `--reference-steps`-evaluation
  DPM-Solver++(2M) sample (`--reference-spacing`) from the same noise: the sampler's discretization error on the
  real network (what benchmarks/samplers.py measures on the analytic denoiser);
- `to_truth`: MSE to the true image at the decoder's size (reconstruction quality).

    python benchmarks/decoder_samplers.py [--model unclip-emoji] [--limit 64] [--steps 4 6 8 12 16 25]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from common import print_table, setup_device, write_json  # benchmarks/common.py
from emoji_quality import load_emoji  # benchmarks/emoji_quality.py
from emoji_stages import resize  # benchmarks/emoji_stages.py
from unclip_core.pipeline import Pipeline
from unclip_core.testing.helpers import build_component

RESULTS = Path(__file__).parent / "results"


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="pipeline folder or name (default: the default model)")
    parser.add_argument("--limit", type=int, default=64, help="held-out emoji to use")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--samplers", nargs="+", default=["ddim", "dpmpp_2m"])
    parser.add_argument("--spacings", nargs="+", default=["linspace", "trailing", "log_snr"])
    parser.add_argument("--steps", type=int, nargs="+", default=[4, 6, 8, 12, 16, 25])
    parser.add_argument("--reference-steps", type=int, default=100)
    # log_snr crowds its first steps onto t = 997-999 on the cosine schedule (docs/samplers.md).
    parser.add_argument("--reference-spacing", default="trailing")
    parser.add_argument("--out", type=Path, default=RESULTS / "decoder_samplers.json")
    args = parser.parse_args()

    device, _ = setup_device(args.device)
    pipe = Pipeline.from_pretrained(args.model).to(device)
    decoder = pipe.components.decoder
    _, images, names, val = load_emoji(pipe)
    val = val[: args.limit]
    truth = resize(images[val].to(device), decoder.image_size)
    z_i = pipe.encode_image(images[val].to(device)).float()
    text = pipe.encode_text([names[i] for i in val])
    noise = torch.randn(len(val), 3, decoder.image_size, decoder.image_size,
                        generator=torch.Generator(device).manual_seed(args.seed), device=device)

    def decode(section: dict) -> torch.Tensor:
        sampler = build_component("sampler", section)
        return decoder.sample(z_i, text, noise=noise.clone(), sampler=sampler).float()

    reference = decode({"type": "dpmpp_2m", "steps": args.reference_steps, "spacing": args.reference_spacing})
    rows = [{"sampler": "dpmpp_2m", "spacing": args.reference_spacing, "evaluations": args.reference_steps,
             "to_reference": 0.0, "to_truth": round(F.mse_loss(reference, truth).item(), 5), "seconds": None}]
    for name in args.samplers:
        for spacing in args.spacings:
            for steps in args.steps:
                start = time.perf_counter()
                out = decode({"type": name, "steps": steps, "spacing": spacing})
                rows.append({"sampler": name, "spacing": spacing, "evaluations": steps,
                             "to_reference": round(F.mse_loss(out, reference).item(), 5),
                             "to_truth": round(F.mse_loss(out, truth).item(), 5),
                             "seconds": round(time.perf_counter() - start, 2)})
                print(rows[-1], flush=True)
    print_table(rows)
    settings = {"model": args.model or "default", "held_out": len(val), "seed": args.seed,
                "guidance_scale": decoder.config.guidance_scale, "reference": f"dpmpp_2m {args.reference_spacing} {args.reference_steps}"}
    write_json(args.out, device, settings, rows)


if __name__ == "__main__":
    main()
