"""How often a generated emoji is recognisably the emoji asked for.

For every held-out prompt of the emoji dataset (its val split: emoji never trained on; or with
`--split train`, training emoji by their bare names), generate
one image, embed it with the pipeline's own CLIP, and rank the true emoji among ALL emoji (train
and val, ~3,800):

  i2i top-5  the true emoji's rendered image is among the 5 closest rendered emoji images
             (image-to-image: the honest measure of the generator)
  i2t top-5  the true emoji's name is among the 5 closest emoji names (image-to-text)
  i2i top-1, any tone
             the closest rendered emoji is the true one in some skin tone: what top-1 would be
             if skin tones did not count (it tells a wrong emoji from a wrong tone)
  border     mean value of the images' outermost 2 pixels, in [-1, 1]: emoji sit on white (1.0),
             so a generator that tints or grains its backgrounds scores lower

Rows: the true images themselves (the ceiling of i2t; i2i is trivially 100%); for a model with
upsamplers, the true images shrunk to the decoder's size (as its training data is) and put
through the upsamplers (the ceiling of a decoder that drew exactly the true image, so what the
decoder's resolution and the upsamplers lose); the decoder fed the true z_i (an oracle prior:
what the decoder and upsamplers lose); and each prior.

i2i top-1 and top-5 are also broken down by kind of emoji, which shows what a model misses:
held-out emoji by what was held out (a new skin tone of an emoji trained in other tones, or a
new emoji: its whole family held out), training emoji by whether they come in skin tones (a
family of tones shares one shape; an emoji without tones is the only image of its kind), and,
where Debian's unicode-data is installed, every split by Unicode group (people & body, food &
drink, flags, ...).

Each rate comes with its 95% bootstrap interval over the prompts: how far it would move for
other emoji like these. With `--samples N` every prompt is drawn N times (seeds seed to
seed+N-1), which averages out the sampling noise; the row then also lists the rate each seed
alone gives, the spread that remains for exactly these emoji. Every row keeps each prompt's
ranks, so two runs on the same prompts can be compared pairwise (benchmarks/compare_quality.py).

    python benchmarks/emoji_quality.py [--model NAME_OR_FOLDER] [--split held-out|train] [--limit N] [--samples N] [--priors diffusion_prior,text_as_image] [--no-oracle] [--set KEY=VALUE]

Prints a table and writes benchmarks/results/emoji_quality.json (and --grid PNG if asked).
"""

from __future__ import annotations

import argparse
import platform
import time
from collections import Counter
from pathlib import Path

import torch

from unclip_core.errors import ConfigError
from unclip_core.graph import Node, build_node
from unclip_core.image_output import grid, save_image
from unclip_core.images import resize, to_pil
from unclip_core.metrics import bootstrap_interval
from unclip_core.pipeline import Pipeline
from unclip_core.plugins import get_registry
from unclip_plugins.datasets.emoji_annotations import group_caption
from unclip_plugins.datasets.emoji_split import family

from common import to_json  # benchmarks/common.py

RESULTS = Path(__file__).parent / "results"
# The rates reported: (name, which ranks, k). i2i_tone ranks the true emoji's skin-tone family.
RATES = (("i2i_top1", "i2i", 1), ("i2i_top5", "i2i", 5), ("i2t_top5", "i2t", 5), ("i2i_top1_any_tone", "i2i_tone", 1))


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


def unicode_groups(pipe: Pipeline, characters: list[str]) -> list[str] | None:
    """Each emoji's Unicode group ('food & drink'; 'unlisted' if the data predates it), or None
    where Debian's unicode-data is not installed."""
    try:
        captions = [group_caption(c, pipe.graph.data.config.unicode_dir) for c in characters]
    except ConfigError:
        return None
    return ["unlisted" if caption is None else caption.rsplit(", ", 1)[-1] for caption in captions]


def held_out_kinds(characters: list[str], val: list[int]) -> list[str]:
    """For held-out prompts, what was held out: a new tone of an emoji trained in other tones, or
    a new emoji. The training emoji are the ones listed before the first held-out one."""
    trained = {family(c) for c in characters[: val[0]]}
    return ["new skin tone" if family(characters[i]) in trained else "new emoji" for i in val]


def family_kinds(characters: list[str], chosen: list[int]) -> list[str]:
    """For training prompts: an emoji with no skin tones (one image of its kind in training), or a
    member of a skin-tone family (which shares its shape with its other tones)."""
    sizes = Counter(map(family, characters))
    return ["skin-tone family" if sizes[family(characters[i])] > 1 else "no skin tones" for i in chosen]


def kinds_by_size(kinds: list[str]) -> list[str]:
    """The distinct kinds, the most common first (ties by name)."""
    return sorted(set(kinds), key=lambda kind: (-kinds.count(kind), kind))


def print_breakdown(rows: list[dict], kinds: list[str], title: str) -> None:
    """i2i top-1 / top-5 of every generated row, per kind of prompt, the most common kind first."""
    rows = [row for row in rows if row["row"] != "true images (ceiling)"]
    ranked = [torch.tensor(row["i2i_ranks"]).view(len(kinds), -1) for row in rows]
    labels = ["oracle" if row["row"].startswith("decoder") else row["row"].removeprefix("prior: ") for row in rows]
    print(f"\n{f'i2i@1 / @5 by {title}':<32} {'prompts':>7} " + " ".join(f"{label:>16}" for label in labels))
    for kind in kinds_by_size(kinds):
        members = torch.tensor([k == kind for k in kinds])
        rates = [f"{(r[members] <= 1).double().mean().item():.1%} / {(r[members] <= 5).double().mean().item():.1%}" for r in ranked]
        print(f"{kind:<32} {int(members.sum()):>7} " + " ".join(f"{rate:>16}" for rate in rates))


def borders(images: torch.Tensor, width: int = 2) -> torch.Tensor:
    """Per image, the mean of its outermost `width` pixels (all channels)."""
    edge = torch.ones_like(images[0, 0], dtype=torch.bool)
    edge[width:-width, width:-width] = False
    return images[..., edge].float().mean((1, 2))


def border_mean(images: torch.Tensor, width: int = 2) -> float:
    """Mean of the outermost `width` pixels of every image (all channels)."""
    return borders(images, width).mean().item()


def ranks(scores: torch.Tensor, targets: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor:
    """1-based rank of each query's target among all keys, from (queries, keys) cosines.
    With `groups` (one id a key), the rank of the target's group: of its best-scoring member."""
    if groups is None:
        true = scores.gather(1, targets[:, None])
    else:
        same = groups[None, :] == groups[targets][:, None]
        true = scores.masked_fill(~same, float("-inf")).amax(1, keepdim=True)
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
        out.append(through_upsamplers(pipe, images, generator))
    return torch.cat(out).cpu()


def through_upsamplers(pipe: Pipeline, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A decoder-sized batch put through the model's upsamplers, as float32."""
    for upsampler in pipe.components.upsamplers:
        images = upsampler.sample(images, generator=generator)
    return images.float()


@torch.no_grad()
def upsample(pipe: Pipeline, images: torch.Tensor, seed: int, batch: int) -> torch.Tensor:
    """`images` put through the model's upsamplers, as a decoder's output is."""
    generator = torch.Generator(pipe.device).manual_seed(seed)
    out = [through_upsamplers(pipe, images[i : i + batch].to(pipe.device), generator) for i in range(0, len(images), batch)]
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
    parser.add_argument("--samples", type=int, default=1, help="images per prompt, from seeds seed to seed+N-1")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--grid", default=None, help="also write a PNG: true | generated pairs for 16 prompts")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of the model's graph, e.g. upsamplers.0.sampler.steps=2 (repeatable)")
    parser.add_argument("--out", default=str(RESULTS / "emoji_quality.json"))
    args = parser.parse_args()
    if args.samples < 1:
        parser.error(f"--samples {args.samples}: give 1 or more images per prompt")

    start = time.time()
    pipe = Pipeline.from_pretrained(args.model, overrides=args.overrides).to(args.device)
    characters, images, names, val = load_emoji(pipe, args.split, args.limit)
    prompts = [names[i] for i in val]
    targets = torch.tensor(val)
    image_keys = embed_images(pipe, images, 256).cpu()
    text_keys = pipe.encode_text(names).embedding.float().cpu()
    families = {key: i for i, key in enumerate(dict.fromkeys(map(family, characters)))}
    tone_families = torch.tensor([families[family(c)] for c in characters])  # every skin tone of an emoji shares an id

    def score(label: str, pixels: torch.Tensor, seconds: float) -> dict:
        """The row for images of every prompt, `samples` passes over the prompts one after the other."""
        embeddings = embed_images(pipe, pixels, 256).cpu()
        passes = len(pixels) // len(targets)
        # (prompts, samples) ranks: a prompt's draws stay together when the bootstrap resamples prompts.
        # Embeddings are unit-norm: a dot product is a cosine. The image scores serve both i2i ranks.
        image_scores, text_scores, repeated = embeddings @ image_keys.T, embeddings @ text_keys.T, targets.repeat(passes)
        found = {kind: ranks(scores, repeated, groups).view(passes, -1).T
                 for kind, scores, groups in (("i2i", image_scores, None), ("i2t", text_scores, None), ("i2i_tone", image_scores, tone_families))}
        row = {"row": label}
        for name, kind, k in RATES:
            row[name] = (found[kind] <= k).float().mean().item()
        row |= {"i2i_median_rank": found["i2i"].median().item(), "border_mean": border_mean(pixels),
                # Each prompt's border over its samples, for prompt-by-prompt comparisons (compare_quality.py).
                "border_per_prompt": borders(pixels).view(passes, -1).mean(0).tolist(), "seconds": round(seconds, 1),
                "ci95": {name: bootstrap_interval(found[kind], lambda r, k=k: (r <= k).float().mean((1, 2))) for name, kind, k in RATES}}
        if passes > 1:
            row["per_seed"] = {name: (found[kind] <= k).float().mean(0).tolist() for name, kind, k in RATES}
        # One rank a prompt when each was drawn once, a list a prompt otherwise.
        row |= {f"{kind}_ranks": (ranked if passes > 1 else ranked[:, 0]).tolist() for kind, ranked in found.items()}
        rates = " ".join(f"{row[name]:>6.1%} [{100 * row['ci95'][name][0]:>3.0f}-{100 * row['ci95'][name][1]:>3.0f}]" for name, _, _ in RATES)
        print(f"{label:<34} {rates} {row['i2i_median_rank']:>6.0f} {row['border_mean']:>6.3f}", flush=True)
        if passes > 1:
            print(f"{'  each seed alone':<34} " + " ".join(f"{' / '.join(f'{100 * x:.1f}' for x in row['per_seed'][name]):^16}" for name, _, _ in RATES))
        return row

    def draw(z_i: torch.Tensor | None) -> torch.Tensor:
        return torch.cat([generate(pipe, prompts, z_i, args.seed + j, args.batch) for j in range(args.samples)])

    print(f"{len(prompts)} {args.split} prompts x {args.samples} samples, ranked among {len(characters)} emoji (95% intervals over prompts)\n")
    print(f"{'':<34} {'i2i@1':^16} {'i2i@5':^16} {'i2t@5':^16} {'i2i@1 any tone':^16} {'median':>6} {'border':>6}")
    rows = [score("true images (ceiling)", images[targets], 0.0)]
    if pipe.components.upsamplers:
        t = time.time()
        shrunk = resize(images[targets], pipe.components.decoder.image_size)
        rows.append(score("true at decoder size, upsampled", upsample(pipe, shrunk, args.seed, args.batch), time.time() - t))
    if not args.no_oracle:
        t = time.time()
        oracle = draw(image_keys[targets])
        rows.append(score("decoder from true z_i (oracle)", oracle, time.time() - t))
    samples = {}
    own = pipe.components.prior
    for prior in [p for p in args.priors.split(",") if p]:
        if prior != pipe.graph.prior.type:
            node = Node("prior", "prior", prior, get_registry().get("prior", prior).Config(), {})
            pipe.components.prior = build_node(node, get_registry(), spec=pipe.components.encoder.spec).to(args.device)
        t = time.time()
        samples[prior] = draw(None)
        rows.append(score(f"prior: {prior}", samples[prior], time.time() - t))
        pipe.components.prior = own
    breakdowns = {"Unicode group": unicode_groups(pipe, [characters[i] for i in val])}
    if args.split == "held-out" and val:
        breakdowns["what was held out"] = held_out_kinds(characters, val)
    if args.split == "train":
        breakdowns["skin tones"] = family_kinds(characters, val)
    for title, kinds in breakdowns.items():
        if kinds is not None:
            print_breakdown(rows, kinds, title)

    result = {"model": str(args.model or "default"), "overrides": args.overrides, "split": args.split, "prompts": len(prompts), "prompt_names": prompts, "prompt_kinds": breakdowns, "emoji": len(characters),
              "device": args.device, "machine": platform.machine(), "seed": args.seed, "samples": args.samples, "rows": rows,
              "wall_seconds": round(time.time() - start, 1)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(to_json(result))
    print(f"\nwrote {args.out} ({result['wall_seconds']:.0f}s)")
    if args.grid and samples:
        first = samples[next(iter(samples))][:16]
        pairs = [im for k in range(len(first)) for im in (to_pil(images[val[k] : val[k] + 1])[0], to_pil(first[k : k + 1])[0])]
        save_image(grid(pairs, 8), args.grid)
        (Path(args.grid).with_suffix(".txt")).write_text("\n".join(prompts[:16]) + "\n")
        print(f"wrote {args.grid}")


if __name__ == "__main__":
    main()
