"""GPU-hours to train the paper's graph, projected from what this framework measured.

    python benchmarks/paper_gpu_hours.py                          # configs/paper.yaml, the H200 results
    python benchmarks/paper_gpu_hours.py --mfu 40 --throughput benchmarks/results/train_throughput_nvidia_h200.json

For each stage with a step budget in the graph (`train.<stage>.max_steps`):
images = steps x batch per GPU x GPUs (the global batch), FLOPs = images x GFLOP per training
image (`unclip summary`: one forward and backward, counted without allocating the model), and
GPU-hours = FLOPs / (MFU x the GPU's peak) / 3600, for two MFUs:

- **measured**: the MFU this framework reached on that stage of the emoji graph, on the device
  path (benchmarks/train_throughput.py's results file, which names the GPU). Small models at
  32-64 px leave a GPU mostly idle, so this is the pessimistic end;
- **assumed**: `--mfu` (default 40%), what large UNets and transformers commonly reach in bf16;
  the paper's stages are 100-1000x the emoji graph's.

Neither counts evaluation, checkpointing, restarts, or the data pipeline keeping up. Results:
a table, and JSON in benchmarks/results/paper_gpu_hours.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
def measured_mfu(throughput: dict) -> dict[str, float]:
    """The best device-path MFU (percent) per stage in a train_throughput results file."""
    best: dict[str, float] = {}
    for row in throughput["results"]:
        if row["path"] == "device":
            best[row["stage"]] = max(best.get(row["stage"], 0.0), row["mfu_percent"])
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/paper.yaml")
    parser.add_argument("--throughput", type=Path, default=RESULTS / "train_throughput_nvidia_h200.json")
    parser.add_argument("--mfu", type=float, default=40.0, help="the assumed MFU, percent")
    parser.add_argument("--out", type=Path, default=RESULTS / "paper_gpu_hours.json")
    args = parser.parse_args()

    from unclip_core.graph import load_graph
    graph = load_graph(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        summary_file = Path(tmp) / "summary.json"
        subprocess.run([sys.executable, "-m", "unclip_core.cli", "summary", "--config", args.config, "--json", str(summary_file)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        summary = json.loads(summary_file.read_text())
    throughput = json.loads(args.throughput.read_text())
    peak = throughput["settings"]["peak_tflops"] * 1e12
    device = throughput["settings"]["device"]
    mfu = measured_mfu(throughput)
    devices = summary["devices"]

    rows = []
    for stage in summary["stages"]:
        key = stage["stage"].partition("_")[0]  # throughput is measured per kind of stage: upsampler
        steps = graph.train.for_stage(stage["stage"]).max_steps
        if steps is None:
            continue  # the graph sets no budget for it (the paper gives none for its CLIP)
        images = steps * stage["batch_per_gpu"] * devices
        flops = images * stage["gflop_per_image"] * 1e9
        row = {"stage": stage["stage"], "detail": stage["detail"], "steps": steps, "global_batch": stage["batch_per_gpu"] * devices,
               "images": images, "gflop_per_image": stage["gflop_per_image"], "exaflop": flops / 1e18,
               "measured_mfu_percent": mfu.get(key), "assumed_mfu_percent": args.mfu}
        row["gpu_hours_at_measured_mfu"] = flops / (mfu[key] / 100 * peak) / 3600 if mfu.get(key) else None
        row["gpu_hours_at_assumed_mfu"] = flops / (args.mfu / 100 * peak) / 3600
        rows.append(row)

    settings = {"config": args.config, "devices_in_graph": devices, "precision": summary["precision"], "device": device,
                "peak_tflops": peak / 1e12, "throughput_file": str(args.throughput.relative_to(ROOT)),
                "throughput_note": throughput["settings"].get("code_note")}
    args.out.write_text(json.dumps({"settings": settings, "results": rows}, indent=2) + "\n")

    print(f"{args.config}: GPU-hours on {device} (peak {peak / 1e12:.0f} TFLOP/s), at the MFU measured on the emoji graph and at {args.mfu:g}%\n")
    print("| stage | steps x global batch | GFLOP/image | EFLOP | measured MFU | GPU-hours (measured MFU) | GPU-hours (%g%% MFU) |" % args.mfu)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        measured = "—" if row["gpu_hours_at_measured_mfu"] is None else f"{row['gpu_hours_at_measured_mfu']:,.0f}"
        name = f"{row['stage']} {row['detail']}".strip()
        print(f"| {name} | {row['steps']:,} x {row['global_batch']:,} | {row['gflop_per_image']:,.1f} | {row['exaflop']:,.0f} | "
              f"{row['measured_mfu_percent'] or 0:.1f}% | {measured} | {row['gpu_hours_at_assumed_mfu']:,.0f} |")
    total_measured = sum(r["gpu_hours_at_measured_mfu"] or 0 for r in rows)
    total_assumed = sum(r["gpu_hours_at_assumed_mfu"] for r in rows)
    print(f"| total | | | | | {total_measured:,.0f} | {total_assumed:,.0f} |")
    print(f"\nwrote {args.out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
