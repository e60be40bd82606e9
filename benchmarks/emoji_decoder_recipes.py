"""Which of two or more decoder recipes makes the emoji decoder learn faster, per image seen.

    python benchmarks/emoji_decoder_recipes.py --runs R [--steps 500,1000,1500,2000] [--limit 256]
        [--variant NAME [KEY=VALUE ...]]... [--batch 64] [--set KEY=VALUE ...] --out FILE [--plot PNG]

Decoders train from scratch side by side (one process and one thread each), identical but for
each --variant's graph overrides; the default pair is plain MSE (the bundled decoder's loss)
against min-SNR weighting (`plain` and `min_snr_5 decoder.min_snr_gamma=5.0`). All use
`configs/emoji.yaml` with --set (default a 32-channel eps decoder) on the first --limit emoji
(0: every emoji; `--set data.family_fraction=F` keeps whole families instead), so that a CPU run
sees each training emoji about as often as the bundled decoder saw each of its 3,520 on a GPU,
and all read the same batches (same seed) unless a variant changes how they are drawn. They learn
from the bundled model's CLIP; its upsampler finishes their samples. At every step count in
--steps, each run's EMA decoder is exported and measured by `emoji_quality.py --split train
--priors ''`: every training emoji of the subset drawn from its true z_i and ranked among all
emoji of the subset by the bundled CLIP. At the last step count every variant is compared with
the first prompt by prompt (`compare_quality.py`), with 95% paired intervals, and broken down by
kind of emoji (with or without skin tones, Unicode group); --plot draws every run's top-1 and
top-5 against images seen.
Runs resume: a step count already measured is read, not trained again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import to_json  # benchmarks/common.py
from compare_quality import compare, load
from emoji_quality import kinds_by_size  # benchmarks/emoji_quality.py

HERE = Path(__file__).parent
ROOT = HERE.parent
BUNDLED = ROOT / "models" / "unclip-emoji"
# The stages a decoder run borrows from the bundled model: CLIP embeds its data, the prior and
# the upsampler make the exported folder a whole pipeline for emoji_quality.py.
BORROWED = ("encoder", "prior", "upsampler_0")
DEFAULT_SET = ["decoder.channels=32", "decoder.prediction=eps"]
DEFAULT_VARIANTS = [["plain"], ["min_snr_5", "decoder.min_snr_gamma=5.0"]]
ORACLE = "decoder from true z_i (oracle)"  # emoji_quality.py's row for images drawn from the true z_i


def oracle_row(result: dict) -> dict:
    return next(row for row in result["rows"] if row["row"] == ORACLE)


def by_kind(results: dict[str, dict]) -> dict[str, dict[str, dict]]:
    """Each variant's oracle top-1 / top-5 per kind of prompt (emoji_quality.py's `prompt_kinds`:
    skin tones, Unicode group), {title: {kind: {variant: rates}}}."""
    table: dict[str, dict[str, dict]] = {}
    for name, result in results.items():
        ranks = oracle_row(result)["i2i_ranks"]
        for title, kinds in (result.get("prompt_kinds") or {}).items():
            for kind in kinds_by_size(kinds or []):
                chosen = [r for rank, k in zip(ranks, kinds) if k == kind for r in (rank if isinstance(rank, list) else [rank])]
                table.setdefault(title, {}).setdefault(kind, {})[name] = {
                    "prompts": len(chosen), "i2i_top1": sum(r <= 1 for r in chosen) / len(chosen),
                    "i2i_top5": sum(r <= 5 for r in chosen) / len(chosen)}
    return table


def train_command(run: Path, steps: int, args: argparse.Namespace, extra: list[str]) -> list[str]:
    return [
        "train", "decoder", "--config", str(ROOT / "configs" / "emoji.yaml"), f"run_dir={run}",
        *([f"data.limit={args.limit}"] if args.limit else []), f"train.decoder.max_steps={steps}", f"train.decoder.batch_size={args.batch}",
        "trainer.check_val_every_n_epoch=100000", "trainer.num_sanity_val_steps=0", *args.overrides, *extra,
    ]


def run_variant(name: str, extra: list[str], args: argparse.Namespace) -> dict[int, dict]:
    """Train `name` up to each step count in turn (resuming), measuring after each."""
    run = Path(args.runs) / name
    (run / "pipeline").mkdir(parents=True, exist_ok=True)
    for stem in BORROWED:
        target = run / "pipeline" / f"{stem}.safetensors"
        if not target.is_file():
            shutil.copy2(BUNDLED / f"{stem}.safetensors", target)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    measured = {}
    for steps in args.steps:
        out = run / f"quality_{steps}.json"
        if not out.is_file():
            start = time.time()
            with open(run / "train.log", "a") as log:
                subprocess.run([sys.executable, "-m", "unclip_core.cli", *train_command(run, steps, args, extra)],
                               check=True, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=run)
            trained = time.time() - start
            with open(run / "quality.log", "a") as log:
                subprocess.run([sys.executable, str(HERE / "emoji_quality.py"), "--model", str(run / "pipeline"), "--priors", "",
                                "--split", "train", "--batch", "64", "--out", str(out)],
                               check=True, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=HERE)
            result = json.loads(out.read_text())
            result["train_seconds"] = round(trained, 1)
            out.write_text(to_json(result))
        else:
            result = json.loads(out.read_text())
        measured[steps] = result
        oracle = oracle_row(result)
        print(f"{name:>10} {steps:>6} steps: i2i top-1 {oracle['i2i_top1']:.1%}, top-5 {oracle['i2i_top5']:.1%}, "
              f"median rank {oracle['i2i_median_rank']:.0f}", flush=True)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", required=True, help="folder for the runs, one subfolder a variant (kept, so a run resumes)")
    parser.add_argument("--steps", default="500,1000,1500,2000", help="step counts to measure at, comma-separated")
    parser.add_argument("--limit", type=int, default=256, help="train on the first N emoji (code-point order; 0: all)")
    parser.add_argument("--variant", dest="variants", action="append", nargs="+", default=None, metavar="NAME [KEY=VALUE]",
                        help="a recipe: its name, then its graph overrides (give two or more; the first is the baseline; "
                             "default: plain, and min_snr_5 decoder.min_snr_gamma=5.0)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--set", dest="overrides", action="append", default=None, metavar="KEY=VALUE",
                        help=f"graph override for every run (repeatable; default {' '.join(DEFAULT_SET)})")
    parser.add_argument("--out", required=True, help="the result JSON (e.g. benchmarks/results/emoji_loss_weighting.json)")
    parser.add_argument("--plot", default=None, help="also write a PNG of the curves")
    args = parser.parse_args()
    args.overrides = DEFAULT_SET if args.overrides is None else args.overrides
    try:
        args.steps = sorted({int(s) for s in args.steps.split(",")})
    except ValueError:
        parser.error(f"--steps {args.steps}: give step counts separated by commas, e.g. 500,1000")
    if args.steps[0] < 1 or args.limit < 0:
        parser.error("--steps must be positive and --limit 0 or more")
    variants = {name: overrides for name, *overrides in (args.variants or DEFAULT_VARIANTS)}
    if len(variants) < 2 or len(variants) != len(args.variants or DEFAULT_VARIANTS):
        parser.error("give two or more --variant, each with its own name")
    bad = [o for overrides in variants.values() for o in overrides if "=" not in o]
    if bad:
        parser.error(f"--variant overrides are KEY=VALUE; got {bad[0]!r}")

    with ThreadPoolExecutor(len(variants)) as pool:
        futures = {name: pool.submit(run_variant, name, extra, args) for name, extra in variants.items()}
        measured = {name: future.result() for name, future in futures.items()}
    baseline = next(iter(measured))
    curve = {name: [{"steps": s, "images": s * args.batch, "train_seconds": m[s].get("train_seconds"),
                     **{k: v for k, v in oracle_row(m[s]).items() if not k.endswith("_ranks") and k != "row"}}
                     for s in args.steps]
             for name, m in measured.items()}
    last = {name: load(str(Path(args.runs) / name / f"quality_{args.steps[-1]}.json")) for name in variants}
    paired = {name: compare(last[baseline], last[name], [ORACLE, ORACLE]) for name in list(variants)[1:]}
    for name, lines in paired.items():
        print(f"\nat {args.steps[-1]} steps, {name} against {baseline} (points, 95% paired interval):")
        for line in lines:
            print(f"  {line['rate']:<18} {line['base']:.1%} -> {line['new']:.1%}: {100 * line['difference']:+.1f} "
                  f"[{100 * line['ci95'][0]:+.1f}, {100 * line['ci95'][1]:+.1f}] ({line['verdict']})")
    # One pair keeps the shape of earlier result files: a list; more pairs are keyed by variant.
    final = next(iter(paired.values())) if len(paired) == 1 else paired
    kinds = by_kind({name: m[args.steps[-1]] for name, m in measured.items()})
    for title, rows in kinds.items():
        print(f"\nat {args.steps[-1]} steps, i2i top-1 / top-5 by {title}:")
        for kind, rates in rows.items():
            cells = "  ".join(f"{name} {r['i2i_top1']:.1%} / {r['i2i_top5']:.1%}" for name, r in rates.items())
            print(f"  {kind:<28} {next(iter(rates.values()))['prompts']:>4}  {cells}")
    result = {
        "settings": {"command": " ".join(["python", "benchmarks/emoji_decoder_recipes.py", *sys.argv[1:]]),
                     "train": " ".join(["unclip", *train_command(Path("RUN"), args.steps[-1], args, [])]).replace(f"{ROOT}/", ""),
                     "variants": variants,
                     "prompts": measured[baseline][args.steps[-1]]["prompts"], "ranked_among": measured[baseline][args.steps[-1]]["emoji"],
                     "threads_per_run": 1},
        "curve": curve, "final_paired": final, "final_by_kind": kinds,
        # Both runs train at once, one core each: the training time of each, summed over its segments.
        "train_seconds": {name: round(sum(p["train_seconds"] or 0 for p in points), 1) for name, points in curve.items()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(to_json(result))
    print(f"wrote {args.out}")
    if args.plot:
        plot(curve, args.plot, result["settings"])
        print(f"wrote {args.plot}")


def plot(curve: dict[str, list[dict]], path: str, settings: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharex=True)
    for axis, rate, title in zip(axes, ("i2i_top1", "i2i_top5"), ("top-1", "top-5")):
        for name, points in curve.items():
            images = [p["images"] / 1e3 for p in points]
            values = [100 * p[rate] for p in points]
            low = [100 * p["ci95"][rate][0] for p in points]
            high = [100 * p["ci95"][rate][1] for p in points]
            axis.plot(images, values, marker="o", label=name)
            axis.fill_between(images, low, high, alpha=0.15)
        axis.set_title(f"decoder from the true z_i: {title}")
        axis.set_xlabel("thousand images seen")
        axis.set_ylabel("% of training emoji")
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle(f"{settings['prompts']} training emoji, ranked among {settings['ranked_among']}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
