#!/usr/bin/env bash
# Trains the bundled model's decoder and upsampler further on one GPU (docs/model-card.md),
# keeping its CLIP and diffusion prior, and writes the new model folder (fp16) to OUT/unclip-emoji.
#
#   scripts/retrain_emoji.sh OUT [graph override ...]
#
# Both stages learn from the bundled CLIP's embeddings, so its weights (and the prior's, which
# predicts them) seed the two runs, and each stage starts from its bundled weights. The stages run
# one after the other, each for a wall-clock budget: side by side on one GPU they made fewer
# images per second together than one alone. The AR prior, trained last for the record
# (docs/priors.md), is off unless AR_PRIOR_TIME is set. The folder is assembled from the decoder
# and upsampler runs.
# Budgets and batch size come from the environment: DECODER_TIME, UPSAMPLER_TIME, AR_PRIOR_TIME
# ('DD:HH:MM:SS'; 0 skips that stage, and the model keeps its bundled weights), BATCH; UNCLIP is
# the command (default `unclip`).
# FRESH lists the stages that start from random weights instead, e.g. FRESH=decoder for a
# decoder of another width than the bundled one:
#
#   FRESH=decoder scripts/retrain_emoji.sh OUT decoder.channels=80 decoder.prediction=v
#
# Another prediction alone keeps the shapes, so the bundled weights carry over and learn it
# (decoder.prediction=v without FRESH; docs/decoder.md, "Loss weighting: min-SNR").
# The overrides shape the assembled model too, so its folder loads with the weights just trained.
# Before anything is written, the script checks that the model so shaped keeps all of models/
# within the 64 MiB the repository bundles, in fp16 (80 channels is the widest decoder that does).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/retrain_emoji.sh OUT [graph override ...]" >&2; exit 2; }
OUT=$1
shift
UNCLIP=${UNCLIP:-unclip}
PYTHON=${PYTHON:-python}
RUNS=${RUNS:-runs/emoji-v2}
BATCH=${BATCH:-512}
DECODER_TIME=${DECODER_TIME:-00:00:03:00}
UPSAMPLER_TIME=${UPSAMPLER_TIME:-00:00:01:30}
AR_PRIOR_TIME=${AR_PRIOR_TIME:-0}
FRESH=${FRESH:-}
BUNDLED=models/unclip-emoji
declare -A TIME=([decoder]=$DECODER_TIME [upsampler_0]=$UPSAMPLER_TIME)
for stem in $FRESH; do
  case $stem in decoder|upsampler_0) ;; *) echo "FRESH: '$stem' is not a stage this script trains (decoder, upsampler_0)" >&2; exit 2;; esac
  [ "${TIME[$stem]}" != 0 ] || { echo "FRESH names $stem, whose time is 0: give it a budget or leave it out of FRESH" >&2; exit 2; }
done
# Checked before anything is written: the overrides are valid, the shaped model fits the bundle,
# and every stage that keeps or continues its bundled weights still has their shape.
"$PYTHON" - "$BUNDLED" "$FRESH" "$@" <<'EOF' || exit 2
import sys
from pathlib import Path

from safetensors import safe_open

from unclip_core.cli import report
from unclip_core.graph import build, load_graph
from unclip_core.pipeline import Pipeline
from unclip_core.summary.meta_build import build_on_meta

LIMIT_MIB = 64  # every bundled model together, as tests/test_bundled_model.py holds models/
bundled, fresh, overrides = Path(sys.argv[1]), sys.argv[2].split(), sys.argv[3:]
try:
    graph = load_graph("configs/emoji.yaml", overrides=overrides)
except Exception as exc:  # a wrong override: the one line `unclip` prints for it
    sys.exit(report(exc))
modules = Pipeline(graph, build_on_meta(build, graph)).modules()
fp16 = {stem: 2 * sum(t.numel() for t in m.state_dict().values()) / 2**20 for stem, m in modules.items()}
others = sum(p.stat().st_size for p in bundled.parent.glob("*/*.safetensors") if p.parent != bundled) / 2**20
if sum(fp16.values()) + others > LIMIT_MIB:
    widest = max(fp16, key=fp16.get)
    sys.exit(f"these overrides make {bundled.name} {sum(fp16.values()):.1f} MiB in fp16 ({widest} {fp16[widest]:.1f}) "
             f"and models/ {sum(fp16.values()) + others:.1f} MiB, over the {LIMIT_MIB} MiB bundled: choose a narrower {widest}")
for stem, module in modules.items():
    if stem in fresh:
        continue
    with safe_open(bundled / f"{stem}.safetensors", "pt") as weights:
        saved = {key: tuple(weights.get_slice(key).get_shape()) for key in weights.keys()}
    shaped = {key: tuple(t.shape) for key, t in module.state_dict().items()}
    if saved != shaped:
        key = min(k for k in saved.keys() | shaped.keys() if saved.get(k) != shaped.get(k))
        sys.exit(f"the overrides reshape {stem} ('{key}': {saved.get(key)} bundled, {shaped.get(key)} now), which "
                 "starts from its bundled weights: FRESH=decoder or FRESH=upsampler_0 trains a reshaped stage afresh")
EOF

# Epochs of 3,520 images are a few steps each: validate never, train until the wall-clock budget.
common=(--config configs/emoji.yaml trainer.max_steps=10000000 trainer.check_val_every_n_epoch=100000
        trainer.num_sanity_val_steps=0 "$@")
mkdir -p "$OUT" "$RUNS"
for run in decoder upsampler ar_prior; do
  mkdir -p "$RUNS/$run/pipeline"
  cp "$BUNDLED/encoder.safetensors" "$RUNS/$run/pipeline/"
done
# A stage starts from the weights in its run's folder: the bundled ones, unless FRESH names it.
cp "$BUNDLED/prior.safetensors" "$RUNS/decoder/pipeline/"
for stem in decoder upsampler_0; do
  run=${stem%_0}
  case " $FRESH " in
    *" $stem "*) rm -f "$RUNS/$run/pipeline/$stem.safetensors" ;;
    *) cp "$BUNDLED/$stem.safetensors" "$RUNS/$run/pipeline/" ;;
  esac
done

# A stage that fails on the device-held data path is run again through the DataLoader (resuming
# from its last checkpoint), so one unexpected failure does not cost the whole budget.
train() {  # train STAGE RUN LOG [override ...]
  local stage=$1 run=$2 log=$3
  shift 3
  $UNCLIP train "$stage" "${common[@]}" "run_dir=$RUNS/$run" "$@" >"$log" 2>&1 ||
    { echo "[$run] failed on the device feed; again through the DataLoader" >>"$log";
      $UNCLIP train "$stage" "${common[@]}" "run_dir=$RUNS/$run" "$@" "train.$stage.feed=loader" >>"$log" 2>&1; }
}

status=0
if [ "$DECODER_TIME" != 0 ]; then
  train decoder decoder "$RUNS/decoder.log" train.decoder.batch_size="$BATCH" train.decoder.max_time="$DECODER_TIME" || status=$?
fi
if [ "$UPSAMPLER_TIME" != 0 ]; then
  train upsampler upsampler "$RUNS/upsampler.log" train.upsampler.batch_size="$BATCH" train.upsampler.max_time="$UPSAMPLER_TIME" || status=$?
fi
if [ "$AR_PRIOR_TIME" != 0 ]; then  # the emoji AR prior of docs/priors.md
  train prior ar_prior "$RUNS/ar_prior.log" prior.type=ar_prior prior.components=24 prior.buckets=32 \
    prior.dropout=0.2 prior.dot_drop_prob=0.5 prior.dot_quantile=null prior.temperature=0 \
    train.prior.batch_size=256 train.prior.max_time="$AR_PRIOR_TIME" || echo "ar_prior failed: see $RUNS/ar_prior.log"
fi
[ $status = 0 ] || { echo "a stage failed: see $RUNS/*.log" >&2; exit $status; }

# The model: CLIP and prior as bundled, the decoder and upsampler just trained (or as bundled, where
# a stage's time was 0), in the graph the runs trained (the overrides that concern training only
# change nothing here).
trained=()
for stem in decoder upsampler_0; do [ "${TIME[$stem]}" = 0 ] || trained+=("$stem"); done
"$PYTHON" - "$RUNS" "$OUT" "$BUNDLED" "${trained[*]}" "$@" <<'EOF'
import sys
from pathlib import Path

import torch

from unclip_core.graph import build, load_graph
from unclip_core.pipeline import Pipeline
from unclip_core.weights import load_module

runs, out, bundled, trained = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4].split()
graph = load_graph("configs/emoji.yaml", overrides=sys.argv[5:])
pipeline = Pipeline(graph, build(graph))
run_of = {"decoder": "decoder", "upsampler_0": "upsampler"}
for stem, module in pipeline.modules().items():
    folder = runs / run_of[stem] / "pipeline" if stem in trained else bundled
    load_module(module, folder / f"{stem}.safetensors")
pipeline.save_pretrained(out / "unclip-emoji", dtype=torch.float16)
print(f"wrote {out / 'unclip-emoji'}")
EOF
