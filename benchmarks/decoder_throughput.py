"""Train-step and sampling throughput of the UNet decoder and upsampler.

    python benchmarks/decoder_throughput.py --device cuda --sizes 32 64 --out benchmarks/results/decoder_throughput.json

Train step: forward + backward + AdamW step, images/s. Sampling: images/s for a full DDIM run of
--steps steps; the decoder samples with guidance, both passes batched in one forward.
On CUDA both run under bf16 autocast with channels_last weights.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

from unclip_core.interfaces import EncoderSpec, TextEncoding
from unclip_core.testing import build_component

SPEC = EncoderSpec(embed_dim=512, text_width=512, context_length=77, image_size=224)


def unet_layout(size: int, channels: int) -> dict:
    """ADM-like layout: one level per halving down to 8px (at most 4), attention at 16 and 8."""
    levels = max(1, min(4, int(math.log2(size // 4))))
    return {
        "channels": channels, "channel_mults": [1, 2, 3, 4][:levels], "num_res_blocks": 2,
        "attention_resolutions": [s for s in (16, 8) if s in {size >> i for i in range(levels)}], "dropout": 0.0,
    }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, iters: int, warmup: int) -> float:
    """Seconds per call, after warm-up calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / iters


def prepare(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    module = module.to(device)
    return module.to(memory_format=torch.channels_last) if device.type == "cuda" else module


def decoder_inputs(batch: int, device: torch.device) -> tuple[torch.Tensor, TextEncoding]:
    z_i = F.normalize(torch.randn(batch, SPEC.embed_dim, device=device), dim=-1)
    mask = torch.arange(SPEC.context_length, device=device)[None] < 12
    tokens = torch.randn(batch, SPEC.context_length, SPEC.text_width, device=device)
    return z_i, TextEncoding(z_i, tokens, mask.expand(batch, -1))


def bench_decoder(size: int, args, device: torch.device, autocast) -> dict:
    section = {"type": "unet_decoder", "image_size": size, **unet_layout(size, args.channels),
               "guidance_scale": 3.0, "sampler": {"type": "ddim", "steps": args.steps}}
    decoder = prepare(build_component("decoder", section, spec=SPEC), device)
    images = torch.rand(args.batch, 3, size, size, device=device) * 2 - 1
    z_i, text = decoder_inputs(args.batch, device)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=1e-4)

    def train_step():
        with autocast():
            loss = decoder.loss(images, z_i, text)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def sample():
        with autocast():
            decoder.sample(z_i, text)

    decoder.train()
    train = timed(train_step, device, args.iters, args.warmup)
    decoder.eval()
    sampling = timed(sample, device, 1, 1)
    return row("decoder", f"{size}", decoder, args, train, sampling)


def bench_upsampler(size: int, args, device: torch.device, autocast) -> dict:
    to_size = size * args.upsample_factor
    layout = unet_layout(to_size, args.channels) | {"attention_resolutions": []}
    section = {"type": "unet_upsampler", "from_size": size, "to_size": to_size, **layout,
               "degradation": "gaussian_blur", "sampler": {"type": "ddim", "steps": args.steps}}
    upsampler = prepare(build_component("upsampler", section), device)
    images = torch.rand(args.batch, 3, to_size, to_size, device=device) * 2 - 1
    low = upsampler.downsample(images)
    optimizer = torch.optim.AdamW(upsampler.parameters(), lr=1e-4)

    def train_step():
        with autocast():
            loss = upsampler.loss(images)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def sample():
        with autocast():
            upsampler.sample(low)

    upsampler.train()
    train = timed(train_step, device, args.iters, args.warmup)
    upsampler.eval()
    sampling = timed(sample, device, 1, 1)
    return row("upsampler", f"{size}->{to_size}", upsampler, args, train, sampling)


def row(model: str, size: str, module: torch.nn.Module, args, train: float, sampling: float) -> dict:
    return {
        "model": model, "size": size, "params_m": round(sum(p.numel() for p in module.parameters()) / 1e6, 2),
        "batch": args.batch, "train_images_per_s": round(args.batch / train, 2),
        "sample_steps": args.steps, "sample_images_per_s": round(args.batch / sampling, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32], help="decoder sizes; upsamplers start here")
    parser.add_argument("--upsample-factor", type=int, default=2)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="sampling steps")
    parser.add_argument("--iters", type=int, default=3, help="timed train steps")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda" else nullcontext
    torch.manual_seed(0)
    rows = []
    for size in args.sizes:
        rows.append(bench_decoder(size, args, device, autocast))
        rows.append(bench_upsampler(size, args, device, autocast))
    print_table(rows)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
        meta = {"device": name, "torch": torch.__version__, "threads": torch.get_num_threads(),
                "precision": "bf16 autocast" if device.type == "cuda" else "fp32", "channels": args.channels}
        args.out.write_text(json.dumps({"settings": meta, "results": rows}, indent=2) + "\n")
        print(f"wrote {args.out}")


def print_table(rows: list[dict]) -> None:
    header = ["model", "size", "params_m", "batch", "train_images_per_s", "sample_steps", "sample_images_per_s"]
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(r[h]).ljust(w) for h, w in zip(header, widths)))


if __name__ == "__main__":
    main()
