"""UNet training steps with attention on a fused kernel against the math path, in one run.

    python benchmarks/attention_kernels.py                       # configs/emoji.yaml, CPU
    python benchmarks/attention_kernels.py --device cuda --batch 512

Each UNet stage of the graph (decoder, upsamplers) runs forward and backward steps at a fixed
batch, twice: with `scaled_dot_product_attention` allowed only the math path (which writes out
the whole score matrix), and allowed only fused kernels (flash and memory-efficient on a GPU,
the flash kernel on a CPU). A fused-only run raises if any attention call cannot use a fused
kernel, so its row also shows that every call did. Reported: ms per step, images/s, the
speed-up, and on a GPU the peak memory. bf16 autocast on a GPU, float32 on a CPU.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from common import print_table, setup_device, timed, write_json
from unclip_core.graph import build, load_graph
from unclip_core.plugins import get_registry
from unclip_core.summary.stages import graph_stages

KERNELS = {
    "math": [SDPBackend.MATH],
    "fused": [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/emoji.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="both kernels in turn, this many times; the best is kept")
    parser.add_argument("--out", type=Path, default=None, help="default: results/attention_kernels_<device>.json")
    args = parser.parse_args()

    device, autocast = setup_device(args.device)
    graph = load_graph(args.config, args.overrides)
    torch.manual_seed(graph.seed)
    components = build(graph)  # freshly initialised weights: speed does not depend on training
    rows = []
    for stage in graph_stages(graph, get_registry()):
        if stage.name in ("clip", "prior"):  # the UNets only: the decoder and the upsamplers
            continue
        module = stage.module(components).to(device).train()
        if stage.step_skips_frozen_encoder:
            module.encoder = None  # its outputs come in the batch, as on the device-held path
        batch = stage.batch(module, args.batch, device)

        def step() -> None:
            module.zero_grad(set_to_none=True)
            with autocast():
                loss = module.step_loss(batch)
            loss.backward()

        seconds = {name: float("inf") for name in KERNELS}
        peak = {}
        for _ in range(args.rounds):
            for name, backends in KERNELS.items():
                with sdpa_kernel(backends):
                    if device.type == "cuda":
                        torch.cuda.reset_peak_memory_stats(device)
                    seconds[name] = min(seconds[name], timed(step, device, args.steps, args.warmup))
                    if device.type == "cuda":
                        peak[name] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
        for name in KERNELS:
            row = {"stage": stage.name, "batch": args.batch, "attention": name,
                   "ms_per_step": round(seconds[name] * 1000, 1), "images_per_s": round(args.batch / seconds[name], 1),
                   "speedup": round(seconds["math"] / seconds[name], 2)}
            if peak:
                row["peak_gib"] = peak[name]
            rows.append(row)
            print_table([row])
    print()
    print_table(rows)
    out = args.out or Path(__file__).parent / "results" / f"attention_kernels_{device.type}.json"
    settings = {"config": args.config, "overrides": args.overrides, "steps": args.steps, "rounds": args.rounds}
    write_json(out, device, settings, rows)


if __name__ == "__main__":
    main()
