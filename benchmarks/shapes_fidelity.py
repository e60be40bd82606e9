"""Prompt fidelity of a shapes model, read off its pixels by the shapes oracle.

Every color x shape x size x position combination is drawn once, its caption in one of the six
phrasings (cycling), from the model's own settings and a seeded generator: the 360 seen
combinations and the 72 of the held-out color+shape pairs (red triangle, green circle, blue
cross, yellow square) that no stage ever trained on. Reported per group: each attribute's
accuracy, the share of all attributes right, and all four right at once.

    python benchmarks/shapes_fidelity.py [--model unclip-shapes] [--seeds 0 1 2] [--grid docs/images/shapes_model_grid.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from common import print_table, setup_device, write_json  # benchmarks/common.py
from unclip_core.image_output import grid, save_image
from unclip_core.images import to_pil
from unclip_core.pipeline import Pipeline
from unclip_plugins.datasets.shapes_attributes import ATTRIBUTE_NAMES, split_combinations
from unclip_plugins.datasets.shapes_captions import PHRASINGS, caption
from unclip_plugins.datasets.shapes_oracle import judge

RESULTS = Path(__file__).parent / "results"
GROUPS = {"seen": "train", "held_out": "val"}


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="unclip-shapes", help="pipeline folder or registered name")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--batch", type=int, default=72, help="prompts per generate call")
    parser.add_argument("--limit", type=int, default=None, help="only every k-th combination, N per group (a quick look)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--grid", type=Path, default=None, help="also save the first seed's held-out images and 72 seen ones")
    parser.add_argument("--out", type=Path, default=RESULTS / "shapes_fidelity.json")
    args = parser.parse_args()

    device, _ = setup_device(args.device)
    pipe = Pipeline.from_pretrained(args.model).to(device)
    rows, shown = [], []
    for group, split in GROUPS.items():
        combinations = split_combinations(split)
        if args.limit is not None:
            combinations = combinations[:: max(1, len(combinations) // args.limit)][: args.limit]
        prompts = [caption(a, phrasing=i % len(PHRASINGS)) for i, a in enumerate(combinations)]
        per_seed = []
        for seed in args.seeds:
            generator = torch.Generator(device).manual_seed(seed)
            start = time.perf_counter()
            images = torch.cat([
                pipe.generate(prompts[i : i + args.batch], generator=generator, progress=False).float().cpu()
                for i in range(0, len(prompts), args.batch)
            ])
            seconds = (time.perf_counter() - start) / len(prompts)
            verdicts = [judge(image, prompt) for image, prompt in zip(images, prompts)]
            per_seed.append({
                **{name: sum(v[name] for v in verdicts) / len(verdicts) for name in ATTRIBUTE_NAMES},
                "attributes": sum(v[n] for v in verdicts for n in ATTRIBUTE_NAMES) / (len(verdicts) * len(ATTRIBUTE_NAMES)),
                "all_four": sum(all(v[n] for n in ATTRIBUTE_NAMES) for v in verdicts) / len(verdicts),
                "seconds_per_image": seconds,
            })
            if seed == args.seeds[0]:
                shown.append(images[:: max(1, len(images) // 72)][:72])
        columns = per_seed[0].keys()
        means = {c: sum(s[c] for s in per_seed) / len(per_seed) for c in columns}
        spread = {f"{c}_min": min(s[c] for s in per_seed) for c in ("attributes", "all_four")}
        rows.append({"group": group, "prompts": len(prompts), "seeds": len(args.seeds),
                     **{c: round(v, 4) for c, v in {**means, **spread}.items()}})
    print_table(rows)
    write_json(args.out, device, {"model": args.model, "seeds": args.seeds, "limit": args.limit}, rows)
    if args.grid is not None:
        save_image(grid(to_pil(torch.cat(shown)), 12), args.grid)
        print(f"wrote {args.grid}")


if __name__ == "__main__":
    main()
