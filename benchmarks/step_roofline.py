"""The fastest a training step could run on a GPU: a roofline of each stage's step, from the bytes
every operation moves and the FLOPs it computes.

    python benchmarks/step_roofline.py                                   # configs/emoji.yaml, batch 512, H200
    python benchmarks/step_roofline.py --stages decoder --scale 1 2 4 8  # wider UNets
    python benchmarks/step_roofline.py --measured benchmarks/results/train_throughput_nvidia_h200.json

Each stage is built and stepped (forward and backward, at the full batch, under bf16 autocast)
on fake tensors: shapes and dtypes without memory or arithmetic, so a step at batch 512 costs a
second on any machine. Every ATen operation is charged the FLOPs torch.utils.flop_counter
gives it and the bytes of the tensors it reads and writes (views move nothing). On the GPU it
takes at least max(FLOPs / peak, bytes / bandwidth). Summed over the step:

- **eager**: every operation its own kernel, each at its roofline: the fastest an uncompiled
  step can be. The optimizer (fused AdamW) and the EMA are added from the parameter count.
- **fused**: only the convolutions, matrix products and attention, as if every norm,
  activation, cast and addition were fused into them: the most a compiler could win.

Reported per stage: GFLOP and GB moved per image, their ratio (FLOP per byte; the GPU needs
about peak / bandwidth, 206 on an H200, to be compute-bound), the operations in a step, images/s
and MFU at each ceiling, and where the eager bytes go (the optimizer's too). With --measured, a
train_throughput.py results file supplies the graph, overrides and batch, and each measured row
(device path) is set against its ceilings.

The fake step runs CPU autocast, which keeps group norms in bf16 where CUDA's autocast runs
them in float32, so the eager ceiling is somewhat optimistic for the UNets; attention is counted
as the fused kernel a GPU runs (flash attention: inputs and outputs only).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.utils.flop_counter import flop_registry

from common import print_table, to_json  # benchmarks/common.py
from train_throughput import widened_graph  # benchmarks/train_throughput.py
from unclip_core.plugins import get_registry
from unclip_core.summary.host_side import DatalessDeviceHost
from unclip_core.summary.stages import graph_stages

RESULTS = Path(__file__).resolve().parent / "results"
SDPA = F.scaled_dot_product_attention  # the real one, kept while AttentionAsFused stands in for its name
# Spec sheets: dense bf16 TFLOP/s and memory TB/s.
GPUS = {"H200": (989.0, 4.8), "H100": (989.0, 3.35)}
aten = torch.ops.aten
PRODUCTS = {aten.convolution, aten.convolution_backward, aten.mm, aten.bmm, aten.addmm, aten.baddbmm}
NORMS = {aten.native_group_norm, aten.native_group_norm_backward, aten.native_layer_norm, aten.native_layer_norm_backward}
CASTS = {aten._to_copy, aten.copy_, aten.clone, aten.cat}
# Operations that move no data: allocations, and views that do not declare their aliasing.
NO_TRAFFIC = {aten.empty, aten.empty_like, aten.empty_strided, aten.new_empty, aten.new_empty_strided, aten._unsafe_view}
GROUPS = ("products", "attention", "norms", "casts", "elementwise")  # attention: FusedAttention charges it
# Fused AdamW reads a parameter, its gradient and both moments and writes three of them back;
# the EMA reads its copy and the parameter and writes its copy: bytes per trainable fp32 value.
OPTIMIZER_BYTES = 4 * (4 + 3) + 4 * (2 + 1)


def group_of(packet) -> str:
    if packet in PRODUCTS:
        return "products"
    if packet in NORMS:
        return "norms"
    return "casts" if packet in CASTS else "elementwise"


class OperationCosts(TorchDispatchMode):
    """Per group: FLOPs, bytes read and written, and the roofline time of each operation summed."""

    def __init__(self, peak_flops: float, bandwidth: float) -> None:
        super().__init__()
        self.peak_flops, self.bandwidth = peak_flops, bandwidth
        self.flops: dict[str, float] = defaultdict(float)
        self.bytes: dict[str, float] = defaultdict(float)
        self.seconds: dict[str, float] = defaultdict(float)
        self.operations = 0  # each one a kernel launch in an eager step
        self.counting = True

    def charge(self, group: str, flops: float, moved: float) -> None:
        self.operations += 1
        self.flops[group] += flops
        self.bytes[group] += moved
        self.seconds[group] += max(flops / self.peak_flops, moved / self.bandwidth)

    @contextmanager
    def paused(self):
        self.counting = False
        try:
            yield
        finally:
            self.counting = True

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if not self.counting or func.is_view or packet in NO_TRAFFIC or func.namespace != "aten":
            return out
        # An in-place operation returns its input: each distinct tensor is read or written once.
        tensors = {id(t): t for t in tree_leaves((args, kwargs, out)) if isinstance(t, torch.Tensor)}
        flops = flop_registry[packet](*args, **kwargs, out_val=out) if packet in flop_registry else 0
        self.charge(group_of(packet), flops, sum(_nbytes(t) for t in tensors.values()))
        return out


def _nbytes(tensor: torch.Tensor | None) -> int:
    return 0 if tensor is None else tensor.numel() * tensor.element_size()


class FusedAttention(torch.autograd.Function):
    """Attention charged as one fused kernel forward and one backward (flash / memory-efficient
    attention on a GPU): they read q, k, v (and the mask), write the output and a logsumexp per
    query, and never the score matrix. FLOPs as torch.utils.flop_counter counts the GPU kernels:
    4 B H Lq Lk D forward, and 2.5 times that backward, which computes the scores again. The
    values come from the math path, uncharged."""

    @staticmethod
    def forward(ctx, q, k, v, mask, costs):
        with costs.paused():
            out = SDPA(q, k, v, attn_mask=mask)
        ctx.save_for_backward(q, k, v)
        ctx.mask, ctx.costs = mask, costs
        batch_heads, (lq, d), lk = q.numel() // (q.shape[-2] * q.shape[-1]), q.shape[-2:], k.shape[-2]
        ctx.flops, ctx.stats = 4 * batch_heads * lq * lk * d, 4 * batch_heads * lq  # float32 logsumexp
        costs.charge("attention", ctx.flops, sum(map(_nbytes, (q, k, v, mask, out))) + ctx.stats)
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v = ctx.saved_tensors
        with ctx.costs.paused(), torch.enable_grad():
            inputs = [t.detach().requires_grad_() for t in (q, k, v)]
            out = SDPA(*inputs, attn_mask=ctx.mask)
            dq, dk, dv = torch.autograd.grad(out, inputs, grad)
        # reads q, k, v, the output, its gradient, the mask and logsumexp; writes dq, dk, dv
        moved = 2 * sum(map(_nbytes, (q, k, v))) + 2 * _nbytes(grad) + _nbytes(ctx.mask) + ctx.stats
        ctx.costs.charge("attention", 5 * ctx.flops // 2, moved)
        return dq, dk, dv, None, None


class AttentionAsFused(TorchFunctionMode):
    """Routes F.scaled_dot_product_attention through FusedAttention, including the call inside
    nn.MultiheadAttention (open_clip's towers): a mode is switched off while it handles a call,
    so that inner call is caught by standing in for the name F.multi_head_attention_forward uses."""

    def __init__(self, costs: OperationCosts) -> None:
        super().__init__()
        self.costs = costs

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is SDPA and self.costs.counting:
            return self.fused(*args, **kwargs)
        if func is F.multi_head_attention_forward and self.costs.counting:
            F.scaled_dot_product_attention = self.fused
            try:
                return func(*args, **kwargs)
            finally:
                F.scaled_dot_product_attention = SDPA
        return func(*args, **kwargs)

    def fused(self, q, k, v, attn_mask=None, *options, **named):
        if any(value not in (None, False, 0.0) for value in (*options, *named.values())):
            raise ValueError(f"attention with {sorted(named) or 'positional options'} is not modelled here")
        return FusedAttention.apply(q, k, v, attn_mask, self.costs)


def step_costs(stage, batch: int, peak_flops: float, bandwidth: float) -> tuple[OperationCosts, int]:
    """One training step of `stage` at `batch` items on fake tensors; and its trainable values."""
    module = stage.build()
    if stage.step_skips_frozen_encoder:
        module.encoder = None  # its outputs come in the batch, as on the device-held path
    costs = OperationCosts(peak_flops, bandwidth)
    with FakeTensorMode(allow_non_fake_inputs=True):
        module = module.to_empty(device="cpu").train()
        trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
        step_batch = stage.batch(module, batch, torch.device("cpu"))
        with DatalessDeviceHost(), costs, AttentionAsFused(costs):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = module.step_loss(step_batch)
            loss.backward()
    return costs, trainable


def roofline_row(name: str, scale: int, batch: int, costs: OperationCosts, trainable: int,
                 peak_flops: float, bandwidth: float) -> dict:
    optimizer_seconds = trainable * OPTIMIZER_BYTES / bandwidth
    flops = sum(costs.flops.values())
    moved = sum(costs.bytes.values()) + trainable * OPTIMIZER_BYTES
    eager = sum(costs.seconds.values()) + optimizer_seconds
    fused = costs.seconds["products"] + costs.seconds["attention"] + optimizer_seconds
    row = {
        "stage": name, "scale": scale, "batch": batch,
        "gflop_per_image": round(flops / batch / 1e9, 3),
        "gb_per_image": round(moved / batch / 1e9, 4),
        "flop_per_byte": round(flops / moved, 1),
        "operations": costs.operations,
        "eager_images_per_s": round(batch / eager), "eager_mfu_percent": round(100 * flops / eager / peak_flops, 1),
        "fused_images_per_s": round(batch / fused), "fused_mfu_percent": round(100 * flops / fused / peak_flops, 1),
    }
    for group in GROUPS:
        row[f"{group}_bytes_percent"] = round(100 * costs.bytes[group] / moved, 1)
    row["optimizer_bytes_percent"] = round(100 * trainable * OPTIMIZER_BYTES / moved, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/emoji.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--stages", nargs="+", default=None, help="stage names (default: every stage)")
    parser.add_argument("--scale", nargs="+", type=int, default=[1], help="UNet width multipliers (decoder, upsamplers)")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--gpu", choices=sorted(GPUS), default="H200", help="whose spec-sheet peak and bandwidth")
    parser.add_argument("--measured", type=Path, default=None,
                        help="a train_throughput.py results file: its graph, overrides and batch, and its rows to compare")
    parser.add_argument("--out", type=Path, default=RESULTS / "step_roofline.json")
    args = parser.parse_args()

    measured = json.loads(args.measured.read_text()) if args.measured else None
    if measured:
        args.config = measured["settings"]["config"]
        args.overrides = measured["settings"]["overrides"] + args.overrides
        args.batch = measured["results"][0]["batch"]
        args.gpu = next(gpu for gpu in GPUS if gpu in measured["settings"]["device"])
    tflops, tbs = GPUS[args.gpu]
    peak_flops, bandwidth = tflops * 1e12, tbs * 1e12
    rows = []
    for scale in args.scale:
        graph = widened_graph(args.config, args.overrides, scale)
        for stage in graph_stages(graph, get_registry()):
            unet = stage.name == "decoder" or stage.name.startswith("upsampler")
            if (args.stages and stage.name not in args.stages) or (scale != 1 and not unet):
                continue
            try:
                costs, trainable = step_costs(stage, args.batch, peak_flops, bandwidth)
            except RuntimeError as exc:  # a host-side op that needs values (a plugin's CPU codec) cannot run on fake tensors
                print(f"{stage.name}: left out, its step cannot run on fake tensors ({str(exc).splitlines()[0][:160]})")
                continue
            row = roofline_row(stage.name, scale, args.batch, costs, trainable, peak_flops, bandwidth)
            if measured:
                add_measured(row, measured["results"])
            rows.append(row)
            print_table([row])
    if not rows:
        raise SystemExit("no stage could be measured")
    print()
    print_table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"config": args.config, "overrides": args.overrides, "gpu": args.gpu, "peak_tflops": tflops,
                "bandwidth_tb_s": tbs, "measured": str(args.measured) if args.measured else None}
    args.out.write_text(to_json({"settings": settings, "results": rows}) + "\n")
    print(f"wrote {args.out}")


def add_measured(row: dict, measured_rows: list[dict]) -> None:
    """The measured device-path images/s of this stage and scale (uncompiled and compiled), as a
    share of the eager and fused ceilings."""
    stage = row["stage"].split("_")[0]  # train_throughput names the upsampler stage `upsampler`
    for compiled in (False, True):
        found = [r for r in measured_rows if r["stage"] == stage and r["scale"] == row["scale"] and r["path"] == "device"
                 and bool(r["compile"]) == compiled and r.get("strategy", "auto") == "auto"]
        if found:
            label = "compiled" if compiled else "measured"
            images = found[0]["images_per_s"]
            row[f"{label}_images_per_s"] = round(images)
            row[f"{label}_percent_of_eager_ceiling"] = round(100 * images / row["eager_images_per_s"], 1)
            row[f"{label}_percent_of_fused_ceiling"] = round(100 * images / row["fused_images_per_s"], 1)


if __name__ == "__main__":
    main()
