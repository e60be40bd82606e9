"""How often a generated emoji is recognisably the emoji asked for.

For every held-out prompt of the emoji dataset (its val split: emoji never trained on; or with
`--split train`, training emoji by their bare names), generate
one image, embed it with the pipeline's own CLIP, and rank the true emoji among ALL emoji (train
and val, ~3,800):

  i2i top-5  the true emoji's rendered image is among the 5 closest rendered emoji images
             (image-to-image: the honest measure of the generator)
  i2t top-5  the true emoji's name is among the 5 closest emoji names (image-to-text)
  border     mean value of the images' outermost 2 pixels, in [-1, 1]: emoji sit on white (1.0),
             so a generator that tints or grains its backgrounds scores lower

Rows: the true images themselves (the ceiling of i2t; i2i is trivially 100%), the decoder fed
the true z_i (an oracle prior: what the decoder and upsamplers lose), and each prior.

    python benchmarks/emoji_quality.py [--model NAME_OR_FOLDER] [--split held-out|train] [--limit N] [--priors diffusion_prior,text_as_image] [--no-oracle] [--set KEY=VALUE]

Prints a table and writes benchmarks/results/emoji_quality.json (and --grid PNG if asked).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from unclip_core.graph import Node, build_node
from unclip_core.image_output import grid, save_image
from unclip_core.images import to_pil
from unclip_core.pipeline import Pipeline
from unclip_core.plugins import get_registry

RESULTS = Path(__file__).parent / "results"


def load_emoji(pipe: Pipeline, split: str = "held-out", limit: int | None = None):
    """(all characters, all images, all bare names, indices of the split to evaluate) from the
    model's data section. held-out: its first `limit` emoji (code-point order, as earlier results);
    train: `limit` spread evenly over the training emoji, so every group is represented."""
    node = pipe.graph.data
    if node is None or node.type != "emoji":
        raise SystemExit("this model's graph has no `data: {type: emoji}` section to evaluate on")
    config = node.config.model_copy(update={"phrasings": False, "captions": ["name"]})  # bare CLDR names as prompts
    source = get_registry().get("dataset", "emoji")(config)
    train, val = source.train_set(), source.val_set()
    characters = train.characters + val.characters
    images = torch.cat([torch.stack([d[i]["image"] for i in range(len(d))]) for d in (train, val) if len(d)])
    names = train.captions + val.captions
    if split == "held-out":
        return characters, images, names, list(range(len(train), len(characters)))[:limit]
    chosen = range(len(train)) if limit is None else torch.linspace(0, len(train) - 1, min(limit, len(train))).round().long().tolist()
    return characters, images, names, list(chosen)


def add_split_arguments(parser: argparse.ArgumentParser, limit: int | None) -> None:
    parser.add_argument("--split", choices=["held-out", "train"], default="held-out",
                        help="held-out: emoji never trained on; train: training emoji, prompted by their bare names")
    parser.add_argument("--limit", type=int, default=limit, help="evaluate only N emoji of the split")


def border_mean(images: torch.Tensor, width: int = 2) -> float:
    """Mean of the outermost `width` pixels of every image (all channels)."""
    inner = torch.ones_like(images[0, 0], dtype=torch.bool)
    inner[width:-width, width:-width] = False
    return images[..., inner].float().mean().item()


def ranks(queries: torch.Tensor, keys: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """1-based rank of each query's target among all keys, by cosine (embeddings are unit-norm)."""
    scores = queries @ keys.T
    true = scores.gather(1, targets[:, None])
    return (scores > true).sum(1) + 1


@torch.no_grad()
def embed_images(pipe: Pipeline, images: torch.Tensor, batch: int) -> torch.Tensor:
    return torch.cat([pipe.encode_image(images[i : i + batch]).float() for i in range(0, len(images), batch)])


@torch.no_grad()
def generate(pipe: Pipeline, prompts: list[str], z_i: torch.Tensor | None, seed: int, batch: int) -> torch.Tensor:
    """Images for the prompts; with `z_i` the prior is skipped (the oracle row)."""
    out = []
    generator = torch.Generator(pipe.device).manual_seed(seed)
    c = pipe.components
    for i in range(0, len(prompts), batch):
        if z_i is None:
            out.append(pipe.generate(prompts[i : i + batch], generator=generator))
            continue
        text = pipe.encode_text(prompts[i : i + batch])
        images = c.decoder.sample(z_i[i : i + batch].to(pipe.device), text, generator=generator)
        for upsampler in c.upsamplers:
            images = upsampler.sample(images, generator=generator)
        out.append(images.float())
    return torch.cat(out).cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="model name or pipeline folder (default: the default model)")
    parser.add_argument("--priors", default="diffusion_prior,text_as_image", help="priors to compare; the model's own is used for its type")
    add_split_arguments(parser, None)
    parser.add_argument("--no-oracle", action="store_true",
                        help="skip the decoder-from-true-z_i row (it depends only on the decoder and upsamplers)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--grid", default=None, help="also write a PNG: true | generated pairs for 16 prompts")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of the model's graph, e.g. upsamplers.0.sampler.steps=2 (repeatable)")
    parser.add_argument("--out", default=str(RESULTS / "emoji_quality.json"))
    args = parser.parse_args()

    start = time.time()
    pipe = Pipeline.from_pretrained(args.model, overrides=args.overrides).to(args.device)
    characters, images, names, val = load_emoji(pipe, args.split, args.limit)
    prompts = [names[i] for i in val]
    targets = torch.tensor(val)
    image_keys = embed_images(pipe, images, 256).cpu()
    text_keys = pipe.encode_text(names).embedding.float().cpu()

    def score(label: str, pixels: torch.Tensor, seconds: float) -> dict:
        embeddings = embed_images(pipe, pixels, 256).cpu()
        i2i, i2t = ranks(embeddings, image_keys, targets), ranks(embeddings, text_keys, targets)
        row = {"row": label, "i2i_top1": (i2i <= 1).float().mean().item(), "i2i_top5": (i2i <= 5).float().mean().item(),
               "i2t_top5": (i2t <= 5).float().mean().item(), "i2i_median_rank": i2i.median().item(),
               "border_mean": border_mean(pixels), "seconds": round(seconds, 1)}
        print(f"{label:<34} {row['i2i_top1']:>8.1%} {row['i2i_top5']:>8.1%} {row['i2t_top5']:>8.1%} "
              f"{row['i2i_median_rank']:>8.0f} {row['border_mean']:>8.3f}", flush=True)
        return row

    print(f"{len(prompts)} {args.split} prompts, ranked among {len(characters)} emoji\n")
    print(f"{'':<34} {'i2i@1':>8} {'i2i@5':>8} {'i2t@5':>8} {'median':>8} {'border':>8}")
    rows = [score("true images (ceiling)", images[targets], 0.0)]
    if not args.no_oracle:
        t = time.time()
        oracle = generate(pipe, prompts, image_keys[targets], args.seed, args.batch)
        rows.append(score("decoder from true z_i (oracle)", oracle, time.time() - t))
    samples = {}
    own = pipe.components.prior
    for prior in [p for p in args.priors.split(",") if p]:
        if prior != pipe.graph.prior.type:
            node = Node("prior", "prior", prior, get_registry().get("prior", prior).Config(), {})
            pipe.components.prior = build_node(node, get_registry(), spec=pipe.components.encoder.spec).to(args.device)
        t = time.time()
        samples[prior] = generate(pipe, prompts, None, args.seed, args.batch)
        rows.append(score(f"prior: {prior}", samples[prior], time.time() - t))
        pipe.components.prior = own

    result = {"model": str(args.model or "default"), "overrides": args.overrides, "split": args.split, "prompts": len(prompts), "emoji": len(characters),
              "device": args.device, "machine": platform.machine(), "seed": args.seed, "rows": rows,
              "wall_seconds": round(time.time() - start, 1)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out} ({result['wall_seconds']:.0f}s)")
    if args.grid and samples:
        first = samples[next(iter(samples))][:16]
        pairs = [im for k in range(len(first)) for im in (to_pil(images[val[k] : val[k] + 1])[0], to_pil(first[k : k + 1])[0])]
        save_image(grid(pairs, 8), args.grid)
        (Path(args.grid).with_suffix(".txt")).write_text("\n".join(prompts[:16]) + "\n")
        print(f"wrote {args.grid}")


if __name__ == "__main__":
    main()
