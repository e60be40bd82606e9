"""Each stage of a pipeline on held-out emoji: prior similarities, decoder reconstruction, upsampling.

    python benchmarks/emoji_stages.py [--model unclip-emoji] [--split held-out|train] [--limit 128] [--grid docs/images/decoder_emoji_grid.png]
    python benchmarks/emoji_stages.py --only prior --set prior.temperature=0.7   # one stage, other settings
    python benchmarks/emoji_stages.py --only upsampler --upsampler-grid docs/images/upsampler_emoji_grid.png

- prior: mean cos(predicted z_i, true z_i) with its 95% bootstrap interval over the emoji (each
  emoji's cosine is kept in the JSON), cos with the caption's z_t and with another caption's z_t,
  for the model's prior and for the caption-only baseline z_i := z_t;
- decoder: MSE (pixels in [-1, 1]) of images decoded from the true z_i, and from another emoji's
  z_i (rolled by one), against the true image at the decoder's size (same noise for both);
- upsampler: PSNR of each stage's output against the true image, next to bicubic upsampling,
  and the gain over bicubic with its 95% bootstrap interval over the emoji (paired: both sides
  are measured on the same images).
Prints a table and writes benchmarks/results/emoji_stages.json.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from emoji_quality import add_split_arguments, load_emoji  # benchmarks/emoji_quality.py
from unclip_core.image_output import grid, save_image
from unclip_core.images import to_pil
from unclip_core.metrics import bootstrap_interval, prior_similarities
from unclip_core.pipeline import Pipeline

from common import print_table, setup_device, write_json  # benchmarks/common.py

RESULTS = Path(__file__).parent / "results"


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)


def weights_digest(module: torch.nn.Module) -> str:
    """A short digest of a module's weights. Kept with the results: a cosine is only comparable
    with one measured by the same CLIP, since each CLIP spreads its embeddings differently."""
    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Over pixels in [-1, 1] (peak-to-peak 2)."""
    return 10 * math.log10(4 / F.mse_loss(a.float(), b.float()).item())


def psnr_gain_interval(out: torch.Tensor, baseline: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """95% bootstrap interval over images of PSNR(out) - PSNR(baseline), each PSNR over the whole set."""
    errors = torch.stack([(x.float() - target.float()).pow(2).flatten(1).mean(1) for x in (out, baseline)], dim=-1).cpu()
    return bootstrap_interval(errors, lambda e: 10 * (e[..., 1].mean(1) / e[..., 0].mean(1)).log10())


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="pipeline folder or name (default: the default model)")
    add_split_arguments(parser, 128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--grid", default=None, help="also write true | from true z_i | from another z_i, 8 emoji")
    parser.add_argument("--upsampler-grid", default=None, help="also write true | bicubic | first upsampler, 8 emoji")
    parser.add_argument("--only", choices=["prior", "decoder", "upsampler"], default=None, help="measure one stage")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override the model's graph, e.g. prior.temperature=0.7 (repeatable)")
    parser.add_argument("--out", type=Path, default=RESULTS / "emoji_stages.json")
    args = parser.parse_args()
    if args.grid and args.only not in (None, "decoder"):
        parser.error("--grid shows the decoder: drop it or use --only decoder")
    if args.upsampler_grid and args.only not in (None, "upsampler"):
        parser.error("--upsampler-grid shows the upsampler: drop it or use --only upsampler")

    device, _ = setup_device(args.device)
    pipe = Pipeline.from_pretrained(args.model, overrides=args.overrides).to(device)
    c = pipe.components
    _, images, names, val = load_emoji(pipe, args.split, args.limit)
    truth, prompts = images[val].to(device), [names[i] for i in val]
    z_i = pipe.encode_image(truth).float()
    text = pipe.encode_text(prompts)
    rows = []

    stages = {"prior", "decoder", "upsampler"} if args.only is None else {args.only}
    generator = torch.Generator(device).manual_seed(args.seed)
    predicted = c.prior.sample(text, generator=generator).float()  # drawn always: keeps the decoder's noise fixed
    if "prior" in stages:
        for name, guess in ((f"prior: {c.prior.name}", predicted), ("prior: text_as_image", text.embedding.float())):
            sims = prior_similarities(guess, z_i, text.embedding)
            # Each emoji's cosine is kept, so two priors can be compared emoji by emoji.
            per_emoji = F.cosine_similarity(guess, z_i, dim=-1)
            low, high = bootstrap_interval(per_emoji, lambda r: r.mean(1))
            rows.append({"stage": name, "measure": "cos to true z_i (95% interval) / to z_t / to other z_t",
                         "value": f"{sims['cos_true']:.3f} ({low:.3f} to {high:.3f}) / {sims['cos_text']:.3f} / {sims['cos_unrelated']:.3f}",
                         "cos_true_per_emoji": [round(v, 4) for v in per_emoji.tolist()]})

    decoded = {}
    if "decoder" in stages:
        size = c.decoder.image_size
        noise = torch.randn(len(val), 3, size, size, generator=generator, device=device)
        base_truth = resize(truth, size)
        for label, embedding in (("true z_i", z_i), ("another emoji's z_i", z_i.roll(1, 0))):
            decoded[label] = c.decoder.sample(embedding, text, noise=noise.clone()).float()
            rows.append({"stage": f"decoder {size}px", "measure": f"MSE from {label}",
                         "value": f"{F.mse_loss(decoded[label], base_truth).item():.4f}"})

    upsampled = []  # (true, bicubic, upsampler) at the first upsampler's size
    for up in c.upsamplers if "upsampler" in stages else ():
        target, low = resize(truth, up.to_size), resize(truth, up.from_size)
        generator = torch.Generator(device).manual_seed(args.seed)
        out = up.sample(low, generator=generator).float()
        bicubic = resize(low, up.to_size)
        upsampled = upsampled or [target, bicubic, out]
        model_db, bicubic_db = psnr(out, target), psnr(bicubic, target)
        low_gain, high_gain = psnr_gain_interval(out, bicubic, target)
        rows.append({"stage": f"upsampler {up.from_size}->{up.to_size}", "measure": "PSNR dB: model / bicubic (gain, 95% interval)",
                     "value": f"{model_db:.2f} / {bicubic_db:.2f} ({model_db - bicubic_db:+.2f}, {low_gain:+.2f} to {high_gain:+.2f})"})

    print_table([{key: value for key, value in row.items() if key != "cos_true_per_emoji"} for row in rows])
    settings = {"model": str(args.model or "default"), "split": args.split, "emoji": len(val), "prompt_names": prompts, "only": args.only, "overrides": args.overrides,
                "prior": pipe.graph.prior.to_dict(), "encoder_digest": weights_digest(c.encoder)}
    write_json(args.out, device, settings, rows)
    if args.grid:
        write_grid([base_truth, decoded["true z_i"], decoded["another emoji's z_i"]], args.grid, scale=3)
    if args.upsampler_grid and upsampled:
        write_grid(upsampled, args.upsampler_grid, scale=2)


def write_grid(columns: list[torch.Tensor], path: str, scale: int) -> None:
    """Two emoji a row, each as its `columns` side by side, every pixel shown as a `scale` x
    `scale` block (no smoothing, which would hide the differences the grid is for)."""
    count = min(8, len(columns[0]))
    tiles = [to_pil(column[i : i + 1])[0] for i in range(count) for column in columns]
    tiles = [t.resize((t.width * scale, t.height * scale), Image.NEAREST) for t in tiles]
    save_image(grid(tiles, columns=2 * len(columns)), path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
