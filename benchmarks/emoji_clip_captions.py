"""CLIP trained on emoji with names only against names, CLDR keywords and Unicode groups.

    python benchmarks/emoji_clip_captions.py [--steps 900] [--batch 128] [--val-every 150] [--runs runs/clip-captions]
                                             [--prior-steps 1117] [--prior-batch 256]

Trains configs/emoji.yaml's CLIP from scratch twice, the same steps and batch, once with
`data.captions=[name]` and once with `[name, keywords, group]` (docs/data.md), both side by side
on the CPU with one thread each, and reports what each run's validation logged every
`--val-every` steps: held-out image -> name retrieval among the 269 held-out names, and the
held-out contrastive loss. Writes benchmarks/results/emoji_clip_captions.json.

Then, unless `--prior-steps 0`, it follows each CLIP one stage down: a diffusion prior trained on
it (the graph's prior, names as captions for both, since names are what it is asked for), side
by side again, and measures the step a generated emoji starts from. For every held-out name,
the prior's z_i and, as the baseline, the caption's own z_t are compared with all 3,789 emoji's
image embeddings of the same CLIP: cosine to the true z_i, and the rank of the true emoji
(top-1 / top-5). Rates come per kind of held-out emoji (a new skin tone of a trained emoji, or
a new emoji), with 95% bootstrap intervals over the emoji, and the two CLIPs are compared
emoji by emoji. The bundled model (trained on a GPU, longer) is measured the same way for
scale. Writes benchmarks/results/emoji_clip_captions_prior.json.

A run folder that already holds its last step's validation (CLIP) or its exported prior is read,
not trained again.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from compare_quality import compare  # benchmarks/compare_quality.py
from emoji_quality import embed_images, held_out_kinds, kinds_by_size, load_emoji, ranks  # benchmarks/emoji_quality.py
from unclip_core.metrics import bootstrap_interval
from unclip_core.pipeline import Pipeline

from common import print_table, to_json, write_json  # benchmarks/common.py

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
VARIANTS = {"name": "[name]", "name+keywords+group": "[name,keywords,group]"}
BUNDLED = "bundled (GPU)"


def command(steps: int, batch: int, val_every: int, captions: str, run_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "unclip_core.cli", "train", "clip", "--config", str(ROOT / "configs" / "emoji.yaml"),
        "trainer.accelerator=cpu", "trainer.precision=32-true", f"trainer.max_steps={steps}",
        "trainer.check_val_every_n_epoch=null", f"trainer.val_check_interval={val_every}", "trainer.num_sanity_val_steps=0",
        "trainer.log_every_n_steps=25", "train.clip.warmup_steps=50", f"train.clip.batch_size={batch}",
        f"data.captions={captions}", "data.num_workers=0", f"run_dir={run_dir}",
    ]


def prior_command(steps: int, batch: int, run_dir: Path) -> list[str]:
    """The graph's prior on the CLIP in `run_dir`, trained as the bundled one was (its steps and batch by default)."""
    return [
        sys.executable, "-m", "unclip_core.cli", "train", "prior", "--config", str(ROOT / "configs" / "emoji.yaml"),
        "trainer.accelerator=cpu", "trainer.precision=32-true", f"trainer.max_steps={steps}",
        "trainer.check_val_every_n_epoch=100000", "trainer.num_sanity_val_steps=0", "trainer.log_every_n_steps=50",
        f"train.prior.batch_size={batch}", "data.captions=[name]", "data.num_workers=0", f"run_dir={run_dir}",
    ]


def run_dir_of(runs: Path, variant: str) -> Path:
    return runs / variant.replace("+", "-")


def run_side_by_side(commands: dict[str, list[str]], runs: Path, log_name: str) -> None:
    """Run each variant's command at once, one thread each, its output in the run folder's `log_name`."""
    pending = {}
    for variant, argv in commands.items():
        run_dir = run_dir_of(runs, variant)
        run_dir.mkdir(parents=True, exist_ok=True)
        with (run_dir / log_name).open("w") as log:  # the child keeps its own copy open
            pending[variant] = subprocess.Popen(argv, stdout=log, stderr=log, env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT)
    for variant, process in pending.items():
        if process.wait() != 0:
            raise SystemExit(f"{variant}: training failed, see {run_dir_of(runs, variant) / log_name}")


def validations(run_dir: Path) -> list[dict[str, float]]:
    """Every validation the run logged, in step order."""
    rows = []
    for path in sorted(run_dir.glob("clip/logs/version_*/metrics.csv")):
        with path.open() as f:
            rows += [row for row in csv.DictReader(f) if row.get("val/i2t_top1")]
    return sorted(({key: float(value) for key, value in row.items() if value} for row in rows), key=lambda row: row["step"])


@torch.no_grad()
def prior_measures(model: str | Path | None, seed: int = 0) -> tuple[dict[str, dict[str, torch.Tensor]], list[str], list[str]]:
    """For each held-out name: the cosine of the prior's z_i and of the caption's z_t to the true
    z_i, and the true emoji's rank among every emoji's image embedding by each (the model's own
    CLIP throughout). Also each name's kind and the names."""
    pipe = Pipeline.from_pretrained(model)
    characters, images, names, val = load_emoji(pipe)
    keys = F.normalize(embed_images(pipe, images, 256), dim=-1)
    text = pipe.encode_text([names[i] for i in val])
    predicted = pipe.components.prior.sample(text, generator=torch.Generator().manual_seed(seed))
    targets = torch.tensor(val)
    measures = {}
    for guess, z in (("prior", predicted), ("caption", text.embedding)):
        scores = F.normalize(z.float(), dim=-1) @ keys.T
        measures[guess] = {"cos": scores.gather(1, targets[:, None])[:, 0], "ranks": ranks(scores, targets)}
    return measures, held_out_kinds(characters, val), [names[i] for i in val]


def kind_masks(kinds: list[str]) -> list[tuple[str, torch.Tensor]]:
    """(kind, which emoji) for all emoji, then for each kind, the most common first."""
    return [(kind, torch.tensor([kind in ("all", k) for k in kinds])) for kind in ("all", *kinds_by_size(kinds))]


def per_emoji(measures: dict[str, torch.Tensor], members: torch.Tensor) -> dict[str, torch.Tensor]:
    """The chosen emoji's cosine to the true z_i and top-1 / top-5 hits, one value an emoji."""
    ranked = measures["ranks"][members]
    return {"cos_true": measures["cos"][members], "top1": (ranked <= 1).double(), "top5": (ranked <= 5).double()}


def prior_rows(measured: dict, kinds: list[str]) -> list[dict]:
    """Cosine, top-1 and top-5 with their intervals, per model, guess and kind of emoji."""
    rows = []
    for kind, members in kind_masks(kinds):
        for model, guesses in measured.items():
            for guess, measures in guesses.items():
                row = {"kind": kind, "emoji": int(members.sum()), "clip": model, "z_i from": guess}
                for name, values in per_emoji(measures, members).items():
                    low, high = bootstrap_interval(values, lambda r: r.mean(1))
                    row[name] = round(values.mean().item(), 4)
                    row[f"{name}_ci95"] = f"[{low:.3f}, {high:.3f}]"
                rows.append(row)
    return rows


def paired_rows(measured: dict, kinds: list[str], base: str, new: str) -> list[dict]:
    """`new` minus `base`, emoji by emoji (both asked the same names), with 95% paired intervals
    (compare_quality.py's comparison, one row per guess)."""
    rows = []
    for kind, members in kind_masks(kinds):
        runs = [{"rows": [{"row": guess, "per_prompt": per_emoji(measures, members)} for guess, measures in measured[model].items()]}
                for model in (base, new)]
        by_guess: dict[str, dict] = {}
        for entry in compare(*runs):
            low, high = entry["ci95"]
            row = by_guess.setdefault(entry["row"], {"kind": kind, "emoji": int(members.sum()), "z_i from": entry["row"]})
            row[entry["rate"]] = f"{entry['difference']:+.4f} [{low:+.3f}, {high:+.3f}]"
        rows += by_guess.values()
    return rows


def follow_to_prior(args: argparse.Namespace) -> None:
    """Train a prior on each CLIP (unless exported already) and measure where it puts each held-out name."""
    pending = {variant: prior_command(args.prior_steps, args.prior_batch, run_dir_of(args.runs, variant))
               for variant in VARIANTS if not (run_dir_of(args.runs, variant) / "pipeline" / "prior.safetensors").is_file()}
    run_side_by_side(pending, args.runs, "prior.log")

    measured, kinds, names = {}, [], []
    for model in (*VARIANTS, BUNDLED):
        folder = None if model == BUNDLED else run_dir_of(args.runs, model) / "pipeline"
        measured[model], kinds, names = prior_measures(folder)
    rows = prior_rows(measured, kinds)
    print_table(rows)
    base, new = VARIANTS
    paired = paired_rows(measured, kinds, base, new)
    print(f"\n{new} minus {base}, emoji by emoji (95% paired bootstrap interval):")
    print_table(paired)
    result = {
        "settings": {
            "device": platform.processor() or "cpu", "torch": torch.__version__, "threads_per_run": 1, "precision": "fp32",
            "clip_steps": args.steps, "clip_batch": args.batch, "prior_steps": args.prior_steps, "prior_batch": args.prior_batch,
            "prior_captions": "[name]", "heldout_names": len(names), "keys": "every emoji's image embedding (train and held-out)",
            "command": "python benchmarks/emoji_clip_captions.py " + " ".join(sys.argv[1:]),
            "prompt_names": names, "prompt_kinds": kinds,
        },
        "results": rows,
        "paired": {"base": base, "new": new, "rows": paired},
        "per_emoji": {model: {guess: {"cos": [round(v, 4) for v in m["cos"].tolist()], "ranks": m["ranks"].tolist()}
                              for guess, m in guesses.items()} for model, guesses in measured.items()},
    }
    out = RESULTS / "emoji_clip_captions_prior.json"
    out.write_text(to_json(result))
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--val-every", type=int, default=150, help="validate every N steps (N divides --steps)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "clip-captions")
    parser.add_argument("--prior-steps", type=int, default=1117, help="steps of the prior on each CLIP (0: no prior)")
    parser.add_argument("--prior-batch", type=int, default=256)
    args = parser.parse_args()

    last_step = args.steps - 1
    run_side_by_side({variant: command(args.steps, args.batch, args.val_every, captions, run_dir_of(args.runs, variant))
                      for variant, captions in VARIANTS.items()
                      if not any(row["step"] == last_step for row in validations(run_dir_of(args.runs, variant)))},
                     args.runs, "train.log")

    results = []
    for variant in VARIANTS:
        for row in validations(run_dir_of(args.runs, variant)):
            results.append({
                "captions": variant, "step": int(row["step"]) + 1, "pairs_seen": (int(row["step"]) + 1) * args.batch,
                "heldout_top1": round(row["val/i2t_top1"], 4), "heldout_top5": round(row["val/i2t_top5"], 4),
                "heldout_loss": round(row["val/loss"], 3),
            })
    settings = {"steps": args.steps, "batch": args.batch, "val_every": args.val_every, "threads_per_run": 1, "heldout_names": 269,
                "command": "python benchmarks/emoji_clip_captions.py " + " ".join(sys.argv[1:])}
    print_table(results)
    write_json(RESULTS / "emoji_clip_captions.json", torch.device("cpu"), settings, results)
    if args.prior_steps:
        follow_to_prior(args)


if __name__ == "__main__":
    main()
