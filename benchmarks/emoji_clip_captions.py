"""CLIP trained on emoji with names only against names, CLDR keywords and Unicode groups.

    python benchmarks/emoji_clip_captions.py [--steps 900] [--batch 128] [--val-every 150] [--runs runs/clip-captions]

Trains configs/emoji.yaml's CLIP from scratch twice, the same steps and batch, once with
`data.captions=[name]` and once with `[name, keywords, group]` (docs/data.md), both side by side
on the CPU with one thread each, and reports what each run's validation logged every
`--val-every` steps: held-out image -> name retrieval among the 269 held-out names, and the
held-out contrastive loss. A run folder that already holds its last step's validation is read, not
trained again. Writes benchmarks/results/emoji_clip_captions.json.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

import torch

from common import print_table, write_json  # benchmarks/common.py

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results"
VARIANTS = {"name": "[name]", "name+keywords+group": "[name,keywords,group]"}


def command(steps: int, batch: int, val_every: int, captions: str, run_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "unclip_core.cli", "train", "clip", "--config", str(ROOT / "configs" / "emoji.yaml"),
        "trainer.accelerator=cpu", "trainer.precision=32-true", f"trainer.max_steps={steps}",
        "trainer.check_val_every_n_epoch=null", f"trainer.val_check_interval={val_every}", "trainer.num_sanity_val_steps=0",
        "trainer.log_every_n_steps=25", "train.clip.warmup_steps=50", f"train.clip.batch_size={batch}",
        f"data.captions={captions}", "data.num_workers=0", f"run_dir={run_dir}",
    ]


def run_dir_of(runs: Path, variant: str) -> Path:
    return runs / variant.replace("+", "-")


def validations(run_dir: Path) -> list[dict[str, float]]:
    """Every validation the run logged, in step order."""
    rows = []
    for path in sorted(run_dir.glob("clip/logs/version_*/metrics.csv")):
        with path.open() as f:
            rows += [row for row in csv.DictReader(f) if row.get("val/i2t_top1")]
    return sorted(({key: float(value) for key, value in row.items() if value} for row in rows), key=lambda row: row["step"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--val-every", type=int, default=150, help="validate every N steps (N divides --steps)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "clip-captions")
    args = parser.parse_args()

    last_step = args.steps - 1
    pending = {}
    for variant, captions in VARIANTS.items():
        run_dir = run_dir_of(args.runs, variant)
        if not any(row["step"] == last_step for row in validations(run_dir)):
            run_dir.mkdir(parents=True, exist_ok=True)
            with (run_dir / "train.log").open("w") as log:  # the child keeps its own copy open
                pending[variant] = subprocess.Popen(command(args.steps, args.batch, args.val_every, captions, run_dir),
                                                    stdout=log, stderr=log, env={**os.environ, "OMP_NUM_THREADS": "1"}, cwd=ROOT)
    for variant, process in pending.items():
        if process.wait() != 0:
            raise SystemExit(f"{variant}: training failed, see {run_dir_of(args.runs, variant) / 'train.log'}")

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


if __name__ == "__main__":
    main()
