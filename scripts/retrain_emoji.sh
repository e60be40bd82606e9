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
# ('DD:HH:MM:SS'; AR_PRIOR_TIME=0 skips it), BATCH; UNCLIP is the command (default `unclip`).
# FRESH lists the stages that start from random weights instead, e.g. FRESH=decoder for a
# decoder of another size or prediction than the bundled one:
#
#   FRESH=decoder scripts/retrain_emoji.sh OUT decoder.channels=96 decoder.prediction=v
#
# The overrides shape the assembled model too, so its folder loads with the weights just trained.
set -euo pipefail
OUT=${1:?usage: scripts/retrain_emoji.sh OUT [graph override ...]}
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
for stem in $FRESH; do
  case $stem in decoder|upsampler_0) ;; *) echo "FRESH: '$stem' is not a stage this script trains (decoder, upsampler_0)" >&2; exit 2;; esac
done

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
train decoder decoder "$RUNS/decoder.log" train.decoder.batch_size="$BATCH" train.decoder.max_time="$DECODER_TIME" || status=$?
train upsampler upsampler "$RUNS/upsampler.log" train.upsampler.batch_size="$BATCH" train.upsampler.max_time="$UPSAMPLER_TIME" || status=$?
if [ "$AR_PRIOR_TIME" != 0 ]; then  # the emoji AR prior of docs/priors.md
  train prior ar_prior "$RUNS/ar_prior.log" prior.type=ar_prior prior.components=24 prior.buckets=32 \
    prior.dropout=0.2 prior.dot_drop_prob=0.5 prior.dot_quantile=null prior.temperature=0 \
    train.prior.batch_size=256 train.prior.max_time="$AR_PRIOR_TIME" || echo "ar_prior failed: see $RUNS/ar_prior.log"
fi
[ $status = 0 ] || { echo "a stage failed: see $RUNS/*.log" >&2; exit $status; }

# The model: CLIP and prior as bundled, the decoder and upsampler just trained, in the graph
# the runs trained (the overrides that concern training only change nothing here).
"$PYTHON" - "$RUNS" "$OUT" "$@" <<'EOF'
import sys
from pathlib import Path

import torch

from unclip_core.graph import build, load_graph
from unclip_core.pipeline import Pipeline
from unclip_core.weights import load_module

runs, out = Path(sys.argv[1]), Path(sys.argv[2])
graph = load_graph("configs/emoji.yaml", overrides=sys.argv[3:])
pipeline = Pipeline(graph, build(graph))
source = {"encoder": "decoder", "prior": "decoder", "decoder": "decoder", "upsampler_0": "upsampler"}
for stem, module in pipeline.modules().items():
    load_module(module, runs / source[stem] / "pipeline" / f"{stem}.safetensors")
pipeline.save_pretrained(out / "unclip-emoji", dtype=torch.float16)
print(f"wrote {out / 'unclip-emoji'}")
EOF
