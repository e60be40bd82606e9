"""Training throughput of every stage of a graph: the DataLoader path against the on-device path.

    python benchmarks/train_throughput.py                          # configs/emoji.yaml, this machine
    python benchmarks/train_throughput.py --device cuda --compile  # a GPU run (bf16 autocast)
    python benchmarks/train_throughput.py --device cuda --compile reduce-overhead --stages decoder  # CUDA graphs
    python benchmarks/train_throughput.py --device cuda --scale 1 2 4 --stages decoder
    python benchmarks/train_throughput.py --set decoder.channels=64   # another size of the graph
    python benchmarks/train_throughput.py --device cuda --stages decoder --paths device --strategy ddp fsdp --activation-checkpointing
    python benchmarks/train_throughput.py --device cuda --stages decoder upsampler --paths device --contiguous

Each (stage, path) trains with the stage's real Lightning Trainer (EMA, checkpoint callback,
logging) for --warmup + --steps steps; only the last --steps are timed, and each row keeps the
fastest of --rounds such measurements (the paths alternate between rounds). Reported per row:
images/s; GFLOP per image for one forward + backward (torch.utils.flop_counter, so the frozen
encoder's forward counts where the step runs it); achieved TFLOP/s and MFU against the device's
peak (the bf16 dense peak of known GPUs; on a CPU the faster of a large fp32 matmul and
convolution, measured first); the share of step time spent between steps waiting for the next
batch (its fetch and host->device copy); and peak memory.

`loader` is the DataLoader path every stage used before (workers, per-sample reads, captions
tokenized and the frozen encoder run each step); `device` holds the split on the training device,
gathers batches there, and computes the frozen encoder's outputs once (prior, decoder). Both run
the same step code otherwise (plus --compile, on `device` only).
`--strategy ddp fsdp` measures each stage under each of Lightning's strategies as `unclip train`
sets them up (FSDP shards each block; on one GPU it measures what sharding costs, not what it
saves), `--activation-checkpointing` adds rows that recompute every block in the backward pass,
and `--contiguous` adds rows of the UNet stages in NCHW (`train.<stage>.channels_last=false`;
channels_last is their default on GPUs; a CPU step runs NCHW either way).
Results go to benchmarks/results/train_throughput_<device>.json, one file per device; a run
replaces the rows it measured and keeps the others, so stages can be measured separately.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F

from unclip_core.flops import train_step_flops
from unclip_core.graph import build_node, load_graph
from unclip_core.plugins import get_registry
from unclip_core.summary.stages import graph_stages
from unclip_core.training.data import DeviceDataModule, PairDataModule
from unclip_core.training.stages import load_run_pipeline
from unclip_core.training.trainer import auto_precision, make_trainer

from common import print_table, synchronize, write_json  # benchmarks/common.py
from step_profile import StepProfiler  # benchmarks/step_profile.py

RESULTS = Path(__file__).resolve().parent / "results"
# Dense bf16 peaks (TFLOP/s) of GPUs by name; anything else is measured like a CPU.
GPU_PEAKS = {"H100": 989.0, "H200": 989.0}
STAGES = ("clip", "prior", "decoder", "upsampler")


def peak_tflops(device: torch.device) -> tuple[float, str]:
    """The device's peak for MFU, and where the number comes from.

    On a CPU: the fastest of a large fp32 matmul and two large fp32 3x3 convolutions, each the
    best of a few timings. The BLAS matmul alone is not the peak everywhere: on some CPUs (AMD,
    where MKL's matmul stays off its fastest path) oneDNN's convolutions outrun it by 2x, and
    MFU against the matmul came out above 100%.
    """
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, peak in GPU_PEAKS.items():
            if key in name:
                return peak, f"{key} bf16 dense (spec)"
    a, b = torch.randn(2048, 2048, device=device), torch.randn(2048, 2048, device=device)
    kernels = {"2048x2048 fp32 matmul": (lambda: a @ b, 2 * 2048**3)}
    for channels, batch in ((128, 32), (256, 8)):
        x = torch.randn(batch, channels, 32, 32, device=device)
        w = torch.randn(channels, channels, 3, 3, device=device)
        flop = 2 * batch * 32 * 32 * channels * channels * 9
        kernels[f"{channels}-channel 3x3 fp32 convolution"] = (lambda x=x, w=w: F.conv2d(x, w, padding=1), flop)
    speeds = {name: best_tflops(run, flop, device) for name, (run, flop) in kernels.items()}
    name = max(speeds, key=speeds.get)
    return speeds[name], f"measured: {name}, the fastest of a matmul and two convolutions"


def best_tflops(run, flop: int, device: torch.device, repeats: int = 5, runs: int = 4) -> float:
    """TFLOP/s of `run` (which does `flop` FLOPs), the best of `repeats` timings after a warm-up."""
    for _ in range(2):
        run()
    best = 0.0
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(runs):
            run()
        synchronize(device)
        best = max(best, flop * runs / (time.perf_counter() - start) / 1e12)
    return best


class StepClock(L.Callback):
    """Wall time of the timed steps, and the part of it spent between steps (fetching the batch)."""

    def __init__(self, warmup: int, steps: int, device: torch.device) -> None:
        self.warmup, self.last, self.device = warmup, warmup + steps, device
        self.waiting = 0.0
        self.start = self.end = None
        self._last_end: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        now = time.perf_counter()
        if self.start is not None and self._last_end is not None:
            self.waiting += now - self._last_end

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # The device is drained only where the window opens and closes: between, the host runs
        # ahead as in training, and the wait between steps is what the host spends on the batch.
        if trainer.global_step in (self.warmup, self.last):
            synchronize(self.device)
        now = time.perf_counter()
        if trainer.global_step == self.warmup:
            self.start = now
        self._last_end = self.end = now


def graph_for(args, stage: str, path: str, scale: int, tmp: Path, strategy: str | None = None, checkpointing: bool = False,
              channels_last: bool = True):
    overrides = [
        f"run_dir={tmp / f'{stage}-{path}-{scale}-{strategy}-{checkpointing}-{channels_last}'}",
        f"trainer.max_steps={args.warmup + args.steps + args.profile}",
        "trainer.logger=false", "trainer.limit_val_batches=0", "trainer.num_sanity_val_steps=0",
        f"trainer.accelerator={'gpu' if args.device == 'cuda' else 'cpu'}", "trainer.devices=1",
        "trainer.precision=auto", "trainer.enable_model_summary=false", "trainer.enable_progress_bar=false",
        f"train.{stage}.feed={path}",
        f"train.{stage}.compile={args.compile if args.compile and path == 'device' else 'false'}",
        f"train.{stage}.activation_checkpointing={str(checkpointing).lower()}",
        *([] if channels_last else [f"train.{stage}.channels_last=false"]),
        *([f"trainer.strategy={strategy}"] if strategy else []),
        *args.overrides,
    ]
    if args.batch:
        overrides.append(f"data.batch_size={args.batch}")
    return widened_graph(args.config, overrides, scale)


def widened_graph(config: str, overrides: list[str], scale: int):
    """The graph with every UNet's channel count times `scale` (the decoder's and the upsamplers')."""
    graph = load_graph(config, overrides)
    if scale == 1:
        return graph
    widen = lambda node: node.config.channels * scale  # noqa: E731
    extra = [f"decoder.channels={widen(graph.decoder)}"] if graph.decoder else []
    extra += [f"upsamplers.{i}.channels={widen(n)}" for i, n in enumerate(graph.upsamplers)]
    return load_graph(config, overrides + extra)


def stage_module(graph, stage: str, pipeline) -> tuple[L.LightningModule, object]:
    """The stage's LightningModule (as `unclip train <stage>` builds it) and its tokenizer;
    `upsampler` is the first upsampler."""
    name = "upsampler_0" if stage == "upsampler" else stage
    [training_stage] = [s for s in graph_stages(graph, get_registry()) if s.name == name]
    tokenizer = None if stage == "upsampler" else pipeline.components.encoder.tokenize
    return training_stage.module(pipeline.components), tokenizer


def flops_per_image(module: L.LightningModule, batch: dict, device: torch.device) -> float:
    """Forward + backward FLOPs of one training step, per image (the optimizer's few are left out)."""
    module.to(device).train()
    batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    with autocast:
        flops = train_step_flops(lambda: module.step_loss(batch))
    module.zero_grad(set_to_none=True)
    images = next(v.shape[0] for k, v in batch.items() if isinstance(v, torch.Tensor))
    return flops / images


def measure(args, stage: str, path: str, scale: int, device: torch.device, peak: float, tmp: Path,
            strategy: str | None = None, checkpointing: bool = False, channels_last: bool = True) -> dict:
    graph = graph_for(args, stage, path, scale, tmp, strategy, checkpointing, channels_last)
    L.seed_everything(graph.seed, verbose=False)
    pipeline = load_run_pipeline(graph)
    module, tokenizer = stage_module(graph, stage, pipeline)
    source = build_node(graph.data, get_registry())
    batch_size = graph.data.config.batch_size
    if path == "device":
        # As fit_stage does; placed (and the frozen encoder's features computed) before timing,
        # as a real run does before its first step.
        data = DeviceDataModule(source, batch_size, tokenizer=tokenizer, device=device)
        data.features = module.frozen_features
    else:
        data = PairDataModule(source, batch_size)
    if stage == "prior":
        module.fit_statistics(data.statistics_batches(), items=1024)
    gflop = flops_per_image(module, data.first_batch(), device) / 1e9
    module.batch_size = batch_size
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    clock = StepClock(args.warmup, args.steps, device)
    profiler = StepProfiler(args.warmup + args.steps, args.profile, device)
    callbacks = [clock, profiler] if args.profile else [clock]
    trainer, _ = make_trainer(graph, stage, callbacks=callbacks, component=module.component)
    trainer.fit(module, datamodule=data)
    module.unshard()
    seconds = clock.end - clock.start
    images_per_s = args.steps * batch_size / seconds
    tflops = images_per_s * gflop / 1e3
    memory = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
              else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {
        "stage": stage, "path": path, "scale": scale, "batch": batch_size,
        "compile": compile_label(getattr(graph.train, stage).compile),
        "strategy": strategy or "auto", "activation_checkpointing": checkpointing,
        "channels_last": module.uses_channels_last(),  # the layout the step ran in
        "images_per_s": round(images_per_s, 3), "gflop_per_image": round(gflop, 3),
        "tflops": round(tflops, 4), "mfu_percent": round(100 * tflops / peak, 2),
        "data_share_percent": round(100 * clock.waiting / seconds, 2),
        "peak_memory_mib": round(memory / 2**20, 1),
        # How busy the machine was: on a shared machine, rows measured under different load differ.
        "load_average_1min": round(os.getloadavg()[0], 2),
        **({"profile": profiler.result} if args.profile else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/emoji.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="graph override, repeatable (e.g. --set decoder.channels=64 for another size)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--paths", nargs="+", choices=("loader", "device"), default=["loader", "device"])
    parser.add_argument("--scale", nargs="+", type=int, default=[1], help="UNet width multipliers (decoder, upsamplers)")
    parser.add_argument("--batch", type=int, default=None, help="images per step; default: the graph's (16 on a CPU)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 5 on a CPU, 50 on a GPU)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 2 on a CPU, 10 on a GPU)")
    parser.add_argument("--compile", nargs="?", const="default", default=None, metavar="MODE",
                        help="torch.compile the loss on the device path (a mode: default, reduce-overhead for CUDA graphs, ...)")
    parser.add_argument("--strategy", nargs="+", choices=("ddp", "fsdp"), default=None,
                        help="trainer.strategy for each row (default: the graph's)")
    parser.add_argument("--activation-checkpointing", action="store_true",
                        help="also measure every row with train.<stage>.activation_checkpointing=true")
    parser.add_argument("--contiguous", action="store_true",
                        help="also measure the UNet stages with train.<stage>.channels_last=false (NCHW on a GPU)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile N steps after the timed ones: device busy share and time by kind of kernel (step_profile.py)")
    parser.add_argument("--rounds", type=int, default=None, help="measurements per row, the fastest kept (default 2 on a CPU, 1 on a GPU)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    on_cpu = device.type == "cpu"
    args.batch = args.batch or (16 if on_cpu else None)
    args.steps = args.steps or (5 if on_cpu else 50)
    args.warmup = args.warmup or (2 if on_cpu else 10)
    args.rounds = args.rounds or (2 if on_cpu else 1)
    if args.profile < 0:
        parser.error(f"--profile {args.profile}: give a number of steps, 0 for none")
    if args.contiguous and device.type != "cuda":
        parser.error("--contiguous compares the UNets' layouts on a GPU (--device cuda); a CPU step runs NCHW either way")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    peak, peak_source = peak_tflops(device)
    print(f"peak {peak:.3f} TFLOP/s ({peak_source})")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for stage in args.stages:
            for scale in (args.scale if stage in ("decoder", "upsampler") else [1]):
                # Paths alternate round by round, and each keeps its fastest round: on a shared
                # machine, load that comes and goes then hits both paths alike.
                layouts = (True, False) if args.contiguous and stage in ("decoder", "upsampler") else (True,)
                variants = [(path, strategy, checkpointing, channels_last)
                            for path in args.paths for strategy in (args.strategy or [None])
                            for checkpointing in ((False, True) if args.activation_checkpointing else (False,))
                            for channels_last in layouts]
                best: dict[tuple, dict] = {}
                for _ in range(args.rounds):
                    for variant in variants:
                        row = measure(args, stage, variant[0], scale, device, peak, Path(tmp), *variant[1:])
                        print_table([without_profile(row)])
                        if "profile" in row:
                            print_profile(row["profile"])
                        if variant not in best or row["images_per_s"] > best[variant]["images_per_s"]:
                            best[variant] = row
                rows += [best[variant] for variant in variants]
                save(args, device, peak, peak_source, rows)  # after every stage: a cut-short run keeps its rows
    print()
    print_table([without_profile(row) for row in rows])


def without_profile(row: dict) -> dict:
    """The row as a table shows it: its profile is printed on a line of its own."""
    return {k: v for k, v in row.items() if k != "profile"}


def print_profile(result: dict) -> None:
    kinds = ", ".join(f"{kind} {value['percent']:.0f}%" for kind, value in result["by_kind"].items())
    print(f"  profile: busy {result['device_busy_percent']:.0f}% of {result['wall_ms_per_step']:.1f} ms a step, "
          f"{result['calls_per_step']:.0f} calls; {kinds}")


def compile_label(setting) -> bool | str:
    """A row's `compile`: false, true (torch.compile's default mode) or the mode's name."""
    return True if setting in (True, "default") else setting


def save(args, device: torch.device, peak: float, peak_source: str, rows: list[dict]) -> None:
    """Merge `rows` into the device's results file: rows of (stage, path, scale, compile, strategy,
    checkpointing, layout) measured now replace earlier ones, so stages may be measured in separate runs."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu-{platform.machine()}"
    out = args.out or RESULTS / f"train_throughput_{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}.json"
    # Rows from before the layout was recorded ran the UNet stages channels_last on a GPU.
    layout = lambda row: row.get("channels_last", device.type == "cuda" and row["stage"] in ("decoder", "upsampler"))  # noqa: E731
    key = lambda row: (row["stage"], row["path"], row["scale"], row["compile"],  # noqa: E731
                       row.get("strategy", "auto"), row.get("activation_checkpointing", False), layout(row))
    kept = json.loads(out.read_text())["results"] if out.is_file() else []
    fresh = {key(row) for row in rows}
    merged = [row for row in kept if key(row) not in fresh] + rows
    order = {stage: i for i, stage in enumerate(STAGES)}
    merged.sort(key=lambda row: (order[row["stage"]], row["scale"], str(row["compile"]), row.get("strategy", "auto"),
                                 row.get("activation_checkpointing", False), not layout(row),
                                 row["path"] != "loader"))
    settings = {"config": args.config, "overrides": args.overrides, "steps": args.steps, "warmup": args.warmup, "rounds": args.rounds,
                "peak_tflops": round(peak, 4), "peak_source": peak_source,
                "precision": auto_precision("gpu" if device.type == "cuda" else "cpu")}
    write_json(out, device, settings, merged)


if __name__ == "__main__":
    main()
