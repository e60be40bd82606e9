"""`unclip compare EXPERIMENT.yaml [--out DIR] [key=value ...]`: run a comparative experiment."""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTION = """\
Run every variant of an experiment file on the same prompts, seeds and metrics, and write
results.csv, results.md (sorted, best bolded) and plots/ to --out. Finished variants are
recorded and skipped when the command runs again; an interrupted run loses only the variant
it was running.

The experiment file (YAML):
  model: NAME_OR_FOLDER          # base: a trained pipeline (registered name or folder), or
  # graph: CONFIG.yaml           #   a graph to train first (into OUT/base)
  overrides: [KEY=VALUE]         # graph overrides every variant shares
  axes:                          # graph key -> values; one variant per combination
    decoder.sampler.type: [SAMPLER_A, SAMPLER_B]
    decoder.sampler.steps: [4, 8, 16]
  combine: product               # or zip: the i-th value of every axis together
  variants: [{AXIS: VALUE}]      # more variants beside the combinations, each setting some axes
  settings_for:                  # overrides that go with one axis value (keys only that type has)
    decoder.sampler.type=SAMPLER_A: [decoder.sampler.OPTION=VALUE]
  prompts: SOURCE:SPLIT          # e.g. a data set's val split; or a list of strings; or a text file
  max_prompts: 32
  seeds: [0, 1]
  images_per_prompt: 1
  batch_size: 16                 # prompts per generate call
  metrics: [NAME, {type: NAME, OPTION: VALUE}]   # `unclip plugins` lists the metrics
  device: cpu                    # cpu, cuda, cuda:N or auto
  plot_x: AXIS                   # the axis plots put on x (default: the first that counts steps)
  plot_pairs: [[COLUMN_X, COLUMN_Y]]   # trade-offs: one column against another, along plot_x

A variant that changes what a stage learns (e.g. prior.type, prior.depth, train.prior.lr)
trains that stage only, reusing the base's other stages; sampler and guidance changes need
no training. A worked example: configs/experiments/samplers-emoji.yaml and docs/experiments.md.

Overrides: KEY=VALUE changes a key of the file (seeds=[0], max_prompts=8, axes.decoder.sampler.steps=[4]);
a key under a graph section (decoder.guidance_scale=2) is added to `overrides:`.
"""


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "compare", help="run a comparative experiment: variants x prompts x seeds -> tables and plots",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("experiment", help="experiment YAML file (e.g. configs/experiments/samplers-emoji.yaml)")
    parser.add_argument("--out", help="output folder; default runs/experiments/<file name without .yaml>")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--check", action="store_true",
        help="check the file, the base, the prompts, each metric's needs and every variant's graph, then stop (a graph: base is trained first)",
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. seeds=[0] max_prompts=8 device=cuda")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from ..experiments.runner import Comparison
    from ..experiments.spec import load_experiment

    experiment = load_experiment(args.experiment, list(args.overrides))
    out = Path(args.out) if args.out else Path("runs/experiments") / Path(args.experiment).stem
    comparison = Comparison(experiment, out, progress=not args.no_progress)
    if args.check:
        ready = comparison.prepare()
        training = sum(bool(plan.retrain) for plan in ready.plans)
        print(f"{args.experiment}: {len(ready.plans)} variants ({training} train a stage), {len(ready.prompts.prompts)} prompts "
              f"x {experiment.images_per_prompt} images x {len(experiment.seeds)} seeds, metrics {', '.join(m.name for m in comparison.metrics)}: ready")
        return
    records = comparison.run()
    print((out / "results.md").read_text(), end="")
    print(f"{len(records)} variants; results in {out}/results.csv, {out}/results.md and {out}/plots/")
