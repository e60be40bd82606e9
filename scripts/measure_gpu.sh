#!/usr/bin/env bash
# The training measurements docs/training.md and docs/scaling.md report for one GPU, taken again
# in one run, into OUT:
#   eager.json         every stage of the graph on the device-held path: images/s, GFLOP per
#                      image, MFU, the share of step time spent waiting for data, peak memory,
#                      and a profile of PROFILE further steps: how busy the GPU was, and its
#                      time by kind of kernel (benchmarks/step_profile.py)
#   compiled.json      the UNet stages under torch.compile, at the graph's width and twice it
#                      (does MFU rise with width, and where does it level off), profiled alike
#   strategies.json    the decoder under DDP and under FSDP at batch 128: speed and peak memory
#   summary_ddp.json, summary_fsdp.json
#                      the memory `unclip summary` expects those steps to need, for comparison
#   jpeg.json          the BSR degradation's JPEG step on the device against the CPU codec
#                      (benchmarks/jpeg_degradation.py)
#   attention.json     the UNet steps with attention on fused kernels against the math path
#                      (benchmarks/attention_kernels.py)
#   layout.json        the UNet stages eager in channels_last (the default on GPUs) against NCHW
#                      (train.<stage>.channels_last=false), profiled: CUDA's group norm takes
#                      NCHW only, so channels_last pays layout copies around every norm
#
#   scripts/measure_gpu.sh OUT [KEY=VALUE ...]     (graph overrides for every part)
#
# Each part runs under a time limit of its own (LIMIT_FACTOR multiplies them all), so a part that
# fails or overruns costs only its own share, and train_throughput.py keeps each stage's rows as
# soon as they are measured. A part's output is in OUT/<part>.log; the last line of the script's
# own output says how many parts did not finish (its exit status is that number, 0 when all did).
# From the environment: PARTS (which run, in this order; default "eager compiled strategies
# summary jpeg attention layout"), CONFIG (configs/emoji.yaml), DEVICE (cuda), BATCH (512), STEPS (30),
# WARMUP (10), PATHS ("device"; "loader device" adds the DataLoader feed), PROFILE (5 steps; 0:
# none), PYTHON, UNCLIP.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: scripts/measure_gpu.sh OUT [KEY=VALUE ...]" >&2; exit 2; }
OUT=$1
shift
PARTS=${PARTS:-eager compiled strategies summary jpeg attention layout}
CONFIG=${CONFIG:-configs/emoji.yaml}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-512}
STEPS=${STEPS:-30}
WARMUP=${WARMUP:-10}
PATHS=${PATHS:-device}
PROFILE=${PROFILE:-5}
PYTHON=${PYTHON:-python}
UNCLIP=${UNCLIP:-unclip}
LIMIT_FACTOR=${LIMIT_FACTOR:-1}
[[ $LIMIT_FACTOR =~ ^[1-9][0-9]*$ ]] || { echo "LIMIT_FACTOR must be a whole number of at least 1, got '$LIMIT_FACTOR'" >&2; exit 2; }
[[ $PROFILE =~ ^[0-9]+$ ]] || { echo "PROFILE must be a number of steps (0 for none), got '$PROFILE'" >&2; exit 2; }
for name in $PARTS; do
  case $name in eager|compiled|strategies|summary|jpeg|attention|layout) ;;
    *) echo "PARTS: '$name' is not a part (eager, compiled, strategies, summary, jpeg, attention, layout)" >&2; exit 2;; esac
done
$UNCLIP config show --config "$CONFIG" "$@" >/dev/null || exit 2  # a wrong override: one line, before anything runs
mkdir -p "$OUT"

sets=()
for override in "$@"; do sets+=(--set "$override"); done
bench=("$PYTHON" benchmarks/train_throughput.py --config "$CONFIG" --device "$DEVICE" --steps "$STEPS"
       --warmup "$WARMUP" --rounds 1 "${sets[@]}")
unfinished=0 parts=0
run_part() {  # run_part NAME SECONDS COMMAND...
  local name=$1 limit=$(( $2 * LIMIT_FACTOR )) start=$SECONDS status
  shift 2
  parts=$(( parts + 1 ))
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  status=$?
  case $status in
    0) echo "$name: done in $(( SECONDS - start )) s" ;;
    124) echo "$name: stopped at its $limit s limit (rows measured before are kept)"; unfinished=$(( unfinished + 1 )) ;;
    *) echo "$name: failed (exit $status), see $OUT/$name.log"; unfinished=$(( unfinished + 1 )) ;;
  esac
}

# The parts run in the order PARTS names them: on a short lease, the most wanted first.
for name in $PARTS; do
  case $name in
    # shellcheck disable=SC2086  # PATHS is a list of words
    eager) run_part eager 90 "${bench[@]}" --batch "$BATCH" --paths $PATHS --profile "$PROFILE" --out "$OUT/eager.json" ;;
    compiled) run_part compiled 180 "${bench[@]}" --batch "$BATCH" --paths device --compile --stages decoder upsampler \
                --scale 1 2 --profile "$PROFILE" --out "$OUT/compiled.json" ;;
    strategies) run_part strategies 60 "${bench[@]}" --batch 128 --paths device --stages decoder --strategy ddp fsdp \
                  --out "$OUT/strategies.json" ;;
    summary)  # no GPU needed: what `unclip summary` expects the strategies part's steps to need
      for strategy in ddp fsdp; do
        run_part "summary_$strategy" 60 $UNCLIP summary --config "$CONFIG" --batch 128 --strategy "$strategy" --devices 1 \
          --json "$OUT/summary_$strategy.json" "$@"
      done ;;
    jpeg) run_part jpeg 30 "$PYTHON" benchmarks/jpeg_degradation.py --device "$DEVICE" --out "$OUT/jpeg.json" ;;
    attention) run_part attention 60 "$PYTHON" benchmarks/attention_kernels.py --config "$CONFIG" --device "$DEVICE" \
                 --batch "$BATCH" --steps 10 --warmup 3 "${sets[@]}" --out "$OUT/attention.json" ;;
    layout) run_part layout 90 "${bench[@]}" --batch "$BATCH" --paths device --stages decoder upsampler --contiguous \
              --profile "$PROFILE" --out "$OUT/layout.json" ;;
  esac
done
echo "$unfinished of $parts parts did not finish"
exit "$unfinished"
